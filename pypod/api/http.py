"""The HTTP interface route modules program against: Request, Response
(and Streamed, Hijacked), Router, error_response.

Handlers get a `Request` and return a `Response`; a handler that takes the
raw connection (attach, exec start) calls `req.hijack()` and speaks the
stream itself.  The connections themselves (h11, the event loop, workers)
are api/server.py's.
"""

from __future__ import annotations

import socket
import urllib.parse

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
    """One request.  handler is the connection (api/server.py's Connection):
    route code may use its `.server` (new_engine, stopping, pending_sizes)."""

    def __init__(self, handler, method: str, path: str, query: dict[str, str], params: dict[str, str]):
        self.handler = handler
        self.method = method
        self.path = path
        self.query = query
        self.params = params
        self.headers = handler.headers
        self.hijacked = False
        self.hijack_tty = False
        self._json: dict | None = None

    # query parameters, the way Docker reads them; libpod's decoder also
    # takes a name in any case (podman's remote client sends "alltags",
    # "compressionformat", "listtags")
    def _get(self, name: str) -> str | None:
        v = self.query.get(name)
        if v is None:
            folded = name.lower()
            v = next((val for key, val in self.query.items() if key.lower() == folded), None)
        return v

    def q(self, name: str, default: str = "") -> str:
        v = self._get(name)
        return default if v is None else v

    def qbool(self, name: str, default: bool = False) -> bool:
        v = self._get(name)
        if v is None or v == "":
            return default
        if v.lower() in ("1", "true", "yes"):
            return True
        if v.lower() in ("0", "false", "no"):
            return False
        raise InvalidArgument(f"invalid boolean value {v!r} for query parameter {name}")

    def qint(self, name: str, default: int | None = None) -> int | None:
        v = self._get(name)
        if v is None or v == "":
            return default
        try:
            return int(v)
        except ValueError:
            raise InvalidArgument(f"invalid integer value {v!r} for query parameter {name}") from None

    def qlist(self, name: str) -> list[str]:
        """Every value of a repeated parameter (`changes=..&changes=..`), in order."""
        target = self.handler.request.target.decode("latin-1")
        query = urllib.parse.urlsplit(target).query
        return [v for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True) if k == name]

    def qnames(self, name: str) -> list[str]:
        """The names a list parameter gives: repeated (`images=a&images=b`,
        as podman's and docker's clients send them) or comma-separated."""
        return [n for v in self.qlist(name) for n in v.split(",") if n]

    def body_stream(self):
        """The request body as a file object (Content-Length or chunked)."""
        return self.handler.body_reader()

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
        error is written onto it (raw, or as a stderr frame).  What the
        client sent after the request is `req.handler.rfile`'s to read."""
        self.hijack_tty = tty
        self.hijacked = True
        return self.handler.hijack(content_type)

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


def docker_words(e: PypodError, path: str) -> str:
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
