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


def human_size(n: float, sep: str = " ", precision: int = 3) -> str:
    """go-units HumanSizeWithPrecision(n, precision) (decimal units): podman's
    `images` puts a space before the unit, `ps --size` none (sep=""); `stats`
    shows 4 digits."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000:
            return f"{n:.{precision}g}{sep}{unit}"
        n /= 1000
    return f"{n:.{precision}g}{sep}PB"


def iec_size(n: float) -> str:
    """go-units BytesSize: binary units, 4 digits (`stats`' MemUsageBytes)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024:
            return f"{n:.4g}{unit}"
        n /= 1024
    return f"{n:.4g}PiB"


def go_duration(ns: int) -> str:
    """Go's time.Duration.String(): 35.069978ms, 1.5µs, 1m1.5s, 1h0m0s."""
    sign, ns = ("-", -ns) if ns < 0 else ("", ns)
    if ns == 0:
        return "0s"
    if ns < 1000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        return f"{sign}{_decimal(ns, 1000)}µs"
    if ns < 1_000_000_000:
        return f"{sign}{_decimal(ns, 1_000_000)}ms"
    minutes, rest = divmod(ns, 60_000_000_000)
    hours, minutes = divmod(minutes, 60)
    text = f"{_decimal(rest, 1_000_000_000)}s"
    if hours or minutes:
        text = f"{minutes}m" + text
    if hours:
        text = f"{hours}h" + text
    return sign + text


def _decimal(value: int, unit: int) -> str:
    """value/unit exactly, without trailing zeros (Go prints no rounding)."""
    whole, frac = divmod(value, unit)
    digits = f"{frac:0{len(str(unit)) - 1}d}".rstrip("0")
    return f"{whole}.{digits}" if digits else str(whole)


class GoTime:
    """A time that prints as Go's time.Time does in a template
    (`2026-12-02 22:37:46.825076704 +0000 UTC`); from a unix float, or
    exactly from nanoseconds."""

    __slots__ = ("ts", "ns")

    def __init__(self, ts: float, ns: int | None = None):
        self.ts = ts
        # a float holds microseconds at best: digits past them would be noise
        self.ns = round(ts * 1e6) * 1000 if ns is None else ns

    @classmethod
    def from_ns(cls, ns: int) -> "GoTime":
        return cls(ns / 1e9, ns)

    def __str__(self) -> str:
        import time

        if not self.ns:
            return "0001-01-01 00:00:00 +0000 UTC"
        secs, frac = divmod(self.ns, 1_000_000_000)
        digits = f"{frac:09d}".rstrip("0")
        return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(secs)) + (f".{digits}" if digits else "") + " +0000 UTC"

    def __repr__(self) -> str:
        return f"GoTime({self.ts})"

    def unix(self) -> int:
        return int(self.ts)


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
