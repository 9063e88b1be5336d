import pytest

from pypod.proto.conmon_attach import (ATTACH_BUFFER_SIZE, STDERR, STDIN, STDOUT, AttachProtocolError,
                                        http_payload, parse_attach_message, reopen_log_message, resize_message)


def test_constants():
    # conmon's stdpipe_t: NO_PIPE is 0, so stdin/stdout/stderr are 1/2/3
    assert (STDIN, STDOUT, STDERR) == (1, 2, 3)
    assert ATTACH_BUFFER_SIZE == 8193


@pytest.mark.parametrize("msg,want", [
    (b"\x02hello", (STDOUT, b"hello")),
    (b"\x03err", (STDERR, b"err")),
    (b"\x02", (STDOUT, b"")),
    (b"\x01in", (STDIN, b"in")),
])
def test_parse(msg, want):
    assert parse_attach_message(msg) == want


@pytest.mark.parametrize("msg", [b"", b"\x00x", b"\x04x", b"\xffx"])
def test_parse_bad(msg):
    with pytest.raises(AttachProtocolError):
        parse_attach_message(msg)


def test_ctl_messages():
    assert resize_message(24, 80) == b"1 24 80\n"
    assert reopen_log_message() == b"2 0 0\n"
    with pytest.raises(ValueError):
        resize_message(-1, 80)


@pytest.mark.parametrize("msg,terminal,kw,want", [
    (b"\x02out", True, {}, b"out"),
    (b"\x03err", True, {}, b""),
    (b"\x02out", True, {"stdout": False}, b""),
    # conmon's 2/3 become Docker's stream ids 1/2 in the frame header
    (b"\x02out", False, {}, b"\x01\x00\x00\x00\x00\x00\x00\x03out"),
    (b"\x03err", False, {}, b"\x02\x00\x00\x00\x00\x00\x00\x03err"),
    (b"\x03err", False, {"stderr": False}, b""),
    (b"\x01in", False, {}, b""),
    (b"\x01in", False, {"stdin": True}, b"\x00\x00\x00\x00\x00\x00\x00\x02in"),
    (b"\x02", False, {}, b""),
])
def test_http_payload(msg, terminal, kw, want):
    assert http_payload(msg, terminal, **kw) == want
