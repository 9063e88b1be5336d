"""A small client of the libpod API: JSON requests, streamed bodies, and
the service's errors raised as pypod's own (same words, same exit codes)."""

from __future__ import annotations

import http.client
import json
import socket
import urllib.parse

from ..errors import PypodError

API = "/v4.3.1/libpod"


class RemoteError(PypodError):
    """An error the service sent, with its words and the exit code its HTTP
    status means."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.exit_code = {404: 125, 409: 125, 400: 125, 304: 0}.get(status, 125)
        self.status = status


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float | None):
        super().__init__("d", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if self.timeout is not None:
            self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


class Client:
    def __init__(self, uri: str, timeout: float | None = 60):
        scheme, _, rest = uri.partition("://")
        self.uri = uri
        self.timeout = timeout
        self._unix = rest if scheme == "unix" else ""
        self._tcp = rest.rstrip("/") if scheme == "tcp" else ""

    def _connection(self, timeout) -> http.client.HTTPConnection:
        if self._unix:
            return _UnixConnection(self._unix, timeout)
        host, _, port = self._tcp.rpartition(":")
        return http.client.HTTPConnection(host, int(port), timeout=timeout)

    def request(self, method: str, path: str, query: dict | None = None, body=None, stream: bool = False):
        """The response (open, for streams) of a 2xx answer; else RemoteError."""
        q = {k: ("true" if v is True else "false" if v is False else str(v)) for k, v in (query or {}).items()
             if v is not None}
        target = API + path + ("?" + urllib.parse.urlencode(q) if q else "")
        conn = self._connection(None if stream else self.timeout)
        headers = {}
        if body is not None and not isinstance(body, bytes):
            body = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            conn.request(method, target, body=body, headers=headers)
            resp = conn.getresponse()
        except OSError as e:
            raise RemoteError(f"unable to connect to pypod service at {self.uri}: {e.strerror or e}", 0) from None
        if resp.status >= 300 and resp.status != 304:
            data = resp.read()
            conn.close()
            try:
                message = json.loads(data).get("message") or data.decode(errors="replace")
            except (ValueError, AttributeError):
                message = data.decode(errors="replace").strip() or f"HTTP {resp.status}"
            raise RemoteError(message, resp.status)
        return resp

    def json(self, method: str, path: str, query: dict | None = None, body=None):
        resp = self.request(method, path, query, body)
        data = resp.read()
        return json.loads(data) if data.strip() else None
