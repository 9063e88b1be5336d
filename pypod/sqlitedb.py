"""Opening a SQLite database that many pypod processes share."""

from __future__ import annotations

import sys


def _import_sqlite3():
    """The C module itself: the sqlite3 package adds only the DB-API's date
    and time adapters, and imports datetime for them (~1.5 ms of every
    command); pypod stores no date objects.

    On Python 3.11 the module's start imports functools for one function,
    lru_cache, which each connection wraps around itself as its statement
    cache; functools in turn imports collections, types and operator: ~3
    ms of a `pypod ps` that needs none of them.  lru_cache is a thin shell
    over _functools._lru_cache_wrapper (built in, free to import), so while
    _sqlite3 starts, a stand-in functools hands it that same C cache; the
    real functools is imported as usual by whoever asks for it afterwards.
    With functools already there (any process but a lean CLI call), or a
    second thread that might import it meanwhile, the import is plain."""
    import _thread

    if "functools" in sys.modules or "_sqlite3" in sys.modules or _thread._count():
        import _sqlite3

        return _sqlite3
    import _functools

    def lru_cache(maxsize=128, typed=False):
        if callable(maxsize):  # used bare, as a decorator
            return _functools._lru_cache_wrapper(maxsize, 128, typed, tuple)
        return lambda func: _functools._lru_cache_wrapper(func, maxsize, typed, tuple)

    stand_in = type(sys)("functools")
    stand_in.lru_cache = lru_cache
    sys.modules["functools"] = stand_in
    try:
        import _sqlite3
    finally:
        if sys.modules.get("functools") is stand_in:
            del sys.modules["functools"]
    return _sqlite3


sqlite3 = _import_sqlite3()

Connection = sqlite3.Connection
Error = sqlite3.Error
IntegrityError = sqlite3.IntegrityError
OperationalError = sqlite3.OperationalError


#: statements that take SQLite's write lock when run outside a transaction
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "BEGIN IMMEDIATE", "BEGIN EXCLUSIVE")


class QueuedConnection(sqlite3.Connection):
    """Writers from many processes take turns on an flock before they ask
    for SQLite's write lock.

    A writer that finds SQLite's lock taken is left to the busy handler,
    which sleeps 1, 2, 5, 10, 15, 20, 25... ms between tries, however soon
    the holder is done: 20 concurrent `run --rm` (seven small write
    transactions each) slept ~55 ms apiece that way.  Waiting on an flock,
    the kernel wakes the next writer the moment the last lets go.

    The queue is only the order of asking: SQLite's own locking still
    decides, and a writer outside the queue is merely slower.  It is held
    for one statement (a BEGIN IMMEDIATE's too, not its transaction), and
    nothing inside a transaction queues, so a process never waits on the
    queue while it holds SQLite's lock: no wait can go in a circle."""

    queue_fd = -1

    def execute(self, sql: str, parameters=()):
        if self.queue_fd < 0 or self.in_transaction or not sql.startswith(_WRITES):
            return super().execute(sql, parameters)
        self._queue(True)
        try:
            return super().execute(sql, parameters)
        finally:
            self._queue(False)

    def _queue(self, take: bool) -> None:
        if self.queue_fd >= 0:
            import fcntl

            fcntl.flock(self.queue_fd, fcntl.LOCK_EX if take else fcntl.LOCK_UN)

    def transaction(self) -> "SQLTransaction":
        """`with db.transaction():` BEGIN IMMEDIATE ... COMMIT, or ROLLBACK
        on an exception, with the queue held throughout: for bodies of SQL
        and computation alone, that wait on nothing else."""
        return SQLTransaction(self)


class SQLTransaction:
    def __init__(self, db: QueuedConnection):
        self.db = db

    def __enter__(self) -> None:
        self.db._queue(True)
        try:
            sqlite3.Connection.execute(self.db, "BEGIN IMMEDIATE")
        except BaseException:
            self.db._queue(False)
            raise

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            sqlite3.Connection.execute(self.db, "COMMIT" if exc_type is None else "ROLLBACK")
        finally:
            self.db._queue(False)

    def close(self) -> None:
        super().close()
        if self.queue_fd >= 0:
            import os

            os.close(self.queue_fd)
            self.queue_fd = -1


