"""The service's connections: HTTP/1.1 with h11, one event loop for the
waiting, a thread for each request being served.

Why this shape:

* A connection costs a thread only while a request on it is served.  Idle
  keep-alive connections and clients still sending their request head wait
  in one selector loop, so 5,000 idle clients cost 5,000 sockets and no
  threads, and a slow client (one byte a second) holds up nobody: a request
  reaches a handler only once its head, and its body when small, are all
  here.  Past `max_connections` the longest-idle connection is closed to
  make room (a server may close an idle keep-alive connection at any time);
  idle ones close after `idle_timeout`, half-sent heads after `head_timeout`.
* h11 parses: strict HTTP/1.1 framing (no negative or junk chunk sizes, no
  conflicting lengths, bounded heads), keep-alive and HTTP/1.0 rules, HEAD,
  chunked responses.  Anything it rejects is answered with a 4xx in Docker's
  JSON shape, never HTML.
* Hijacking (attach, exec start) hands the handler the socket *and* the bytes
  h11 had already read past the request: a client may send its first stdin
  in the same packet as the request (tests/integration/test_api_http.py).

Route modules see only http.py's Request, Response and Router.
"""

from __future__ import annotations

import collections
import errno
import json
import os
import selectors
import socket
import threading
import time
import urllib.parse

import h11

from .. import trace
from ..errors import InvalidArgument, PypodError
from .http import DOCKER_API_VERSION, LIBPOD_API_VERSION, Request, Response, Streamed, docker_words, error_response

#: bodies up to this size are read by the loop before the handler runs; larger
#: ones (image archives) are streamed to the handler
PREREAD_BODY = 1024 * 1024
RECV_SIZE = 64 * 1024
#: h11's bound on a request head; larger is a 431
MAX_HEAD = 64 * 1024
#: idle worker threads kept for the next requests
SPARE_WORKERS = 16

_REASONS = {
    200: "OK", 201: "Created", 204: "No Content", 304: "Not Modified", 400: "Bad Request", 404: "Not Found",
    405: "Method Not Allowed", 408: "Request Timeout", 409: "Conflict", 413: "Payload Too Large",
    431: "Request Header Fields Too Large", 500: "Internal Server Error", 501: "Not Implemented",
    503: "Service Unavailable", 505: "HTTP Version Not Supported",
}


class Headers:
    """A request's headers, names matched without regard to case."""

    def __init__(self, pairs: list[tuple[bytes, bytes]]):
        self._d: dict[str, str] = {}
        for k, v in pairs:
            name = k.decode("latin-1").lower()
            value = v.decode("latin-1")
            self._d[name] = f"{self._d[name]}, {value}" if name in self._d else value

    def get(self, name: str, default=None):
        return self._d.get(name.lower(), default)

    def __getitem__(self, name: str) -> str:
        return self._d[name.lower()]

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._d

    def items(self):
        return self._d.items()


class Connection:
    """One client connection.  Route code reaches it as `req.handler` and uses
    `.server`, `.connection` (the socket) and, after a hijack, `.rfile`."""

    __slots__ = ("server", "connection", "h11", "last", "started", "request", "headers", "body", "hijacked", "_rfile",
                 "__weakref__")

    def __init__(self, server: "Server", sock: socket.socket):
        self.server = server
        self.connection = sock
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        self.last = time.monotonic()
        #: when the first byte of a pending request arrived (0: none yet)
        self.started = 0.0
        self.request: h11.Request | None = None
        self.headers: Headers | None = None
        #: the request body when the loop read it whole, else None
        self.body: bytearray | None = None
        self.hijacked = False
        self._rfile = None

    @property
    def rfile(self) -> "HijackedReader":
        """After a hijack: the client's bytes, those h11 had buffered first."""
        if self._rfile is None:
            data, _closed = self.h11.trailing_data
            self._rfile = HijackedReader(self.connection, data)
        return self._rfile

    def body_reader(self) -> "BodyReader":
        return BodyReader(self)

    def hijack(self, content_type: str) -> socket.socket:
        """The raw socket, after a 101 (when the client asked to upgrade) or a
        200 whose body is the stream until close.  The request's body is read
        first, so that rfile starts at the client's first stream byte."""
        if self.h11.their_state is h11.SEND_BODY:
            BodyReader(self).drain()
        h = self.headers
        # Any protocol named, as Docker and podman do (Cockpit's console asks for "WebSocket")
        if "upgrade" in h.get("Connection", "").lower() and h.get("Upgrade", ""):
            head = (f"HTTP/1.1 101 UPGRADED\r\nContent-Type: {content_type}\r\nConnection: Upgrade\r\n"
                    f"Upgrade: tcp\r\nApi-Version: {DOCKER_API_VERSION}\r\n\r\n")
        else:
            head = (f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nConnection: close\r\n"
                    f"Api-Version: {DOCKER_API_VERSION}\r\n\r\n")
        self.connection.sendall(head.encode())
        self.hijacked = True
        # An attached terminal may sit idle for hours: no timeout on the stream.
        self.connection.settimeout(None)
        return self.connection

    def close(self) -> None:
        try:
            self.connection.close()
        except OSError:
            pass


