"""The service's HTTP layer (api/server.py) on a real unix socket, with a
small router of its own: framing, errors, keep-alive, hijacking with what
the client sent in the same write, and clients that are idle or slow."""

from __future__ import annotations

import json
import os
import resource
import socket
import threading
import time

import pytest

from pypod.api.http import Hijacked, Request, Response, Router, Streamed
from pypod.api.server import Server


def _echo_stdin(req: Request) -> Response:
    """A hijack route: answers with every byte the client sends, until its EOF."""
    sock = req.hijack("application/vnd.docker.raw-stream")
    rfile = req.handler.rfile
    while True:
        data = rfile.read1(65536)
        if not data:
            break
        sock.sendall(data)
    return Hijacked()


def _body_len(req: Request) -> Response:
    return Response(200, {"len": len(req.body_stream().read())})


def _stream(req: Request) -> Response:
    return Streamed(iter([b"one", b"two"]), "text/plain")


@pytest.fixture
def server(tmp_path):
    r = Router()
    r.add("GET", "/_ping", lambda req: Response(200, "OK", "text/plain"))
    r.add("POST", "/echo", _echo_stdin)
    r.add("POST", "/body", _body_len)
    r.add("GET", "/stream", _stream)
    r.add("GET", "/json", lambda req: Response(200, {"q": req.q("x"), "h": req.headers.get("x-thing")}))
    path = str(tmp_path / "s.sock")
    lsock = socket.socket(socket.AF_UNIX)
    lsock.bind(path)
    lsock.listen(1024)
    srv = Server(lsock, r, max_connections=200, idle_timeout=300, head_timeout=2)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield path, srv
    srv.shutdown()
    srv.server_close()


def connect(path: str) -> socket.socket:
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(20)
    s.connect(path)
    return s


def exchange(path: str, data: bytes, half_close: bool = False) -> bytes:
    s = connect(path)
    try:
        s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            d = s.recv(65536)
            if not d:
                return out
            out += d
    finally:
        s.close()


def status_and_body(resp: bytes) -> tuple[int, bytes, bytes]:
    head, _, body = resp.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), head, body


def test_keep_alive_pipelining_query_headers_and_chunked_streams(server):
    path, _srv = server
    s = connect(path)
    # two requests in one write, answered in order on the same connection
    s.sendall(b"GET /json?x=1 HTTP/1.1\r\nHost: d\r\nX-Thing: yes\r\n\r\nGET /_ping HTTP/1.1\r\nHost: d\r\n\r\n")
    got = b""
    while got.count(b"HTTP/1.1 200") < 2 or not got.endswith(b"OK"):
        got += s.recv(65536)
    first, second = got.split(b"HTTP/1.1 200 OK\r\n")[1:]
    assert json.loads(first.split(b"\r\n\r\n", 1)[1]) == {"q": "1", "h": "yes"}
    assert b"Api-Version: 1.41" in first and second.endswith(b"\r\n\r\nOK")
    # a streamed answer is chunked, and the connection carries on after it
    s.sendall(b"GET /stream HTTP/1.1\r\nHost: d\r\n\r\n")
    got = b""
    while not got.endswith(b"0\r\n\r\n"):
        got += s.recv(65536)
    assert b"transfer-encoding: chunked" in got.lower() and b"3\r\none\r\n3\r\ntwo\r\n0\r\n\r\n" in got
    s.sendall(b"POST /body HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=1\r\n world\r\n0\r\n\r\n")
    got = b""
    while b"}" not in got:
        got += s.recv(65536)
    assert json.loads(got.split(b"\r\n\r\n", 1)[1]) == {"len": 11}
    s.close()
    # HTTP/1.0: the answer is close-delimited, then the connection closes
    assert exchange(path, b"GET /stream HTTP/1.0\r\n\r\n").endswith(b"\r\n\r\nonetwo")
    # HEAD: the head only
    st, head, body = status_and_body(exchange(path, b"HEAD /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n"))
    assert st == 200 and body == b"" and b"Content-Length: 2" in head


