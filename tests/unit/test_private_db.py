"""private.create_file beside open SQLite connections: making sure the
database file exists must not drop this process's POSIX locks on it, or
another process closing its connection takes itself for the last one and
deletes the WAL under ours (what the service's pooled engines met)."""

from __future__ import annotations

import os
import subprocess
import sys

from pypod import private
from pypod.sqlitedb import connect


def test_create_file_keeps_an_open_connections_wal(tmp_path):
    path = str(tmp_path / "x.db")
    private.create_file(path)
    assert os.stat(path).st_mode & 0o777 == 0o600
    db = connect(path, "CREATE TABLE t (v TEXT);", "t")
    db.execute("INSERT INTO t VALUES ('mine')")
    private.create_file(path)  # a second engine of this process opening the store
    other = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
             "c.execute(\"INSERT INTO t VALUES ('theirs')\"); c.close()")
    subprocess.run([sys.executable, "-c", other, path], check=True)
    assert os.path.exists(path + "-wal")
    assert sorted(r[0] for r in db.execute("SELECT v FROM t")) == ["mine", "theirs"]
    db.close()
