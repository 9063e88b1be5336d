"""The state store: container configs and states (and exec sessions) in SQLite.

Many pypod processes share one database: CLI calls, the service, and the
cleanup processes conmon starts.  WAL mode lets readers proceed while one
writes; the busy timeout makes writers queue instead of failing.  Rows hold
JSON documents because the dataclasses evolve faster than a schema would.
"""

from __future__ import annotations

import os

from ..errors import InvalidArgument, NameInUse, NoSuchContainer, NoSuchExecSession
from .. import sqlitedb
from ..sqlitedb import IntegrityError, connect

_SCHEMA = """
CREATE TABLE IF NOT EXISTS containers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    config TEXT NOT NULL,
    state TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS exec_sessions (
    id TEXT PRIMARY KEY,
    container_id TEXT NOT NULL,
    config TEXT NOT NULL,
    state TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS exec_by_container ON exec_sessions(container_id);
CREATE TABLE IF NOT EXISTS exit_codes (
    id TEXT PRIMARY KEY,
    exit_code INTEGER NOT NULL,
    removed REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS secrets (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    data BLOB NOT NULL,
    meta TEXT NOT NULL
);
"""


#: seconds a removed container's exit code is kept (podman keeps 5 minutes)
EXIT_CODE_KEEP = 300



def _dumps(obj) -> str:
    from ..lean import json_dumps  # json's C encoder without json's imports (re, enum)

    return json_dumps(obj)


def _loads(text: str):
    from ..lean import json_loads

    return json_loads(text)

