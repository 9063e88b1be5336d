"""A process with several engines on one database (the service) keeps
SQLite's locks while another engine opens it: otherwise another process may
take the database as unused (and, closing it, checkpoint and delete the WAL
under the service)."""

from __future__ import annotations

import os
import subprocess
import sys

from pypod.engine.store import Store

#: SQLite's unix VFS: the SHARED lock is a read lock on these bytes
SHARED_FIRST, SHARED_SIZE = 0x40000000 + 2, 510


def _exclusive_lock_possible(db: str) -> bool:
    """Whether another process could lock the database for itself alone now."""
    probe = (f"import fcntl, os; fd = os.open({db!r}, os.O_RDWR)\n"
             f"try:\n    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, {SHARED_SIZE}, {SHARED_FIRST})\n"
             "except OSError:\n    raise SystemExit(1)\n")
    return subprocess.run([sys.executable, "-c", probe]).returncode == 0


def test_a_second_store_keeps_the_first_ones_locks(tmp_path):
    db = str(tmp_path / "pypod.db")
    first = Store(db)
    first.container_ids()
    assert not _exclusive_lock_possible(db)
    Store(db)  # a second engine in the same process opens the same database
    assert not _exclusive_lock_possible(db)
    assert os.path.exists(db + "-wal") and first.container_ids() == []