class HijackedReader:
    """read1() over what was buffered, then the socket itself."""

    def __init__(self, sock: socket.socket, buffered: bytes):
        self.sock = sock
        self.buffered = memoryview(buffered)

    def read1(self, n: int = RECV_SIZE) -> bytes:
        if self.buffered:
            out, self.buffered = bytes(self.buffered[:n]), self.buffered[n:]
            return out
        return self.sock.recv(n)

    read = read1


class BodyReader:
    """A request body as a file: what the loop already read, then h11's events."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self.buf = conn.body if conn.body is not None else bytearray()
        self.done = conn.body is not None

    def read(self, n: int = -1) -> bytes:
        while not self.done and (n < 0 or len(self.buf) < n):
            ev = _next_event(self.conn)
            if isinstance(ev, h11.Data):
                self.buf += ev.data
            else:
                self.done = True
        if n < 0 or n >= len(self.buf):
            out = bytes(self.buf)
            self.buf.clear()
        else:
            out = bytes(self.buf[:n])
            del self.buf[:n]
        return out

    def drain(self) -> None:
        """Consume what is left, so the next bytes are the client's next ones."""
        while not self.done:
            if not isinstance(_next_event(self.conn), h11.Data):
                self.done = True
        self.buf.clear()


def _next_event(conn: Connection):
    """The next body event of a connection a worker owns (blocking reads);
    a malformed body is the client's error, a 400."""
    try:
        return _next_body_event(conn)
    except h11.RemoteProtocolError as e:
        raise InvalidArgument(f"bad request body: {e}") from None


def _next_body_event(conn: Connection):
    while True:
        ev = conn.h11.next_event()
        if ev is h11.NEED_DATA:
            if conn.h11.they_are_waiting_for_100_continue:
                conn.connection.sendall(conn.h11.send(h11.InformationalResponse(status_code=100, headers=[])))
            data = conn.connection.recv(RECV_SIZE)
            conn.h11.receive_data(data)
            continue
        if isinstance(ev, (h11.Data, h11.EndOfMessage)):
            return ev
        raise InvalidArgument("the client closed the connection in the middle of the request body")


