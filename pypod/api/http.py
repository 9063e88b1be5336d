"""The HTTP side of the REST service: a threaded server on a unix (or TCP)
socket, request parsing, JSON and streamed answers, and connection hijacking.

One thread per connection: a long attach or log follow holds its own thread
and never blocks other requests.  Handlers get a `Request` and return a
`Response`; a handler that takes the raw connection (attach, exec start)
calls `req.hijack()` and speaks the stream itself.
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler

from ..errors import InvalidArgument, PypodError

#: bodies above this are refused (images are loaded by stream, not buffered)
MAX_JSON_BODY = 16 * 1024 * 1024

DOCKER_API_VERSION = "1.41"
LIBPOD_API_VERSION = "4.3.1"


class Response:
    def __init__(self, status: int = 200, body=None, content_type: str = "application/json", headers: dict | None = None):
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers or {}


class Streamed(Response):
    """A body produced by an iterator of bytes, sent chunked (HTTP/1.1) or
    close-delimited (HTTP/1.0)."""

    def __init__(self, chunks, content_type: str = "application/octet-stream", status: int = 200):
        super().__init__(status, None, content_type)
        self.chunks = chunks


class Hijacked(Response):
    """The handler already took over the connection."""

    def __init__(self):
        super().__init__(0)


class Request:
    def __init__(self, handler: "Handler", method: str, path: str, query: dict[str, str], params: dict[str, str]):
        self.handler = handler
        self.method = method
        self.path = path
        self.query = query
        self.params = params
        self.headers = handler.headers
        self.hijacked = False
        self.hijack_tty = False
        self._json: dict | None = None

    # query parameters, the way Docker reads them
    def q(self, name: str, default: str = "") -> str:
        return self.query.get(name, default)

    def qbool(self, name: str, default: bool = False) -> bool:
        v = self.query.get(name)
        if v is None or v == "":
            return default
        if v.lower() in ("1", "true", "yes"):
            return True
        if v.lower() in ("0", "false", "no"):
            return False
        raise InvalidArgument(f"invalid boolean value {v!r} for query parameter {name}")

    def qint(self, name: str, default: int | None = None) -> int | None:
        v = self.query.get(name)
        if v is None or v == "":
            return default
        try:
            return int(v)
        except ValueError:
            raise InvalidArgument(f"invalid integer value {v!r} for query parameter {name}") from None

    def body_stream(self):
        """The request body as a file object (Content-Length or chunked)."""
        return _BodyReader(self.handler.rfile, self.headers)

    def json(self, default=None):
        """The body as a JSON object (read once; the validation layer may
        have read and checked it already, see api/validate.py)."""
        if self._json is not None:
            return self._json
        from .validate import parse_json

        data = self.body_stream().read(MAX_JSON_BODY + 1)
        if len(data) > MAX_JSON_BODY:
            raise InvalidArgument("request body too large")
        if not data.strip():
            if default is not None:
                return default
            raise InvalidArgument("request body is empty: a JSON object is required")
        obj = parse_json(data, "request body")
        if not isinstance(obj, dict):
            raise InvalidArgument("request body must be a JSON object")
        self._json = obj
        return obj

    def set_json(self, obj: dict) -> None:
        self._json = obj

    def hijack(self, content_type: str, tty: bool = False) -> socket.socket:
        """Take the raw connection: 101 when the client asked to upgrade,
        else 200 with a close-delimited raw body.  tty says how a later
        error is written onto it (raw, or as a stderr frame)."""
        h = self.handler
        self.hijack_tty = tty
        upgrade = "upgrade" in h.headers.get("Connection", "").lower() and h.headers.get("Upgrade", "").lower() == "tcp"
        if upgrade:
            head = (f"HTTP/1.1 101 UPGRADED\r\nContent-Type: {content_type}\r\nConnection: Upgrade\r\n"
                    f"Upgrade: tcp\r\nApi-Version: {DOCKER_API_VERSION}\r\n\r\n")
        else:
            head = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nConnection: close\r\nApi-Version: {DOCKER_API_VERSION}\r\n\r\n"
        h.wfile.write(head.encode())
        h.wfile.flush()
        h.close_connection = True
        self.hijacked = True
        # An attached terminal may sit idle for hours: the timeout between
        # requests must not apply to the stream.
        h.connection.settimeout(None)
        return h.connection

    def client_gone(self) -> bool:
        """True when the client closed its side (for streams that would
        otherwise only notice at their next write)."""
        import select

        conn = self.handler.connection
        try:
            r, _, _ = select.select([conn], [], [], 0)
            return bool(r) and conn.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except (OSError, ValueError):
            return True


class _BodyReader:
    def __init__(self, rfile, headers):
        self.rfile = rfile
        self.chunked = "chunked" in headers.get("Transfer-Encoding", "").lower()
        try:
            self.left = int(headers.get("Content-Length") or 0)
        except ValueError:
            raise InvalidArgument("invalid Content-Length") from None
        if self.left < 0:
            raise InvalidArgument("invalid Content-Length")
        self.chunk_left = 0
        self.done = False

    def read(self, n: int = -1) -> bytes:
        if not self.chunked:
            if n < 0 or n > self.left:
                n = self.left
            data = self.rfile.read(n) if n else b""
            self.left -= len(data)
            return data
        out = bytearray()
        while (n < 0 or len(out) < n) and not self.done:
            if self.chunk_left == 0:
                line = self.rfile.readline(1024)
                try:
                    self.chunk_left = int(line.split(b";")[0].strip() or b"0", 16)
                except ValueError:
                    raise InvalidArgument("invalid chunked body") from None
                if self.chunk_left < 0:
                    raise InvalidArgument("invalid chunked body")
                if self.chunk_left == 0:
                    self.done = True
                    self.rfile.readline(1024)
                    break
            want = self.chunk_left if n < 0 else min(self.chunk_left, n - len(out))
            data = self.rfile.read(want)
            if not data:
                self.done = True
                break
            out += data
            self.chunk_left -= len(data)
            if self.chunk_left == 0:
                self.rfile.readline(1024)
        return bytes(out)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pypod"
    # Bound the time a silent client can hold a thread between requests.
    timeout = 300

    def version_string(self) -> str:
        return "pypod"

    def log_message(self, fmt, *args):  # quiet: the service is not a web server log
        pass

    def address_string(self) -> str:
        return "unix" if isinstance(self.client_address, (str, bytes)) or not self.client_address else str(self.client_address[0])

    def setup(self) -> None:
        super().setup()
        self.idle = True
        self.server.handlers.add(self)

    def finish(self) -> None:
        self.server.handlers.discard(self)
        super().finish()

    def handle_one_request(self) -> None:
        # Between requests a kept-alive connection is idle: a stopping
        # service may cut it there without breaking any request.
        self.idle = True
        if self.server.stopping:
            self.close_connection = True
            return
        super().handle_one_request()
        self.idle = True
        if self.server.stopping:
            self.close_connection = True

    def _dispatch(self) -> None:
        self.idle = False
        self.server.touch()
        if self.server.debug:
            import sys

            print(f"API request: {self.command} {self.path}", file=sys.stderr, flush=True)
        parsed = urllib.parse.urlsplit(self.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query, keep_blank_values=True).items()}
        req = None
        try:
            handler, params = self.server.router.match(self.command, parsed.path)
            req = Request(self, self.command, parsed.path, query, params)
            resp = handler(req)
        except PypodError as e:
            resp = error_response(e.http_status, _docker_words(e, parsed.path))
        except Exception as e:  # a bug of ours: report it, keep serving
            resp = error_response(500, f"internal error: {type(e).__name__}: {e}")
        if req is not None and req.hijacked:
            if isinstance(resp, Response) and resp.status >= 400 and isinstance(resp.body, dict):
                # Seed 003: an error after the hijack goes onto the connection.
                from .stream import write_error

                write_error(self.connection, str(resp.body.get("message", "")), req.hijack_tty)
            self.close_connection = True
            return
        self._send(resp)
        self.server.touch()

    def _send(self, resp: Response) -> None:
        if isinstance(resp, Streamed):
            self._send_stream(resp)
            return
        body = resp.body
        if body is None:
            data = b""
        elif isinstance(body, (bytes, bytearray)):
            data = bytes(body)
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = (json.dumps(body) + "\n").encode()
        self.send_response(resp.status)
        if resp.status not in (204, 304):
            self.send_header("Content-Type", resp.content_type)
            self.send_header("Content-Length", str(len(data)))
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self._common_headers()
        # Head and body in one write: one wake-up of the client, not two.
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD" and resp.status not in (204, 304):
            self._headers_buffer.append(data)
        self.flush_headers()

    def _send_stream(self, resp: Streamed) -> None:
        # Chunked, as Docker's daemon streams: docker-py decodes a stream
        # (events, pull, load) only from a chunked response.
        chunked = self.request_version == "HTTP/1.1"
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self._common_headers()
        self.end_headers()
        ok = False
        try:
            for chunk in resp.chunks:
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
            ok = True
        except OSError:
            pass
        except Exception:
            pass  # a failure halfway: the client sees the stream end without its last chunk
        finally:
            close = getattr(resp.chunks, "close", None)
            if close:
                close()
        if ok and chunked:
            try:
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                self.close_connection = True
        else:
            self.close_connection = True

    def _common_headers(self) -> None:
        self.send_header("Api-Version", DOCKER_API_VERSION)
        self.send_header("Libpod-Api-Version", LIBPOD_API_VERSION)

    do_GET = do_POST = do_DELETE = do_PUT = do_HEAD = _dispatch


def _docker_words(e: PypodError, path: str) -> str:
    """Docker's clients read the kind of a 404 from its words (docker-py
    pulls after "No such image", and only then); libpod routes keep podman's."""
    from ..errors import NoSuchContainer, NoSuchImage

    msg = str(e)
    if "/libpod/" in path or path.startswith("/libpod"):
        return msg
    if isinstance(e, NoSuchImage) and "no such image" not in msg.lower():
        return f"No such image: {msg}"
    if isinstance(e, NoSuchContainer) and "no such container" not in msg.lower():
        return f"No such container: {msg}"
    return msg


