import pytest

from pypod.errors import InvalidArgument
from pypod.proto.detach_keys import DEFAULT_DETACH_KEYS, DetachKeyMatcher, parse_detach_keys


@pytest.mark.parametrize("spec,want", [
    ("ctrl-p,ctrl-q", b"\x10\x11"),
    (DEFAULT_DETACH_KEYS, b"\x10\x11"),
    ("ctrl-a", b"\x01"),
    ("ctrl-z", b"\x1a"),
    ("ctrl-@", b"\x00"),
    ("ctrl-[", b"\x1b"),
    ("ctrl-\\", b"\x1c"),
    ("ctrl-]", b"\x1d"),
    ("ctrl-^", b"\x1e"),
    ("ctrl-_", b"\x1f"),
    ("a", b"a"),
    ("a,b,ctrl-c", b"ab\x03"),
    ("DEL", b"\x7f"),
    ("", b""),
])
def test_parse(spec, want):
    assert parse_detach_keys(spec) == want


@pytest.mark.parametrize("spec", ["ctrl-", "ctrl-A", "ctrl-ab", "foo", "a,", ",", "ctrl-p,,ctrl-q", "é", "ctrl-1"])
def test_parse_invalid(spec):
    with pytest.raises(InvalidArgument) as e:
        parse_detach_keys(spec)
    assert str(e.value).startswith("invalid detach keys: ")


def run(keys, chunks):
    m = DetachKeyMatcher(keys)
    out = b""
    for c in chunks:
        fwd, det = m.feed(c)
        out += fwd
        if det:
            return out, True, m
    return out + m.flush(), False, m


@pytest.mark.parametrize("chunks,want,detached", [
    ([b"hello"], b"hello", False),
    ([b"ab\x10\x11cd"], b"ab", True),
    ([b"ab\x10", b"\x11cd"], b"ab", True),
    ([b"\x10"], b"\x10", False),                 # partial prefix released at end
    ([b"ab\x10", b"x"], b"ab\x10x", False),      # released when broken
    ([b"\x10", b"\x10", b"\x11"], b"\x10", True),
    ([b"\x10\x10", b"zz"], b"\x10\x10zz", False),
    ([b"", b"a", b""], b"a", False),
])
def test_matcher(chunks, want, detached):
    out, det, _ = run(b"\x10\x11", chunks)
    assert (out, det) == (want, detached)


def test_byte_by_byte_no_loss():
    data = bytes(range(256)) * 20
    keys = b"\x10\x11"
    out, det, _ = run(keys, [data[i:i + 1] for i in range(len(data))])
    # \x10\x11 occurs in range(256): everything before the first one comes through
    assert det and out == data[:data.find(keys)]


def test_overlapping_prefix():
    # keys "aab": input "aaab" must detach after forwarding one "a"
    out, det, _ = run(b"aab", [b"a", b"a", b"a", b"b"])
    assert (out, det) == (b"a", True)


def test_trailing_and_after_detach():
    m = DetachKeyMatcher(b"\x10\x11")
    assert m.feed(b"x\x10\x11rest") == (b"x", True)
    assert m.trailing == b"rest"
    assert m.feed(b"more") == (b"", True)


def test_disabled():
    m = DetachKeyMatcher(b"")
    assert m.feed(b"\x10\x11") == (b"\x10\x11", False)
    assert m.flush() == b""


def test_pending_held():
    m = DetachKeyMatcher(b"\x10\x11")
    assert m.feed(b"ab\x10") == (b"ab", False)
    assert m.pending == b"\x10"


def test_large_chunk_fast():
    m = DetachKeyMatcher(b"\x10\x11")
    big = b"x" * (50 << 20)
    fwd, det = m.feed(big)
    assert len(fwd) == len(big) and not det
