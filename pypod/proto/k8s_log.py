"""The CRI ("k8s-file") log format conmon writes, and podman's log filters.

Each record is ``<RFC3339Nano time> <stdout|stderr> <P|F> <content>\\n``;
a P record is a fragment of a line the container has not finished, so a
logical line is any P fragments of that stream followed by its F record.

Times are handled as integer nanoseconds since the epoch: datetime keeps
only microseconds, and --since must compare at conmon's precision.
"""

from pypod.errors import InvalidArgument

_STREAMS = {b"stdout": "stdout", b"stderr": "stderr"}


def _bad_line(line: bytes):
    return InvalidArgument(f"{line.decode('utf-8', 'replace')!r} is not a valid container log line")


def parse_record(line: bytes) -> tuple:
    """One physical record (without its newline) as ``(time, stream, full, content)``."""
    parts = line.split(b" ", 3)
    if len(parts) < 3:
        raise _bad_line(line)
    stream = _STREAMS.get(parts[1])
    tag = parts[2]
    if stream is None or tag not in (b"P", b"F"):
        raise _bad_line(line)
    content = parts[3] if len(parts) == 4 else b""
    return parts[0].decode("ascii", "replace"), stream, tag == b"F", content


class LogParser:
    """Incremental reader of a k8s-file log.

    ``feed`` returns complete logical lines as ``(time, stream, data)``,
    where ``data`` ends in a newline; ``close`` returns the fragments of
    lines the container never finished, without one.  The time of a
    reassembled line is its final record's, as podman reports it.
    """

    __slots__ = ("_buf", "_partial")

    def __init__(self):
        self._buf = b""
        # Fragments per stream: stdout and stderr interleave in one file.
        self._partial = {}

    def feed(self, data: bytes) -> list:
        buf = self._buf + data if self._buf else bytes(data)
        out = []
        start = 0
        partial = self._partial
        while True:
            nl = buf.find(b"\n", start)
            if nl < 0:
                break
            line = buf[start:nl]
            start = nl + 1
            if not line:
                continue
            ts, stream, full, content = parse_record(line)
            if not full:
                frags = partial.get(stream)
                if frags is None:
                    partial[stream] = frags = [ts, []]
                frags[0] = ts
                frags[1].append(content)
                continue
            frags = partial.pop(stream, None)
            if frags is not None:
                content = b"".join(frags[1]) + content
            out.append((ts, stream, content + b"\n"))
        self._buf = buf[start:]
        return out

    def close(self) -> list:
        """End of the log: unfinished lines, and a final record lacking its newline."""
        out = []
        if self._buf:
            rest, self._buf = self._buf, b""
            out += self.feed(rest + b"\n")
        for stream, (ts, frags) in self._partial.items():
            out.append((ts, stream, b"".join(frags)))
        self._partial = {}
        return out


def parse_log(data: bytes) -> list:
    """Every logical line of a complete log file."""
    p = LogParser()
    return p.feed(data) + p.close()


def tail(lines, n: int) -> list:
    """The last ``n`` logical lines; a negative ``n`` means all of them (podman's --tail -1)."""
    if n < 0:
        return list(lines)
    if n == 0:
        return []
    from collections import deque
    return list(deque(lines, maxlen=n))


# ---- time values --------------------------------------------------------

def _days_from_civil(y: int, m: int, d: int) -> int:
    # Howard Hinnant's algorithm: avoids datetime for dates and years
    # datetime refuses, and is exact.
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _digits(s: str, what: str) -> int:
    if not s.isdigit() or not s.isascii():
        raise ValueError(what)
    return int(s)


def _parse_zone(z: str) -> int:
    """Offset in seconds of ``Z`` / ``+HH:MM``."""
    if z in ("Z", "z"):
        return 0
    if len(z) != 6 or z[0] not in "+-" or z[3] != ":":
        raise ValueError("zone")
    off = _digits(z[1:3], "zone") * 3600 + _digits(z[4:6], "zone") * 60
    return -off if z[0] == "-" else off


def parse_rfc3339(s: str, require_zone: bool = True) -> int:
    """Nanoseconds since the epoch for ``YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)``.

    Without ``require_zone`` a missing zone means UTC, as Go's time.Parse
    treats layouts without one.  Raises ValueError.
    """
    if len(s) < 19 or s[4] != "-" or s[7] != "-" or s[10] not in "Tt" or s[13] != ":" or s[16] != ":":
        raise ValueError(f"not an RFC 3339 time: {s!r}")
    year = _digits(s[0:4], s)
    month = _digits(s[5:7], s)
    day = _digits(s[8:10], s)
    hh = _digits(s[11:13], s)
    mm = _digits(s[14:16], s)
    ss = _digits(s[17:19], s)
    rest = s[19:]
    frac_ns = 0
    if rest.startswith((".", ",")):
        i = 1
        while i < len(rest) and "0" <= rest[i] <= "9":
            i += 1
        frac = rest[1:i]
        if not frac or len(frac) > 9:
            raise ValueError(f"not an RFC 3339 time: {s!r}")
        frac_ns = int(frac.ljust(9, "0"))
        rest = rest[i:]
    if rest:
        off = _parse_zone(rest)
    elif require_zone:
        raise ValueError(f"not an RFC 3339 time: {s!r}")
    else:
        off = 0
    if not (1 <= month <= 12 and 1 <= day <= _month_days(year, month) and hh < 24 and mm < 60 and ss < 60):
        raise ValueError(f"not an RFC 3339 time: {s!r}")
    secs = _days_from_civil(year, month, day) * 86400 + hh * 3600 + mm * 60 + ss - off
    return secs * 1_000_000_000 + frac_ns


