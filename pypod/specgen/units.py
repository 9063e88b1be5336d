"""Sizes as users write them (`10m`, `1g`, `512`)."""

from __future__ import annotations

from ..errors import InvalidArgument

_UNITS = {"b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3, "gb": 1024**3}


def parse_size(text: str) -> int:
    """Binary units, as podman's RAMInBytes reads them; a bare number is bytes."""
    t = text.strip().lower()
    for suffix in sorted(_UNITS, key=len, reverse=True):
        if t.endswith(suffix) and t[: -len(suffix)].strip().isdigit():
            return int(t[: -len(suffix)]) * _UNITS[suffix]
    if t.lstrip("-").isdigit():
        return int(t)
    raise InvalidArgument(f"invalid size: {text!r}")
