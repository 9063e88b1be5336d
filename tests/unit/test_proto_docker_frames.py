import time

import pytest

from pypod.proto.docker_frames import FrameDecoder, FrameError, encode_frame, encode_header


@pytest.mark.parametrize("stream,data,want", [
    (1, b"hi", b"\x01\x00\x00\x00\x00\x00\x00\x02hi"),
    (2, b"x" * 256, b"\x02\x00\x00\x00\x00\x00\x01\x00" + b"x" * 256),
    (0, b"a", b"\x00\x00\x00\x00\x00\x00\x00\x01a"),
    (1, b"", b""),
])
def test_encode(stream, data, want):
    assert encode_frame(stream, data) == want


def test_encode_header():
    assert encode_header(2, 70000) == b"\x02\x00\x00\x00\x00\x01\x11\x70"


def test_decode_roundtrip_any_split():
    frames = [(1, b"hello"), (2, b"err\n"), (1, b"x" * 10000), (0, b"in")]
    wire = b"".join(encode_frame(s, d) for s, d in frames)
    for size in (1, 2, 3, 7, 8, 9, 100, len(wire)):
        dec = FrameDecoder()
        got = []
        for i in range(0, len(wire), size):
            got += dec.feed(wire[i:i + size])
        assert got == frames, size
        assert dec.buffered == 0


def test_header_split_byte_by_byte():
    dec = FrameDecoder()
    wire = encode_frame(2, b"abc")
    for b in wire[:-1]:
        assert dec.feed(bytes([b])) == []
    assert dec.feed(wire[-1:]) == [(2, b"abc")]


def test_truncated_reports_buffered():
    dec = FrameDecoder()
    assert dec.feed(encode_frame(1, b"abcdef")[:-2]) == []
    assert dec.buffered == 12


@pytest.mark.parametrize("bad", [b"\x05\x00\x00\x00\x00\x00\x00\x01a", b"\x01\x00\x01\x00\x00\x00\x00\x01a"])
def test_strict_rejects(bad):
    with pytest.raises(FrameError):
        FrameDecoder().feed(bad)
    assert FrameDecoder(strict=False).feed(bad) == [(bad[0], b"a")]


def test_million_tiny_frames_fast():
    frame = encode_frame(1, b"z")
    wire = frame * 1_000_000
    dec = FrameDecoder()
    t = time.perf_counter()
    n = 0
    for i in range(0, len(wire), 65536):
        n += len(dec.feed(wire[i:i + 65536]))
    assert n == 1_000_000
    assert time.perf_counter() - t < 10