def _month_days(y: int, m: int) -> int:
    if m == 2:
        return 29 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 28
    return 30 if m in (4, 6, 9, 11) else 31


_UNITS = {"ns": 1, "us": 1_000, "\u00b5s": 1_000, "\u03bcs": 1_000, "ms": 1_000_000,
          "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000}


def parse_go_duration(s: str) -> int:
    """Nanoseconds for a Go duration such as ``1h30m``, ``1.5s``, ``-10m``. Raises ValueError."""
    orig = s
    neg = False
    if s[:1] in ("+", "-"):
        neg = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise ValueError(f"invalid duration {orig!r}")
    total = 0
    i = 0
    n = len(s)
    while i < n:
        j = i
        while j < n and (s[j].isdigit() or s[j] == "."):
            j += 1
        num = s[i:j]
        if not num or num == "." or num.count(".") > 1:
            raise ValueError(f"invalid duration {orig!r}")
        k = j
        while k < n and not (s[k].isdigit() or s[k] == "."):
            k += 1
        unit = _UNITS.get(s[j:k])
        if unit is None:
            raise ValueError(f"invalid duration {orig!r}")
        whole, _, frac = num.partition(".")
        value = int(whole or "0") * unit
        if frac:
            # Integer arithmetic keeps "1.1s" exactly 1100000000ns.
            value += int(frac) * unit // 10 ** len(frac)
        total += value
        i = k
    return -total if neg else total


def parse_time(value: str, since: bool = True, now_ns: "int | None" = None) -> int:
    """A --since/--until value as nanoseconds since the epoch, podman's way.

    Accepts RFC 3339 (with or without fraction or zone), dates, Unix
    timestamps (``1700000000`` or ``1700000000.5``) and Go durations, which
    count back from now for --since and forward for --until.
    """
    s = value.strip()
    for require_zone in (True, False):
        try:
            return parse_rfc3339(s, require_zone)
        except ValueError:
            pass
    if len(s) >= 10 and s[4:5] == "-" and s[7:8] == "-":
        try:
            off = _parse_zone(s[10:]) if len(s) > 10 else 0
            days = _days_from_civil(_digits(s[0:4], s), _digits(s[5:7], s), _digits(s[8:10], s))
            if not (1 <= int(s[5:7]) <= 12 and 1 <= int(s[8:10]) <= _month_days(int(s[0:4]), int(s[5:7]))):
                raise ValueError(s)
            return (days * 86400 - off) * 1_000_000_000
        except ValueError:
            pass
    whole, dot, frac = s.partition(".")
    w = whole[1:] if whole[:1] == "-" else whole
    if w.isdigit() and w.isascii() and (not dot or (frac.isdigit() and frac.isascii())):
        ns = int(w) * 1_000_000_000 + (int(frac[:9].ljust(9, "0")) if frac else 0)
        return -ns if whole[:1] == "-" else ns
    try:
        d = parse_go_duration(s)
    except ValueError:
        raise InvalidArgument("unable to interpret time value") from None
    if now_ns is None:
        import time
        now_ns = time.time_ns()
    return now_ns - d if since else now_ns + d


def line_time(line) -> int:
    """Nanoseconds of a parsed line's timestamp (``line[0]``)."""
    return parse_rfc3339(line[0])


def filter_since(lines, since_ns: int):
    """Lines strictly after ``since_ns``, as podman's --since keeps them."""
    return [ln for ln in lines if parse_rfc3339(ln[0]) > since_ns]


def filter_until(lines, until_ns: int):
    """Lines strictly before ``until_ns``."""
    return [ln for ln in lines if parse_rfc3339(ln[0]) < until_ns]


def format_timestamp(ts: str) -> str:
    """conmon's timestamp as Go prints RFC3339Nano: fraction without trailing zeros, "Z" for UTC."""
    i = 19
    if len(ts) < 20:
        return ts
    rest = ts[19:]
    frac = ""
    if rest[:1] in (".", ","):
        j = 1
        while j < len(rest) and "0" <= rest[j] <= "9":
            j += 1
        frac = rest[1:j].rstrip("0")
        i += j
    zone = ts[i:]
    if zone in ("+00:00", "-00:00", "z"):
        zone = "Z"
    return ts[:19] + ("." + frac if frac else "") + zone


def format_line(line, timestamps: bool = False) -> bytes:
    """A logical line as ``podman logs`` prints it; ``-t`` puts the time first."""
    if timestamps:
        return format_timestamp(line[0]).encode("ascii", "replace") + b" " + line[2]
    return line[2]