class Store:
    def __init__(self, db_path: str):
        from .. import private

        private.open_root(os.path.dirname(db_path), "root directory")
        # Secrets and every container's environment are in here: 0600.
        private.create_file(db_path)
        self._path = db_path
        self._db = connect(db_path, _SCHEMA, "secrets")

    def close(self) -> None:
        sqlitedb.close(self._db, self._path)

    @property
    def db(self) -> sqlitedb.Connection:
        """The connection, for modules that keep their own tables in this database."""
        return self._db

    # containers

    def add_container(self, cid: str, name: str, config: dict, state: dict, created: float) -> None:
        try:
            self._db.execute(
                "INSERT INTO containers (id, name, config, state, created) VALUES (?, ?, ?, ?, ?)",
                (cid, name, _dumps(config), _dumps(state), created),
            )
        except IntegrityError:
            if self._db.execute("SELECT 1 FROM containers WHERE name = ?", (name,)).fetchone():
                raise NameInUse(
                    f'the container name "{name}" is already in use by '
                    f"{self.lookup_id(name)}. You have to remove that container to be able to reuse that name: that name is already in use"
                ) from None
            raise InvalidArgument(f"container ID {cid} is already in use") from None

    def lookup_id(self, name_or_id: str) -> str:
        """Resolve a name, full ID or unique ID prefix as podman does."""
        if not name_or_id:
            raise NoSuchContainer("no container with name or ID \"\" found: no such container")
        row = self._db.execute(
            "SELECT id FROM containers WHERE id = ? OR name = ?", (name_or_id, name_or_id)
        ).fetchone()
        if row:
            return row[0]
        if all(c in "0123456789abcdef" for c in name_or_id):
            rows = self._db.execute(
                "SELECT id FROM containers WHERE substr(id, 1, ?) = ? LIMIT 2", (len(name_or_id), name_or_id)
            ).fetchall()
            if len(rows) == 1:
                return rows[0][0]
            if len(rows) > 1:
                raise InvalidArgument(f"more than one result for container ID {name_or_id}: multiple IDs found")
        raise NoSuchContainer(f'no container with name or ID "{name_or_id}" found: no such container')

    def has_container(self, cid: str) -> bool:
        return self._db.execute("SELECT 1 FROM containers WHERE id = ?", (cid,)).fetchone() is not None

    def get_container(self, cid: str) -> tuple[dict, dict]:
        row = self._db.execute("SELECT config, state FROM containers WHERE id = ?", (cid,)).fetchone()
        if not row:
            raise NoSuchContainer(f'no container with ID "{cid}" found: no such container')
        return _loads(row[0]), _loads(row[1])

    def get_state(self, cid: str) -> dict:
        row = self._db.execute("SELECT state FROM containers WHERE id = ?", (cid,)).fetchone()
        if not row:
            raise NoSuchContainer(f'no container with ID "{cid}" found: no such container')
        return _loads(row[0])

    def save_state(self, cid: str, state: dict) -> None:
        cur = self._db.execute("UPDATE containers SET state = ? WHERE id = ?", (_dumps(state), cid))
        if cur.rowcount == 0:
            raise NoSuchContainer(f'no container with ID "{cid}" found: no such container')

    def update_config(self, cid: str, config: dict) -> None:
        """Replace a container's stored config (its name stays what the row says)."""
        cur = self._db.execute("UPDATE containers SET config = ? WHERE id = ?", (_dumps(config), cid))
        if cur.rowcount == 0:
            raise NoSuchContainer(f'no container with ID "{cid}" found: no such container')

    def rename_container(self, cid: str, name: str) -> None:
        """A new name, in the row and in the stored config, in one transaction."""
        with self._db.transaction():
            row = self._db.execute("SELECT config FROM containers WHERE id = ?", (cid,)).fetchone()
            if not row:
                raise NoSuchContainer(f'no container with ID "{cid}" found: no such container')
            if self._db.execute("SELECT 1 FROM containers WHERE name = ? AND id != ?", (name, cid)).fetchone():
                raise NameInUse(f"renaming container {cid}: name {name} already in use, cannot rename container {cid}: "
                                "container already exists")
            config = _loads(row[0])
            config["name"] = name
            self._db.execute("UPDATE containers SET name = ?, config = ? WHERE id = ?", (name, _dumps(config), cid))

    def remove_container(self, cid: str, exit_code: int | None = None) -> None:
        """Delete a container; its exit code stays a while for a `wait` that
        raced the removal (conmon's `cleanup --rm` beside a foreground run)."""
        import time

        now = time.time()
        with self._db.transaction():
            self._db.execute("DELETE FROM exec_sessions WHERE container_id = ?", (cid,))
            self._db.execute("DELETE FROM containers WHERE id = ?", (cid,))
            if exit_code is not None:
                self._db.execute("INSERT OR REPLACE INTO exit_codes (id, exit_code, removed) VALUES (?, ?, ?)", (cid, exit_code, now))
            self._db.execute("DELETE FROM exit_codes WHERE removed < ?", (now - EXIT_CODE_KEEP,))

    def removed_exit_code(self, cid: str) -> int | None:
        row = self._db.execute("SELECT exit_code FROM exit_codes WHERE id = ?", (cid,)).fetchone()
        return row[0] if row else None

    def all_containers(self) -> list[tuple[dict, dict]]:
        rows = self._db.execute("SELECT config, state FROM containers ORDER BY created").fetchall()
        return [(_loads(c), _loads(s)) for c, s in rows]

    def containers_mentioning(self, text: str) -> list[tuple[dict, dict]]:
        """all_containers(), only those whose config has text in it."""
        rows = self._db.execute("SELECT config, state FROM containers WHERE instr(config, ?) > 0 ORDER BY created",
                                (text,)).fetchall()
        return [(_loads(c), _loads(s)) for c, s in rows]

    def container_ids(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT id FROM containers ORDER BY created")]

    # exec sessions

    def has_exec_session(self, sid: str) -> bool:
        return self._db.execute("SELECT 1 FROM exec_sessions WHERE id = ?", (sid,)).fetchone() is not None

    def add_exec(self, sid: str, cid: str, config: dict, state: dict) -> None:
        self._db.execute(
            "INSERT INTO exec_sessions (id, container_id, config, state) VALUES (?, ?, ?, ?)",
            (sid, cid, _dumps(config), _dumps(state)),
        )

    def get_exec(self, sid: str) -> tuple[str, dict, dict]:
        row = self._db.execute("SELECT container_id, config, state FROM exec_sessions WHERE id = ?", (sid,)).fetchone()
        if not row:
            raise NoSuchExecSession(f"no exec session with ID {sid} found: no such exec session")
        return row[0], _loads(row[1]), _loads(row[2])

    def lookup_exec_id(self, sid_or_prefix: str) -> str:
        rows = self._db.execute(
            "SELECT id FROM exec_sessions WHERE id = ? OR substr(id, 1, ?) = ? LIMIT 2",
            (sid_or_prefix, len(sid_or_prefix), sid_or_prefix),
        ).fetchall()
        if len(rows) == 1 and sid_or_prefix:
            return rows[0][0]
        raise NoSuchExecSession(f"no exec session with ID {sid_or_prefix} found: no such exec session")

    def save_exec_state(self, sid: str, state: dict) -> None:
        self._db.execute("UPDATE exec_sessions SET state = ? WHERE id = ?", (_dumps(state), sid))

    def remove_exec(self, sid: str) -> None:
        self._db.execute("DELETE FROM exec_sessions WHERE id = ?", (sid,))

    def container_execs(self, cid: str, unsettled: bool = False) -> list[tuple[str, dict, dict]]:
        """The container's exec sessions.  unsettled: only those a reap may
        still have to change (not stopped, or one-shot ones to remove): the
        API's finished sessions stay until the container stops, and decoding
        each of them on every exec made an exec's cost grow with their number."""
        query = "SELECT id, config, state FROM exec_sessions WHERE container_id = ?"
        if unsettled:
            query += (" AND (json_extract(state, '$.status') != 'stopped'"
                      " OR json_extract(config, '$.auto_remove'))")
        rows = self._db.execute(query, (cid,)).fetchall()
        return [(i, _loads(c), _loads(s)) for i, c, s in rows]

    def container_exec_ids(self, cid: str) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT id FROM exec_sessions WHERE container_id = ?", (cid,))]

    # secrets

    def add_secret(self, sid: str, name: str, data: bytes, meta: dict) -> None:
        try:
            self._db.execute(
                "INSERT INTO secrets (id, name, data, meta) VALUES (?, ?, ?, ?)", (sid, name, data, _dumps(meta))
            )
        except IntegrityError:
            raise NameInUse(f"{name}: secret name in use") from None

    def lookup_secret(self, name_or_id: str) -> tuple[str, str, bytes, dict]:
        from ..errors import NoSuchSecret

        row = self._db.execute(
            "SELECT id, name, data, meta FROM secrets WHERE id = ? OR name = ? OR (length(?) >= 3 AND substr(id, 1, length(?)) = ?)",
            (name_or_id, name_or_id, name_or_id, name_or_id, name_or_id),
        ).fetchone()
        if not row:
            raise NoSuchSecret(f"{name_or_id}: no such secret")
        return row[0], row[1], row[2], _loads(row[3])

    def all_secrets(self) -> list[tuple[str, str, dict]]:
        return [(i, n, _loads(m)) for i, n, m in self._db.execute("SELECT id, name, meta FROM secrets ORDER BY name")]

    def remove_secret(self, sid: str) -> None:
        self._db.execute("DELETE FROM secrets WHERE id = ?", (sid,))
