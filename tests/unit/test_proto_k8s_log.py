import pytest

from pypod.errors import InvalidArgument
from pypod.proto.k8s_log import (LogParser, filter_since, filter_until, format_line, format_timestamp,
                                  parse_go_duration, parse_log, parse_record, parse_rfc3339, parse_time, tail)

T1 = "2026-01-01T10:00:00.123456789+01:00"
T2 = "2026-01-01T09:00:01.000000000Z"
T3 = "2026-01-01T09:00:02.5Z"

LOG = (
    f"{T1} stdout F hello world\n"
    f"{T2} stdout P par\n"
    f"{T2} stderr F err line\n"
    f"{T3} stdout P ti\n"
    f"{T3} stdout F al\n"
    f"{T3} stdout F \n"
    f"{T3} stderr P no newline"
).encode()

WANT = [
    (T1, "stdout", b"hello world\n"),
    (T2, "stderr", b"err line\n"),
    (T3, "stdout", b"partial\n"),
    (T3, "stdout", b"\n"),
    (T3, "stderr", b"no newline"),
]


def test_parse_log_whole():
    assert parse_log(LOG) == WANT


@pytest.mark.parametrize("size", [1, 2, 5, 17, 64])
def test_parse_incremental(size):
    p = LogParser()
    got = []
    for i in range(0, len(LOG), size):
        got += p.feed(LOG[i:i + size])
    got += p.close()
    assert got == WANT


def test_unfinished_partial_at_close():
    p = LogParser()
    assert p.feed(f"{T1} stdout P abc\n".encode()) == []
    assert p.close() == [(T1, "stdout", b"abc")]


def test_binary_content_and_spaces():
    line = f"{T1} stdout F a  b \xff\n".encode("latin-1")
    assert parse_log(line) == [(T1, "stdout", b"a  b \xff\n")]


@pytest.mark.parametrize("bad", [b"nonsense", b"ts stdin F x", b"ts stdout X x"])
def test_bad_record(bad):
    with pytest.raises(InvalidArgument, match="is not a valid container log line"):
        parse_record(bad)


def test_parse_record_no_content():
    assert parse_record(f"{T1} stdout F".encode()) == (T1, "stdout", True, b"")


def test_tail():
    lines = list(range(10))
    assert tail(lines, 3) == [7, 8, 9]
    assert tail(lines, 0) == []
    assert tail(lines, -1) == lines
    assert tail(lines, 100) == lines


@pytest.mark.parametrize("s,want", [
    ("1970-01-01T00:00:00Z", 0),
    ("1970-01-01T00:00:01.5Z", 1_500_000_000),
    ("1970-01-01T01:00:00+01:00", 0),
    ("2026-01-01T00:00:00Z", 1767225600 * 10**9),
    ("2000-02-29T00:00:00.000000001Z", 951782400 * 10**9 + 1),
    ("1969-12-31T23:59:59Z", -10**9),
])
def test_rfc3339(s, want):
    assert parse_rfc3339(s) == want


@pytest.mark.parametrize("s", ["2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-01-01 00:00:00Z",
                               "2026-01-01T00:00:00", "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00+1:00"])
def test_rfc3339_bad(s):
    with pytest.raises(ValueError):
        parse_rfc3339(s)


@pytest.mark.parametrize("s,want", [
    ("10m", 600 * 10**9), ("1h30m", 5400 * 10**9), ("1.5h", 5400 * 10**9), ("300ms", 300 * 10**6),
    ("2h45m0.5s", (2 * 3600 + 45 * 60) * 10**9 + 5 * 10**8), ("0", 0), ("-1s", -(10**9)), ("1us", 1000),
    ("1\u00b5s", 1000), ("7ns", 7),
])
def test_duration(s, want):
    assert parse_go_duration(s) == want


@pytest.mark.parametrize("s", ["", "10", "1x", "h", "1.2.3s", "-"])
def test_duration_bad(s):
    with pytest.raises(ValueError):
        parse_go_duration(s)


NOW = 1_800_000_000 * 10**9


@pytest.mark.parametrize("s,since,want", [
    ("10m", True, NOW - 600 * 10**9),
    ("10m", False, NOW + 600 * 10**9),
    ("2026-01-01T00:00:00Z", True, 1767225600 * 10**9),
    ("2026-01-01T00:00:00", True, 1767225600 * 10**9),
    ("2026-01-01", True, 1767225600 * 10**9),
    ("2026-01-01+01:00", True, (1767225600 - 3600) * 10**9),
    ("1700000000", True, 1700000000 * 10**9),
    ("1700000000.25", True, 1700000000 * 10**9 + 250_000_000),
])
def test_parse_time(s, since, want):
    assert parse_time(s, since, now_ns=NOW) == want


@pytest.mark.parametrize("s", ["yesterday", "10x", "2026-01-01T", ""])
def test_parse_time_bad(s):
    with pytest.raises(InvalidArgument, match="unable to interpret time value"):
        parse_time(s, now_ns=NOW)


def test_filters():
    lines = parse_log(LOG)
    t2 = parse_rfc3339(T2)
    assert [ln[2] for ln in filter_since(lines, t2)] == [b"partial\n", b"\n", b"no newline"]
    assert [ln[2] for ln in filter_until(lines, t2)] == [b"hello world\n"]


@pytest.mark.parametrize("ts,want", [
    ("2026-01-01T09:00:01.000000000Z", "2026-01-01T09:00:01Z"),
    ("2026-01-01T09:00:01.120000000+01:00", "2026-01-01T09:00:01.12+01:00"),
    ("2026-01-01T09:00:01.123456789+00:00", "2026-01-01T09:00:01.123456789Z"),
    ("2026-01-01T09:00:01-05:00", "2026-01-01T09:00:01-05:00"),
])
def test_format_timestamp(ts, want):
    assert format_timestamp(ts) == want


def test_format_line():
    ln = (T2, "stdout", b"x\n")
    assert format_line(ln) == b"x\n"
    assert format_line(ln, timestamps=True) == b"2026-01-01T09:00:01Z x\n"
