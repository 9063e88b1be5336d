"""Records (pypod/record.py) stored as JSON documents and read back.

A container's configuration nests typed parts (security, resources, health,
restart); `Record.from_dict` rebuilds them from `asdict()`'s form, leaves out
keys it does not know (a store written by a newer pypod) and keeps defaults
for keys it lacks (one written by an older pypod).
"""

from __future__ import annotations

from ..record import fields


class Record:
    """Mixin for a dataclass that is stored: `NESTED` names the fields that
    hold another Record (or a list of them) and which class that is."""

    NESTED: dict = {}  # (no ClassVar: importing typing costs every command ~3 ms)

    @classmethod
    def from_dict(cls, d: dict | None):
        if d is None:
            return cls()
        if isinstance(d, cls):
            return d
        known = {f.name for f in fields(cls)}
        kw = {}
        for k, v in d.items():
            if k not in known:
                continue
            sub = cls.NESTED.get(k)
            if sub is not None and v is not None:
                v = [sub.from_dict(x) for x in v] if isinstance(v, list) else sub.from_dict(v)
            kw[k] = v
        return cls(**kw)