class Server:
    """Serves a router on a listening socket (see the module's docstring).

    serve_forever() runs the loop in the calling thread; shutdown() stops it
    from another.  Route code reads `stopping` (streams end when it is set),
    `new_engine` (set by the service) and `pending_sizes`."""

    def __init__(self, sock: socket.socket, router, *, max_connections: int = 4096, max_active: int = 1024,
                 idle_timeout: float = 300.0, head_timeout: float = 30.0, io_timeout: float = 300.0):
        self.socket = sock
        self.router = router
        self.max_connections = max_connections
        self.max_active = max_active
        self.idle_timeout = idle_timeout
        self.head_timeout = head_timeout
        self.io_timeout = io_timeout
        self.debug = False
        #: headers every answer carries (`system service --cors`)
        self.extra_headers: list[tuple[str, str]] = []
        self.stopping = False
        self.new_engine = None
        #: exec id -> (height, width) asked for before the session started
        self.pending_sizes: dict[str, tuple[int, int]] = {}
        self.last_activity = time.monotonic()
        self._sel = selectors.DefaultSelector()
        #: connections the loop waits on, least recently active first
        self._waiting: dict[Connection, None] = {}
        #: connections a worker holds (a request in flight, or a hijacked stream)
        self._busy = 0
        self._cv = threading.Condition()
        self._jobs: collections.deque[Connection] = collections.deque()
        self._spare = 0
        self._returned: collections.deque[Connection] = collections.deque()
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._stop = threading.Event()
        self._loop_done = threading.Event()
        self._loop_closed = False

    @property
    def active(self) -> int:
        """Open connections, idle or busy: the service's idle timer waits for none."""
        return len(self._waiting) + self._busy

    def touch(self) -> None:
        self.last_activity = time.monotonic()

    def fileno(self) -> int:
        return self.socket.fileno()

    # -- the loop ------------------------------------------------------------------

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        self.socket.setblocking(False)
        self._sel.register(self.socket, selectors.EVENT_READ, None)
        self._sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        next_sweep = 0.0
        try:
            while not self._stop.is_set():
                for key, _ev in self._sel.select(poll_interval):
                    if key.data is None:
                        self._accept()
                    elif key.data == "wake":
                        self._take_returned()
                    else:
                        self._readable(key.data)
                now = time.monotonic()
                if now >= next_sweep:
                    self._sweep(now)
                    next_sweep = now + 1.0
        finally:
            for conn in list(self._waiting):
                self._drop(conn)
            with self._cv:
                # a worker may hand a connection back while the loop ends: it
                # is closed here or, after this, by _give_back itself
                self._loop_closed = True
                while self._returned:
                    self._returned.popleft().close()
            self._loop_done.set()

    def _accept(self) -> None:
        for _ in range(64):
            try:
                sock, _addr = self.socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                if e.errno in (errno.EMFILE, errno.ENFILE):
                    self._evict_oldest()  # out of descriptors: make room, retry on the next wake-up
                return
            if self.stopping:
                sock.close()
                continue
            if self.active >= self.max_connections and not self._evict_oldest():
                _refuse(sock, 503, "too many connections: try again later")
                continue
            sock.setblocking(False)
            self._wait(Connection(self, sock))
            self.touch()

    def _wait(self, conn: Connection) -> None:
        conn.last = time.monotonic()
        self._waiting[conn] = None
        self._sel.register(conn.connection, selectors.EVENT_READ, conn)

    def _unwait(self, conn: Connection) -> None:
        del self._waiting[conn]
        self._sel.unregister(conn.connection)

    def _drop(self, conn: Connection) -> None:
        self._unwait(conn)
        conn.close()

    def _evict_oldest(self) -> bool:
        for conn in self._waiting:
            self._drop(conn)
            return True
        return False

    def _sweep(self, now: float) -> None:
        for conn in list(self._waiting):
            if conn.started and now - conn.started > self.head_timeout:
                self._unwait(conn)
                _refuse(conn.connection, 408, "timed out waiting for the request")
            elif now - conn.last > self.idle_timeout:
                self._drop(conn)

    def _readable(self, conn: Connection) -> None:
        try:
            data = conn.connection.recv(RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        now = conn.last = time.monotonic()
        del self._waiting[conn]  # to the young end: eviction takes the oldest
        self._waiting[conn] = None
        if data and not conn.started:
            conn.started = now
        conn.h11.receive_data(data)
        self._advance(conn)

    def _advance(self, conn: Connection) -> None:
        """Parse what is buffered; a complete request goes to a worker."""
        h = conn.h11
        try:
            while True:
                ev = h.next_event()
                if ev is h11.NEED_DATA or ev is h11.PAUSED:
                    return
                if isinstance(ev, h11.Request):
                    if ev.http_version not in (b"1.0", b"1.1"):
                        raise h11.RemoteProtocolError(f"unsupported protocol version HTTP/{ev.http_version.decode()}")
                    conn.request = ev
                    if _streams_body(ev, h):
                        conn.body = None  # read by the handler, as it goes
                        self._dispatch(conn)
                        return
                    conn.body = bytearray()
                elif isinstance(ev, h11.Data):
                    conn.body += ev.data
                elif isinstance(ev, h11.EndOfMessage):
                    self._dispatch(conn)
                    return
                else:  # ConnectionClosed
                    self._drop(conn)
                    return
        except h11.RemoteProtocolError as e:
            # The client's fault, whatever h11 hints (505 for a version it
            # does not speak): a 4xx, as the Docker daemon answers.
            self._unwait(conn)
            _refuse(conn.connection, e.error_status_hint if 400 <= e.error_status_hint < 500 else 400,
                    f"bad request: {e}")

    def _dispatch(self, conn: Connection) -> None:
        self._unwait(conn)
        conn.started = 0.0
        with self._cv:
            if self._busy >= self.max_active:
                _refuse(conn.connection, 503, "too many requests in flight: try again later")
                return
            self._busy += 1
            if self._spare:
                self._spare -= 1
                self._jobs.append(conn)
                self._cv.notify()
                return
        threading.Thread(target=self._worker, args=(conn,), name="api-request", daemon=True).start()

    def _take_returned(self) -> None:
        try:
            while os.read(self._wake_r, 4096):
                pass
        except BlockingIOError:
            pass
        while self._returned:
            conn = self._returned.popleft()
            self._wait(conn)
            if conn.h11.trailing_data[0]:
                conn.started = conn.last  # a pipelined request already started
            self._advance(conn)

    def _give_back(self, conn: Connection) -> None:
        """From a worker: the connection waits for its next request in the loop."""
        conn.request = conn.body = None
        with self._cv:
            if self._stop.is_set() or self._loop_closed:
                conn.close()
                return
            conn.connection.setblocking(False)
            self._returned.append(conn)
        try:
            os.write(self._wake_w, b"!")
        except BlockingIOError:
            pass  # the loop is awake already

    # -- workers -------------------------------------------------------------------

    def _worker(self, conn: Connection) -> None:
        while True:
            try:
                keep = self._serve(conn)
            except BaseException:
                keep = False
            with self._cv:
                self._busy -= 1
            if keep and not self.stopping:
                self._give_back(conn)
            else:
                conn.close()
            self.touch()
            with self._cv:
                if self._spare >= SPARE_WORKERS or self._stop.is_set():
                    return
                self._spare += 1
                while not self._jobs:
                    if self._stop.is_set():
                        self._spare -= 1
                        return
                    self._cv.wait()
                conn = self._jobs.popleft()

    def _serve(self, conn: Connection) -> bool:
        """Answer one request; True when the connection can take another."""
        ev = conn.request
        sock = conn.connection
        sock.setblocking(True)
        sock.settimeout(self.io_timeout)
        method = ev.method.decode("ascii", "replace")
        target = ev.target.decode("latin-1")
        conn.headers = Headers(ev.headers)
        parsed = urllib.parse.urlsplit(target)
        if self.debug:
            print(f"API request: {method} {target}", file=__import__("sys").stderr, flush=True)
        trace.step(f"api: {method} {parsed.path}")
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query, keep_blank_values=True).items()}
        req = None
        try:
            handler, params = self.router.match(method, parsed.path)
            req = Request(conn, method, parsed.path, query, params)
            resp = handler(req)
        except PypodError as e:
            resp = error_response(e.http_status, docker_words(e, parsed.path))
        except Exception as e:  # a bug of ours: report it, keep serving
            self.log_bug(f"{method} {parsed.path}", e)
            resp = error_response(500, f"internal error: {type(e).__name__}: {e}")
        if trace.enabled and isinstance(resp, Response) and resp.status >= 400:
            trace.step(f"api: {method} {parsed.path} answered {resp.status}: {resp.body}")
        if conn.hijacked:
            if isinstance(resp, Response) and resp.status >= 400 and isinstance(resp.body, dict):
                from .stream import write_error

                # Seed 003: an error after the hijack goes onto the connection.
                write_error(sock, str(resp.body.get("message", "")), req is not None and req.hijack_tty)
            return False
        return self._respond(conn, method, resp)

    def _respond(self, conn: Connection, method: str, resp: Response) -> bool:
        h = conn.h11
        sock = conn.connection
        if h.their_state is h11.SEND_BODY:
            # The handler left (some of) the body unread: read it away when
            # small, else close after this response rather than read it all.
            body = BodyReader(conn)
            if len(body.read(PREREAD_BODY + 1)) > PREREAD_BODY and not body.done:
                resp.headers = {**resp.headers, "Connection": "close"}
            else:
                body.drain()
        headers = [("Api-Version", DOCKER_API_VERSION), ("Libpod-Api-Version", LIBPOD_API_VERSION),
                   ("Server", "pypod"), ("Date", _http_date()), *self.extra_headers]
        status = resp.status
        try:
            if isinstance(resp, Streamed):
                self._respond_streamed(conn, resp, headers)
            else:
                data = _body_bytes(resp.body)
                if status not in (204, 304):
                    headers += [("Content-Type", resp.content_type), ("Content-Length", str(len(data)))]
                headers += list(resp.headers.items())
                out = h.send(h11.Response(status_code=status, headers=headers, reason=_REASONS.get(status, "")))
                if method != "HEAD" and status not in (204, 304) and data:
                    out += h.send(h11.Data(data=data))
                out += h.send(h11.EndOfMessage())
                sock.sendall(out)  # head and body in one write: one wake-up of the client
        except (OSError, h11.LocalProtocolError):
            return False
        if h.our_state is h11.DONE and h.their_state is h11.DONE:
            h.start_next_cycle()
            return True
        return False

    def _respond_streamed(self, conn: Connection, resp: Streamed, headers: list) -> None:
        """Chunked for HTTP/1.1 (docker-py decodes streams only so), close-delimited for 1.0."""
        h = conn.h11
        sock = conn.connection
        headers = headers + [("Content-Type", resp.content_type), *resp.headers.items()]
        ok = False
        try:
            sock.sendall(h.send(h11.Response(status_code=resp.status, headers=headers,
                                             reason=_REASONS.get(resp.status, ""))))
            for chunk in resp.chunks:
                if chunk:
                    sock.sendall(h.send(h11.Data(data=chunk)))
            ok = True
        except (OSError, h11.LocalProtocolError):
            pass
        except Exception as e:
            # A failure halfway: the client sees the stream end without its last chunk.
            self.log_bug("a streamed answer", e)
        finally:
            close = getattr(resp.chunks, "close", None)
            if close:
                close()
        if ok:
            sock.sendall(h.send(h11.EndOfMessage()))

    def log_bug(self, where: str, e: Exception) -> None:
        """An exception nobody classified is a bug of ours: one line on the
        service's stderr (the traceback too at --log-level debug), so it is
        seen, while the client gets its 500 and the service keeps serving."""
        import sys

        print(f"pypod service: internal error in {where}: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        if self.debug:
            import traceback

            traceback.print_exception(e, file=sys.stderr)

    # -- stopping --------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop the loop (idle connections close with it) and spare workers."""
        self.stopping = True
        self._stop.set()
        try:
            os.write(self._wake_w, b"!")
        except OSError:
            pass
        if self._sel.get_map() is not None and self._sel.get_map().get(self._wake_r) is not None:
            self._loop_done.wait(10)
        with self._cv:
            self._cv.notify_all()

    def server_close(self) -> None:
        self.socket.close()
        self._sel.close()
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass


def _streams_body(ev: h11.Request, h: h11.Connection) -> bool:
    """Whether the handler reads this request's body itself: chunked, large,
    or a client waiting for 100 Continue before it sends it."""
    if h.they_are_waiting_for_100_continue:
        return True
    for name, value in ev.headers:
        if name == b"transfer-encoding":
            return True
        if name == b"content-length":
            return int(value) > PREREAD_BODY
    return False


def _body_bytes(body) -> bytes:
    if body is None:
        return b""
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode()
    return (json.dumps(body) + "\n").encode()


def _http_date() -> str:
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())


def _refuse(sock: socket.socket, status: int, message: str) -> None:
    """Answer with an error in Docker's JSON shape and close, without
    waiting on the client (it may be what is wrong)."""
    body = _body_bytes(error_response(status, message).body)
    head = (f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\nApi-Version: {DOCKER_API_VERSION}\r\n"
            f"Server: pypod\r\nDate: {_http_date()}\r\n\r\n").encode()
    try:
        sock.setblocking(False)
        sock.send(head + body)
        sock.shutdown(socket.SHUT_WR)
        # Read away what the client already sent: closing with unread data
        # would reset the connection and could lose the answer on its way.
        while sock.recv(RECV_SIZE):
            pass
    except OSError:
        pass
    finally:
        sock.close()
