"""Durations, ages, sizes and times as podman prints and reads them (go-units'
HumanDuration and HumanSize, RFC 3339)."""

from __future__ import annotations


def human_duration(seconds: float) -> str:
    """go-units HumanDuration: "Less than a second", "3 hours", "2 weeks"."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    m = s // 60
    if m == 1:
        return "About a minute"
    if m < 60:
        return f"{m} minutes"
    h = round(s / 3600)
    if h == 1:
        return "About an hour"
    if h < 48:
        return f"{h} hours"
    if h < 24 * 7 * 2:
        return f"{h // 24} days"
    if h < 24 * 30 * 2:
        return f"{h // 24 // 7} weeks"
    if h < 24 * 365 * 2:
        return f"{h // 24 // 30} months"
    return f"{h // 24 // 365} years"


def human_ago(seconds: float) -> str:
    return f"{human_duration(seconds)} ago"


def human_size(n: float) -> str:
    """go-units HumanSize (decimal units), as podman prints sizes."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000:
            return f"{n:.3g} {unit}" if unit != "B" else f"{n} B"
        n /= 1000
    return f"{n:.3g} PB"


def rfc3339(ts: float) -> str:
    """A unix time as RFC 3339 text in UTC; 0 is Go's zero time."""
    import datetime

    if not ts:
        return "0001-01-01T00:00:00Z"
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).isoformat().replace("+00:00", "Z")


def parse_rfc3339(text: str) -> float:
    """RFC 3339 text (nanoseconds allowed, as Go writes them) as a unix time;
    0.0 for empty or unreadable text."""
    import datetime

    if not text:
        return 0.0
    t = text.replace("Z", "+00:00")
    if "." in t:
        head, _, rest = t.partition(".")
        frac = "".join(ch for ch in rest if ch.isdigit())
        tz = rest[len(frac):]
        t = f"{head}.{frac[:6]}{tz}"
    try:
        return datetime.datetime.fromisoformat(t).timestamp()
    except ValueError:
        return 0.0
