"""Namespace settings as users write them (--uidmap, --gidmap, --sysctl),
shared by the CLI and the REST service."""

from __future__ import annotations

from ..engine.namespace_config import IDMap
from ..errors import InvalidArgument


def parse_id_map(text: str, flag: str) -> list[IDMap]:
    """--uidmap/--gidmap CONTAINER_ID:HOST_ID:SIZE (several may be joined with commas)."""
    out = []
    for item in text.split(","):
        parts = item.split(":")
        if len(parts) != 3 or not all(p.isdigit() for p in parts):
            raise InvalidArgument(f"invalid {flag} {item!r}: must be CONTAINER_ID:HOST_ID:SIZE")
        c, h, n = (int(p) for p in parts)
        if n == 0:
            raise InvalidArgument(f"invalid {flag} {item!r}: the size must be at least 1")
        out.append(IDMap(container_id=c, host_id=h, size=n))
    return out


def parse_sysctls(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidArgument(f"sysctl {item!r} is not in the format key=value")
        out[key.strip()] = value
    return out
