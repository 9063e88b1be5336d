"""The layer cache: a build step's inputs -> the image that step made.

A key is a hash of the parent image's ID, the instruction as it runs
(arguments expanded) and what else it reads (the content of COPY's sources,
the build args a RUN sees, heredoc bodies).  An entry whose image was
removed since is a miss, and is dropped.  Its own table in the image
store's database, so that a reset of the store takes it along.
"""

from __future__ import annotations

import hashlib

from ..sqlitedb import ensure_tables

_SCHEMA = """
CREATE TABLE IF NOT EXISTS build_cache (
    key TEXT PRIMARY KEY,
    image_id TEXT NOT NULL
);
"""


def step_key(parent: str, *parts: str) -> str:
    h = hashlib.sha256(parent.encode())
    for p in parts:
        h.update(b"\0" + p.encode("utf-8", "surrogateescape"))
    return h.hexdigest()


class LayerCache:
    def __init__(self, images):
        self.images = images
        self.db = images._db
        ensure_tables(self.db, _SCHEMA, "build_cache")

    def lookup(self, key: str):
        """The cached image for key, or None."""
        row = self.db.execute("SELECT image_id FROM build_cache WHERE key = ?", (key,)).fetchone()
        if not row:
            return None
        img = self.images.get(row[0])
        if img is None or self.images.damage(img, verify=False):
            self.db.execute("DELETE FROM build_cache WHERE key = ?", (key,))
            return None
        return img

    def record(self, key: str, image_id: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO build_cache (key, image_id) VALUES (?, ?)", (key, image_id))

    def prune(self) -> list[str]:
        """Forget every entry (`/build/prune`); returns the images they named."""
        with self.images._tx_lock:
            ids = [r[0] for r in self.db.execute("SELECT DISTINCT image_id FROM build_cache")]
            self.db.execute("DELETE FROM build_cache")
        return ids
