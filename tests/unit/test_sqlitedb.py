"""The shared SQLite databases: closing leaves the WAL, and nothing is lost."""

from __future__ import annotations

import os
import subprocess
import sys

from pypod.sqlitedb import connect, keep_wal_on_close

SCHEMA = "CREATE TABLE t (x INTEGER); CREATE TABLE marker (y INTEGER);"


def test_close_leaves_the_wal_and_a_new_process_reads_every_commit(tmp_path):
    path = str(tmp_path / "x.db")
    db = connect(path, SCHEMA, "marker")
    if sys.version_info[:2] == (3, 11) or hasattr(db, "setconfig"):
        assert keep_wal_on_close(db, path)
    for i in range(50):
        db.execute("INSERT INTO t VALUES (?)", (i,))
    db.close()
    # no checkpoint on close: the commits are still in the WAL file
    assert os.path.getsize(path + "-wal") > 0
    # another process (the next CLI command) replays it
    out = subprocess.run([sys.executable, "-c", "import sqlite3,sys; "
                          "print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*), sum(x) FROM t').fetchone())",
                          path], check=True, capture_output=True, text=True).stdout
    assert out.strip() == f"(50, {sum(range(50))})"


def test_the_switch_refuses_a_connection_to_another_file(tmp_path):
    path = str(tmp_path / "a.db")
    db = connect(path, SCHEMA, "marker")
    if hasattr(db, "setconfig"):
        return  # Python 3.12's own switch needs no check of the handle
    assert not keep_wal_on_close(db, str(tmp_path / "b.db"))
    db.close()