def connect(path: str, schema: str, marker_table: str) -> sqlite3.Connection:
    """A connection in autocommit mode with a long busy timeout (writers
    queue instead of failing), WAL (readers never wait for a writer), and
    the schema in place.  marker_table is the table created last by schema:
    another process may have just created the file but not yet its tables."""
    import os

    db = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False, factory=QueuedConnection)
    try:
        db.queue_fd = os.open(f"{path}-queue", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        pass  # a read-only root: nothing to write, nothing to queue for
    # The first statement maps the WAL index; when no process had the
    # database open, SQLite rebuilds it from the WAL first (recovery), and
    # every other opener meanwhile sleeps in the busy handler (1, 2, 5,
    # 10... ms): a burst of commands starting together queues here instead.
    # Schema creation goes through the same turn.  (Nothing in here queues
    # again: execute() would let go of the turn at its end.)
    db._queue(True)
    try:
        db.execute("PRAGMA busy_timeout = 60000")
        db.execute("PRAGMA synchronous = NORMAL")
        # The WAL outlives each command (close() below; a CLI call never closes):
        # keep it small enough that the next opener's replay of it stays well
        # under a millisecond.
        db.execute("PRAGMA wal_autocheckpoint = 256")
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (marker_table,)).fetchone():
            try:
                db.execute("PRAGMA journal_mode = WAL")
            except sqlite3.OperationalError:
                pass  # a concurrent creator holds it; WAL is persistent and theirs will stand
            db.executescript(schema)
    finally:
        db._queue(False)
    return db


def ensure_tables(db: sqlite3.Connection, schema: str, marker_table: str) -> None:
    """Add a module's own tables to a database opened by connect(): each kind
    of object keeps its tables beside its code, created on first use."""
    if not db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (marker_table,)).fetchone():
        db.executescript(schema)


def close(db: sqlite3.Connection, path: str) -> None:
    """Close, leaving the WAL for the next opener (keep_wal_on_close).  The
    CLI does not even close: its process ends with the connection open."""
    keep_wal_on_close(db, path)
    db.close()


#: sqlite3.h: SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE (SQLite >= 3.16)
_NO_CKPT_ON_CLOSE = 1006


def keep_wal_on_close(db: sqlite3.Connection, path: str) -> bool:
    """Let closing the last connection leave the WAL as it is.

    By default the last connection to close checkpoints the WAL into the
    database and deletes it: two fsyncs (10-30 ms on this machine), paid by
    nearly every CLI command, since each is the only connection while it
    runs.  Committed transactions are as safe in the WAL as in the database
    (the next opener replays it, and synchronous=NORMAL already decides when
    WAL frames reach the disk); the checkpoint still happens, amortised, when
    a commit grows the WAL past wal_autocheckpoint pages.

    Python 3.12 exposes the switch as Connection.setconfig; on 3.11 it is set
    through ctypes on the connection's sqlite3 handle, checked by asking
    SQLite for the handle's file name first.  Returns whether it is set."""
    try:
        if hasattr(db, "setconfig") and hasattr(sqlite3, "SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE"):
            db.setconfig(sqlite3.SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, True)
            return True
        if sys.implementation.name != "cpython" or sys.version_info[:2] != (3, 11):
            return False  # the handle's place in the object is known for CPython 3.11 only
        return _set_via_ctypes(db, path)
    except (OSError, AttributeError, ValueError, sqlite3.Error):
        return False  # only speed is lost


def _set_via_ctypes(db: sqlite3.Connection, path: str) -> bool:
    import ctypes
    import os

    import _sqlite3

    lib = _LIB or _load(ctypes, _sqlite3.__file__)
    # pysqlite_Connection starts with PyObject_HEAD, then `sqlite3 *db`
    handle = ctypes.c_void_p.from_address(id(db) + object.__basicsize__).value
    if not handle:
        return False
    name = lib.sqlite3_db_filename(ctypes.c_void_p(handle), b"main")
    if not name or os.path.realpath(os.fsdecode(name)) != os.path.realpath(path):
        return False
    now = ctypes.c_int(-1)
    rc = lib.sqlite3_db_config(ctypes.c_void_p(handle), ctypes.c_int(_NO_CKPT_ON_CLOSE), ctypes.c_int(1),
                               ctypes.byref(now))
    return rc == 0 and now.value == 1


_LIB = None


def _load(ctypes, file: str):
    global _LIB
    lib = ctypes.CDLL(file)  # already loaded: its libsqlite3 symbols resolve through it
    lib.sqlite3_db_filename.restype = ctypes.c_char_p
    lib.sqlite3_db_filename.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    _LIB = lib
    return lib