def error_response(status: int, message: str) -> Response:
    return Response(status, {"message": message, "cause": message.rsplit(": ", 1)[-1], "response": status})


class Router:
    """Routes by method and path pattern; `{name}` captures one segment,
    `{name*}` one or more (image names hold slashes: docker clients send
    /images/localhost/busybox:latest/json unescaped).  Docker's versioned
    prefixes (/v1.41/, /v4.3.1/) are stripped first.  Of the patterns that
    match, the one with the most literal segments wins, so /images/json is
    never read as an image called "json"; among equals, the first added."""

    def __init__(self):
        self.routes: list[tuple[str, list[str], object]] = []

    def add(self, method: str, pattern: str, handler) -> None:
        self.routes.append((method, pattern.strip("/").split("/"), handler))

    @staticmethod
    def _bind(pat: list[str], parts: list[str]) -> dict | None:
        greedy = [i for i, p in enumerate(pat) if p.endswith("*}")]
        if greedy:
            g = greedy[0]
            extra = len(parts) - len(pat)
            if extra < 0:
                return None
            parts = parts[:g] + ["/".join(parts[g:g + extra + 1])] + parts[g + extra + 1:]
            pat = pat[:g] + [pat[g].replace("*", "")] + pat[g + 1:]
        elif len(pat) != len(parts):
            return None
        params = {}
        for p, seg in zip(pat, parts):
            if p.startswith("{"):
                if not seg or seg.startswith("/") or seg.endswith("/") or "//" in seg:
                    return None
                params[p[1:-1]] = seg
            elif p != seg:
                return None
        return params

    def match(self, method: str, path: str):
        parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")]
        if parts and len(parts[0]) > 1 and parts[0][0] == "v" and parts[0][1].isdigit():
            parts = parts[1:]
        method = "GET" if method == "HEAD" else method
        found_path = False
        best = None
        for m, pat, handler in self.routes:
            params = self._bind(pat, parts)
            if params is None:
                continue
            found_path = True
            if m != method:
                continue
            literal = sum(1 for p in pat if not p.startswith("{"))
            if best is None or literal > best[0]:
                best = (literal, handler, params)
        if best is not None:
            return best[1], best[2]
        err = PypodError(f"{'method not allowed' if found_path else 'page not found'}")
        err.http_status = 405 if found_path else 404
        raise err


