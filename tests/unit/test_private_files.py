"""A database file made private must never be opened and closed again by a
process that has it open in SQLite: closing any descriptor of a file drops
every POSIX lock the process holds on it, SQLite's included; another
process then takes itself for the last user, checkpoints and deletes the
WAL, and this process's next commits go to a deleted file (lost)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

from pypod import private


def test_making_an_open_database_private_again_keeps_its_locks(tmp_path):
    path = str(tmp_path / "x.db")
    private.create_file(path)
    first = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    first.execute("PRAGMA journal_mode=WAL")
    first.execute("CREATE TABLE t (x)")
    first.execute("INSERT INTO t VALUES (1)")
    private.create_file(path)  # a second engine of the same process (the REST service makes one per request)
    assert os.stat(path).st_mode & 0o777 == 0o600
    # another process (a CLI command) opens and closes the database
    subprocess.run([sys.executable, "-c", f"import sqlite3; c = sqlite3.connect({path!r}); "
                    "c.execute('SELECT count(*) FROM t').fetchall(); c.close()"], check=True)
    assert os.path.exists(path + "-wal")  # not taken for the last user's to delete
    first.execute("INSERT INTO t VALUES (2)")
    fresh = sqlite3.connect(path)
    assert fresh.execute("SELECT count(*) FROM t").fetchone()[0] == 2
    fresh.close()
    first.close()


def test_create_file_makes_a_private_file(tmp_path):
    path = str(tmp_path / "new.db")
    old = os.umask(0)
    try:
        private.create_file(path)
    finally:
        os.umask(old)
    assert os.path.isfile(path) and os.stat(path).st_mode & 0o777 == 0o600
    os.chmod(path, 0o644)
    private.create_file(path)  # there already: tightened, not recreated
    assert os.stat(path).st_mode & 0o777 == 0o600