@pytest.mark.parametrize("request_bytes, status", [
    (b"POST /body HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n", 400),
    (b"POST /body HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400),
    (b"POST /body HTTP/1.1\r\nHost: d\r\nContent-Length: -1\r\n\r\n", 400),
    (b"POST /body HTTP/1.1\r\nHost: d\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello", 400),
    (b"POST /body HTTP/1.1\r\nHost: d\r\nContent-Length: 100\r\n\r\nshort", 400),  # then the client half-closes
    (b"BREW /_ping HTTP/1.1\r\nHost: d\r\n\r\n", 405),
    (b"DELETE /_ping HTTP/1.1\r\nHost: d\r\n\r\n", 405),
    (b"G@T /_ping HTTP/1.1\r\nHost: d\r\n\r\n", 400),
    (b"GET /_ping HTTP/9.9\r\n\r\n", 400),
    (b"\x00\x01\x02 garbage\r\n\r\n", 400),
    (b"GET /nope HTTP/1.1\r\nHost: d\r\n\r\n", 404),
    (b"GET /_ping HTTP/1.1\r\nHost: d\r\nX-Big: " + b"a" * 200000 + b"\r\n\r\n", 431),
])
def test_bad_requests_get_a_json_4xx_never_html(server, request_bytes, status):
    path, srv = server
    st, head, body = status_and_body(exchange(path, request_bytes, half_close=True))
    assert st == status, (head, body)
    assert b"application/json" in head and b"<html" not in body.lower()
    assert json.loads(body)["message"]
    assert status_and_body(exchange(path, b"GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n"))[0] == 200


def test_a_hijacked_stream_starts_with_what_came_in_the_same_write(server):
    path, _srv = server
    for upgrade in (b"Connection: Upgrade\r\nUpgrade: tcp\r\n", b""):
        s = connect(path)
        # the request, its body, and the first stream bytes: one write
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: d\r\n" + upgrade + b"Content-Length: 2\r\n\r\n{}" + b"stdin-1 ")
        time.sleep(0.05)
        s.sendall(b"stdin-2")
        s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += d
        s.close()
        head, _, stream = got.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101 UPGRADED" if upgrade else b"HTTP/1.1 200 OK")
        assert stream == b"stdin-1 stdin-2"


def test_idle_and_slow_clients_hold_up_nobody(server):
    """Past max_connections the longest-idle connection makes room; a client
    sending its head a byte at a time waits in the loop, not in a thread;
    one that never finishes its head is answered 408 after head_timeout."""
    path, srv = server
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 4096)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))
    idle = []
    try:
        for _ in range(min(1000, want - 200)):  # five times the server's cap
            idle.append(connect(path))
        slow = connect(path)
        slow_req = b"GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n"
        stuck = connect(path)
        stuck.sendall(b"GET /_ping HTTP/1.1\r\nHost")  # and never more
        for i, byte in enumerate(slow_req):
            slow.send(bytes([byte]))
            if i % 10 == 0:  # others are served meanwhile
                assert status_and_body(exchange(path, b"GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n"))[0] == 200
        got = b""
        while True:
            d = slow.recv(65536)
            if not d:
                break
            got += d
        assert status_and_body(got)[0] == 200
        assert srv.active <= srv.max_connections
        got = b""
        while True:
            d = stuck.recv(65536)
            if not d:
                break
            got += d
        assert status_and_body(got)[0] == 408
    finally:
        for s in idle:
            s.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_shutdown_closes_idle_connections(server, tmp_path):
    path, srv = server
    s = connect(path)
    s.sendall(b"GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n")
    got = b""
    while not got.endswith(b"OK"):
        got += s.recv(65536)
    srv.shutdown()
    assert s.recv(65536) == b""  # the idle keep-alive connection is closed, not left hanging
    s.close()
    assert not os.path.exists(str(tmp_path / "never"))


def test_a_client_that_stops_reading_holds_up_nobody_and_its_stream_is_closed(tmp_path):
    """A client that asks for a long stream and reads none of it: the worker
    sending it waits io_timeout at most, then closes the connection and the
    stream's producer (as `logs -f` and `events` are closed when their
    client goes); everyone else is served meanwhile."""
    closed = threading.Event()

    def big(req: Request) -> Response:
        def chunks():
            try:
                for _ in range(1024):  # 1 GiB if anybody read it
                    yield b"x" * (1 << 20)
            finally:
                closed.set()
        return Streamed(chunks(), "application/octet-stream")

    r = Router()
    r.add("GET", "/_ping", lambda req: Response(200, "OK", "text/plain"))
    r.add("GET", "/big", big)
    path = str(tmp_path / "t.sock")
    lsock = socket.socket(socket.AF_UNIX)
    lsock.bind(path)
    lsock.listen(64)
    srv = Server(lsock, r, max_connections=50, idle_timeout=300, head_timeout=5, io_timeout=1)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    try:
        stalled = connect(path)
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.sendall(b"GET /big HTTP/1.1\r\nHost: d\r\n\r\n")
        time.sleep(0.2)  # its worker is blocked on a full socket by now
        for _ in range(5):
            assert status_and_body(exchange(path, b"GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n"))[0] == 200
        assert closed.wait(30), "the stream's producer was never closed"
        deadline = time.monotonic() + 30
        while srv.active and time.monotonic() < deadline:
            time.sleep(0.05)
        assert srv.active == 0  # the stalled connection is gone too
        # what the stalled client can still read ends: no hanging half-answer
        stalled.settimeout(30)
        while stalled.recv(1 << 20):
            pass
        stalled.close()
    finally:
        srv.shutdown()
        srv.server_close()