class Server(socketserver.ThreadingMixIn, socketserver.BaseServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, sock: socket.socket, router: Router):
        socketserver.BaseServer.__init__(self, sock.getsockname(), Handler)
        self.socket = sock
        self.router = router
        self.last_activity = time.monotonic()
        self.active = 0
        self.debug = False
        self.stopping = False
        #: live connections' handlers, so a stop can cut the idle ones
        self.handlers: set = set()
        #: exec id -> (height, width) asked for before the session started
        self.pending_sizes: dict[str, tuple[int, int]] = {}
        self._active_lock = threading.Lock()

    def touch(self) -> None:
        self.last_activity = time.monotonic()

    def fileno(self) -> int:
        return self.socket.fileno()

    def get_request(self):
        conn, addr = self.socket.accept()
        return conn, addr or "unix"

    def process_request(self, request, client_address):
        # Counted before the thread starts, so the idle check never sees a
        # connection that was accepted but not yet counted.
        with self._active_lock:
            self.active += 1
        try:
            super().process_request(request, client_address)
        except BaseException:
            with self._active_lock:
                self.active -= 1
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._active_lock:
                self.active -= 1
            self.touch()

    def cut_idle(self) -> None:
        """Wake the connections waiting for a next request: they close."""
        for h in list(self.handlers):
            if getattr(h, "idle", False):
                try:
                    h.connection.shutdown(socket.SHUT_RD)
                except OSError:
                    pass

    def shutdown_request(self, request):
        try:
            request.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        request.close()

    def server_close(self):
        self.socket.close()
