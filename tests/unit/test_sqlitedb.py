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


def _held_queue(path):
    import fcntl

    fd = os.open(path + "-queue", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def test_writers_queue_on_the_flock_and_readers_do_not(tmp_path):
    import threading

    path = str(tmp_path / "x.db")
    db = connect(path, SCHEMA, "marker")
    other = connect(path, SCHEMA, "marker")
    fd = _held_queue(path)  # another process's writer holds its turn
    done = threading.Event()
    t = threading.Thread(target=lambda: (db.execute("INSERT INTO t VALUES (1)"), done.set()))
    t.start()
    assert not done.wait(0.3)  # the write waits its turn...
    assert other.execute("SELECT count(*) FROM t").fetchone() == (0,)  # ...a read does not
    os.close(fd)  # the turn is given back: the writer goes on at once
    assert done.wait(5)
    t.join()
    assert other.execute("SELECT count(*) FROM t").fetchone() == (1,)


def test_inside_a_transaction_nothing_queues(tmp_path):
    """A process holding SQLite's write lock never waits on the queue: the
    queue's holder may be waiting for that lock (no circle of waits)."""
    path = str(tmp_path / "x.db")
    db = connect(path, SCHEMA, "marker")
    import threading

    db.execute("BEGIN IMMEDIATE")
    fd = _held_queue(path)
    t = threading.Thread(target=lambda: (db.execute("INSERT INTO t VALUES (2)"), db.execute("COMMIT")))
    try:
        t.start()
        t.join(5)
        assert not t.is_alive()  # it did not wait for the queue's holder
    finally:
        os.close(fd)
        t.join()
    assert db.execute("SELECT x FROM t").fetchall() == [(2,)]


def test_concurrent_writer_processes_lose_nothing(tmp_path):
    path = str(tmp_path / "x.db")
    connect(path, SCHEMA, "marker").close()
    code = ("import sys; from pypod.sqlitedb import connect; db = connect(sys.argv[1], '', 'marker')\n"
            "for i in range(40):\n"
            "    db.execute('INSERT INTO t VALUES (?)', (i,))\n"
            "    db.execute('BEGIN IMMEDIATE'); db.execute('UPDATE t SET x = x WHERE x = ?', (i,)); db.execute('COMMIT')\n")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    procs = [subprocess.Popen([sys.executable, "-c", code, path], cwd=root) for _ in range(8)]
    assert [p.wait(timeout=60) for p in procs] == [0] * 8
    db = connect(path, SCHEMA, "marker")
    assert db.execute("SELECT count(*), sum(x) FROM t").fetchone() == (8 * 40, 8 * sum(range(40)))
    assert oct(os.stat(path + "-queue").st_mode & 0o777) == "0o600"


def test_a_transaction_holds_its_turn_to_the_end_and_rolls_back_on_error(tmp_path):
    import fcntl

    import pytest

    path = str(tmp_path / "x.db")
    db = connect(path, SCHEMA, "marker")
    probe = os.open(path + "-queue", os.O_RDWR)

    def queue_free() -> bool:
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(probe, fcntl.LOCK_UN)
        return True

    with db.transaction():
        db.execute("INSERT INTO t VALUES (1)")
        assert not queue_free() and db.in_transaction
    assert queue_free() and not db.in_transaction
    with pytest.raises(ValueError):
        with db.transaction():
            db.execute("INSERT INTO t VALUES (2)")
            raise ValueError("the body failed")
    assert queue_free() and not db.in_transaction
    assert db.execute("SELECT x FROM t").fetchall() == [(1,)]
    os.close(probe)


def test_opening_takes_a_turn_in_the_queue(tmp_path):
    """The first read after opening may rebuild the WAL index (when no other
    process has the database open): openers take turns instead of sleeping
    in SQLite's busy handler while one rebuilds it."""
    import threading

    path = str(tmp_path / "x.db")
    connect(path, SCHEMA, "marker").close()
    fd = _held_queue(path)
    opened = threading.Event()
    t = threading.Thread(target=lambda: (connect(path, SCHEMA, "marker"), opened.set()))
    t.start()
    assert not opened.wait(0.3)
    os.close(fd)
    assert opened.wait(5)
    t.join()
