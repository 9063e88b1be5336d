"""A process with several engines on one database (the service) keeps
SQLite's locks while another opens it: no other process may then delete
the WAL under it."""

from __future__ import annotations

import os
import subprocess
import sys

from pypod.engine.store import Store


def test_a_second_store_keeps_the_first_ones_locks(tmp_path):
    db = str(tmp_path / "pypod.db")
    first = Store(db)
    first.container_ids()
    assert os.path.exists(db + "-wal")
    Store(db)  # a second engine in the same process
    # another process opens and closes the database: SQLite removes the WAL on
    # close only when it finds nobody else holding the database
    subprocess.run([sys.executable, "-c", f"import sqlite3; c = sqlite3.connect({db!r}); "
                    "c.execute('SELECT count(*) FROM containers').fetchall(); c.close()"], check=True)
    assert os.path.exists(db + "-wal")
    assert first.container_ids() == []
