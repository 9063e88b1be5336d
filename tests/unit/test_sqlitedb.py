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


LEAN_IMPORT = """
import os, sys
sys.path.insert(0, sys.argv[1])
from pypod import sqlitedb
lean = not {"functools", "collections", "types"} & set(sys.modules)
db = sqlitedb.connect(os.path.join(sys.argv[2], "lean.db"), "CREATE TABLE marker (y INTEGER);", "marker")
db.execute("CREATE TABLE t (x INTEGER)")
# more distinct statements than the cache holds, each run again: the cache evicts and refills
for i in range(300):
    db.execute(f"INSERT INTO t VALUES ({i % 150})")
    db.execute("INSERT INTO t VALUES (?)", (i,))
total = db.execute("SELECT count(*), sum(x) FROM t").fetchone()
import functools  # the real one, whole, for whoever imports it afterwards
print(lean, total, functools.reduce(lambda a, b: a + b, [1, 2, 3]), hasattr(functools, "partial"))
"""


def test_sqlite_starts_without_functools_and_its_statement_cache_works(tmp_path):
    """The lean CLI's _sqlite3 gets lru_cache without functools' imports
    (sqlitedb._import_sqlite3), and functools is whole when asked for."""
    import pypod

    here = os.path.dirname(os.path.dirname(os.path.abspath(pypod.__file__)))
    out = subprocess.run([sys.executable, "-S", "-c", LEAN_IMPORT, here, str(tmp_path)],
                         check=True, capture_output=True, text=True).stdout.split(None, 1)
    expected_sum = sum(i % 150 for i in range(300)) + sum(range(300))
    assert out == ["True", f"(600, {expected_sum}) 6 True\n"]
