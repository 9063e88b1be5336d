"""Sizes and durations as users write them (`10m`, `1.5g`, `512`, `30s`)."""

from __future__ import annotations

from ..errors import InvalidArgument
from ..lean import LazyPattern

_SIZE = LazyPattern(r"^(\d+(?:\.\d+)*) ?([kmgtp])?(?:i?b)?$")
_POWERS = {None: 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5}


def parse_size(text: str) -> int:
    """Binary units, as podman's RAMInBytes reads them: a number, an
    optional k/m/g/t/p, an optional b or ib; a bare number is bytes."""
    t = text.strip().lower()
    if t.startswith("-") and t[1:].isdigit():
        return int(t)  # a negative count: the caller says what it means (-1: unlimited) or refuses it
    m = _SIZE.match(t)
    if not m:
        raise InvalidArgument(f"invalid size: '{text}'")
    return int(float(m.group(1)) * 1024 ** _POWERS[m.group(2)])


_DURATION_PART = LazyPattern(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Go's time.ParseDuration ("1m30s", "500ms", "0"), in seconds."""
    t = text.strip()
    if t in ("0", "+0", "-0"):
        return 0.0
    sign = -1.0 if t.startswith("-") else 1.0
    body = t.lstrip("+-")
    pos, total = 0, 0.0
    while pos < len(body):
        m = _DURATION_PART.match(body, pos)
        if not m:
            break
        total += float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
        pos = m.end()
    if not body or pos != len(body):
        raise InvalidArgument(f'time: invalid duration "{text}"')
    return sign * total


def format_duration(seconds: float) -> str:
    """Go's Duration.String() for whole and fractional seconds: 30s, 1m30s, 1h0m0s, 500ms."""
    if seconds == 0:
        return "0s"
    if seconds < 1:
        ms = seconds * 1000
        return f"{ms:g}ms" if ms >= 1 else f"{seconds * 1e6:g}µs"
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    s_text = f"{s:g}s"
    if h:
        return f"{int(h)}h{int(m)}m{s_text}"
    if m:
        return f"{int(m)}m{s_text}"
    return s_text
