"""The HTTP-side pump with a socketpair standing in for conmon's attach
socket (SOCK_SEQPACKET, stream byte first) and one for the hijacked client;
the router's image-name captures."""

import socket
import threading

import pytest

from pypod.api.docker import _console_size
from pypod.api.http import Router
from pypod.api.stream import HTTPStreams, pump, write_error
from pypod.proto.docker_frames import FrameDecoder

OUT, ERR = b"\x02", b"\x03"  # conmon's stream bytes


def _pair():
    conmon_side, ours = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    client, server = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    return conmon_side, ours, client, server


def _read_all(s: socket.socket) -> bytes:
    out = b""
    s.settimeout(10)
    while True:
        d = s.recv(65536)
        if not d:
            return out
        out += d


def _run(ours, server, **kw):
    rfile = server.makefile("rb")
    streams = HTTPStreams(server, rfile, **{"stdin": False, "stdout": True, "stderr": True, "tty": False, **kw})
    result = {}

    def go():
        result["detached"] = pump(ours, streams, stdin_open=True)
        server.shutdown(socket.SHUT_WR)

    t = threading.Thread(target=go)
    t.start()
    return t, result


def test_frames_keep_streams_apart_and_in_order():
    conmon, ours, client, server = _pair()
    t, res = _run(ours, server)
    for i in range(300):
        conmon.send((OUT if i % 3 else ERR) + b"x%d;" % i)
    conmon.close()
    frames = FrameDecoder().feed(_read_all(client))
    t.join(5)
    assert res["detached"] is False
    assert b"".join(d for s, d in frames if s == 1) == b"".join(b"x%d;" % i for i in range(300) if i % 3)
    assert b"".join(d for s, d in frames if s == 2) == b"".join(b"x%d;" % i for i in range(0, 300, 3))


def test_chosen_streams_only_and_tty_is_raw():
    conmon, ours, client, server = _pair()
    t, _ = _run(ours, server, stderr=False)
    conmon.send(OUT + b"keep")
    conmon.send(ERR + b"drop")
    conmon.close()
    assert FrameDecoder().feed(_read_all(client)) == [(1, b"keep")]
    t.join(5)
    conmon, ours, client, server = _pair()
    t, _ = _run(ours, server, tty=True)
    conmon.send(OUT + b"raw bytes")
    conmon.close()
    assert _read_all(client) == b"raw bytes"
    t.join(5)


def test_buffered_stdin_is_not_lost_and_half_close_is_eof():
    """Bytes the request parser already buffered reach the process, and the
    client's SHUT_WR becomes a shutdown of the process's stdin."""
    conmon, ours, client, server = _pair()
    client.sendall(b"POST /x HTTP/1.1\r\n\r\nearly-stdin")
    rfile = server.makefile("rb")
    assert rfile.readline() == b"POST /x HTTP/1.1\r\n"
    assert rfile.readline() == b"\r\n"  # "early-stdin" now sits in rfile's buffer
    streams = HTTPStreams(server, rfile, stdin=True, stdout=True, stderr=True, tty=False)
    t = threading.Thread(target=lambda: (pump(ours, streams), server.shutdown(socket.SHUT_WR)))
    t.start()
    client.sendall(b"+late")
    client.shutdown(socket.SHUT_WR)
    got = b""
    conmon.settimeout(10)
    while True:
        m = conmon.recv(65536)
        if not m:
            break  # EOF: our side shut its write half
        got += m
    assert got == b"early-stdin+late"
    conmon.send(OUT + b"after-eof")
    conmon.close()
    assert FrameDecoder().feed(_read_all(client)) == [(1, b"after-eof")]
    t.join(5)
    assert not t.is_alive()


def test_detach_keys_end_the_pump_and_are_not_sent():
    conmon, ours, client, server = _pair()
    t, res = _run(ours, server, stdin=True, tty=True, detach_keys="ctrl-x")
    client.sendall(b"abc\x18")
    conmon.settimeout(10)
    assert conmon.recv(100) == b"abc"
    t.join(10)
    assert res["detached"] is True


def test_binary_stdin_passes_without_a_tty():
    """Without a TTY no detach sequence applies by default: ctrl-p,ctrl-q is data."""
    conmon, ours, client, server = _pair()
    t, res = _run(ours, server, stdin=True)
    client.sendall(b"\x10\x11\x00\xff")
    client.shutdown(socket.SHUT_WR)
    conmon.settimeout(10)
    assert conmon.recv(100) == b"\x10\x11\x00\xff"
    assert conmon.recv(100) == b""  # then EOF
    conmon.close()
    t.join(10)
    assert res["detached"] is False


def test_big_output_is_whole():
    conmon, ours, client, server = _pair()
    t, _ = _run(ours, server)
    payload = bytes(range(256)) * 32  # 8 KiB, conmon's largest message
    got = {}

    def reader():
        got["data"] = _read_all(client)

    r = threading.Thread(target=reader)
    r.start()
    for _ in range(2000):
        conmon.send(OUT + payload)
    conmon.close()
    r.join(30)
    t.join(5)
    frames = FrameDecoder().feed(got["data"])
    assert b"".join(d for _, d in frames) == payload * 2000


def test_error_after_hijack_is_a_stderr_frame_or_raw():
    a, b = socket.socketpair()
    write_error(a, "boom", tty=False)
    write_error(a, "tty boom", tty=True)
    a.close()
    data = _read_all(b)
    assert FrameDecoder().feed(data[:8 + len(b"Error: boom\n")]) == [(2, b"Error: boom\n")]
    assert data.endswith(b"Error: tty boom\n")


def test_console_size_from_docker_or_libpod_bodies():
    assert _console_size({"ConsoleSize": [30, 100]}) == (30, 100)
    assert _console_size({"h": 24, "w": 80}) == (24, 80)
    assert _console_size({"ConsoleSize": [0, 0]}) is None
    assert _console_size({"ConsoleSize": ["a", 1], "h": -1, "w": 5}) is None


def test_router_image_names_with_slashes():
    r = Router()
    r.add("GET", "/images/json", "list")
    r.add("GET", "/images/{name*}/json", "inspect")
    r.add("DELETE", "/images/{name*}", "rmi")
    r.add("DELETE", "/libpod/images/remove", "bulk")
    r.add("DELETE", "/libpod/images/{name*}", "lrmi")
    assert r.match("GET", "/v1.41/images/json") == ("list", {})
    assert r.match("GET", "/images/localhost/busybox:latest/json") == ("inspect", {"name": "localhost/busybox:latest"})
    assert r.match("GET", "/images/busybox/json") == ("inspect", {"name": "busybox"})
    assert r.match("DELETE", "/images/a/b/c") == ("rmi", {"name": "a/b/c"})
    assert r.match("DELETE", "/v4.3.1/libpod/images/remove") == ("bulk", {})
    assert r.match("DELETE", "/libpod/images/x/y") == ("lrmi", {"name": "x/y"})
    with pytest.raises(Exception):
        r.match("GET", "/images//json")
