"""Opening a SQLite database that many pypod processes share."""

from __future__ import annotations

import sqlite3


def connect(path: str, schema: str, marker_table: str) -> sqlite3.Connection:
    """A connection in autocommit mode with a long busy timeout (writers
    queue instead of failing), WAL (readers never wait for a writer), and
    the schema in place.  marker_table is the table created last by schema:
    another process may have just created the file but not yet its tables."""
    db = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA busy_timeout = 60000")
    db.execute("PRAGMA synchronous = NORMAL")
    if not db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (marker_table,)).fetchone():
        try:
            db.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError:
            pass  # a concurrent creator holds it; WAL is persistent and theirs will stand
        db.executescript(schema)
    return db


def ensure_tables(db: sqlite3.Connection, schema: str, marker_table: str) -> None:
    """Add a module's own tables to a database opened by connect(): each kind
    of object keeps its tables beside its code, created on first use."""
    if not db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (marker_table,)).fetchone():
        db.executescript(schema)
