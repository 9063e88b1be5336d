"""HTTP/1.1 for the registry client: h11 frames the protocol, this module
owns the sockets (TLS when asked), keep-alive connections per host, and
streamed bodies both ways.

Why not urllib3 or http.client: both pull in the email package, which costs
a `pull` of an image already present more than the whole rest of the
command; h11 is the strict, well-kept HTTP/1.1 state machine (python-hyper)
without any I/O of its own, which is exactly the part worth not writing.
"""

from __future__ import annotations

import socket
import threading
import urllib.parse
from collections.abc import Callable, Iterable

import h11

from ..errors import PypodError

_RECV = 1 << 20
_USER_AGENT = "pypod/0.1 (containers distribution client)"


class ConnectError(PypodError):
    """The registry could not be reached (refused, unresolvable, timed out)."""


class TLSHandshakeError(ConnectError):
    """TLS failed: an unverifiable certificate, or a server that speaks plain HTTP."""


class ProtocolError(ConnectError):
    """The server broke HTTP (or closed the connection) mid-response."""


class Response:
    """A response whose body is read as it arrives."""

    def __init__(self, conn: "_Connection", resp: h11.Response, url: str, method: str):
        self._conn = conn
        self.url = url
        self.method = method
        self.status = resp.status_code
        self.reason = resp.reason.decode("latin-1")
        self.headers: list[tuple[str, str]] = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in resp.headers]
        self._pending = b""
        self._done = method == "HEAD" or self.status in (204, 304)
        self._released = False
        if self._done:
            self._finish()

    def header(self, name: str, default: str = "") -> str:
        name = name.lower()
        for k, v in self.headers:
            if k == name:
                return v
        return default

    def header_all(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self.headers if k == name]

    @property
    def length(self) -> int | None:
        v = self.header("content-length")
        return int(v) if v.isdigit() else None

    def read(self, n: int = -1) -> bytes:
        """n bytes (fewer only at the end of the body); all the rest for n < 0."""
        if n < 0:
            parts = [self._pending]
            self._pending = b""
            while not self._done:
                parts.append(self._next())
            return b"".join(parts)
        if len(self._pending) >= n or self._done:
            data, self._pending = self._pending[:n], self._pending[n:]
            return data
        parts = [self._pending]
        have = len(self._pending)
        while have < n and not self._done:
            chunk = self._next()
            parts.append(chunk)
            have += len(chunk)
        buf = b"".join(parts)
        data, self._pending = buf[:n], buf[n:]
        return data

    def readinto(self, b) -> int:
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)

    def _next(self) -> bytes:
        try:
            ev = self._conn.next_event()
        except (OSError, h11.RemoteProtocolError) as e:
            self.close()
            raise ProtocolError(f"reading response from {self.url}: {e}") from None
        if isinstance(ev, h11.Data):
            return bytes(ev.data)
        if isinstance(ev, h11.EndOfMessage):
            self._done = True
            self._finish()
            return b""
        self.close()
        raise ProtocolError(f"reading response from {self.url}: the connection closed early")

    def _finish(self) -> None:
        if not self._released:
            self._released = True
            self._conn.release()

    def close(self) -> None:
        """Drop the rest of the body, and with it the connection (a new one
        costs less than reading an unwanted blob to its end)."""
        if self._released:
            return
        self._released = True
        self._done = True
        self._conn.discard()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _Connection:
    def __init__(self, pool: "Transport", key: tuple[str, str, int], sock: socket.socket):
        self.pool = pool
        self.key = key
        self.sock = sock
        self.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=64 * 1024)

    def next_event(self):
        while True:
            ev = self.h11.next_event()
            if ev is h11.NEED_DATA:
                data = self.sock.recv(_RECV)
                self.h11.receive_data(data)
                continue
            return ev

    def send(self, event) -> None:
        for piece in self.h11.send_with_data_passthrough(event) or ():
            self.sock.sendall(piece)

    def release(self) -> None:
        if self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE:
            try:
                self.h11.start_next_cycle()
            except h11.LocalProtocolError:
                self.discard()
                return
            self.pool._put(self)
        else:
            self.discard()

    def discard(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class Transport:
    """Requests to any host, reusing idle connections; safe across threads
    (each request holds its own connection until its body is read)."""

    def __init__(self, timeout: float = 30.0, tls_context: Callable[[str, bool], object] | None = None):
        self.timeout = timeout
        #: (host:port, verify) -> ssl.SSLContext
        self.tls_context = tls_context
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._lock = threading.Lock()

    def _put(self, conn: _Connection) -> None:
        with self._lock:
            self._idle.setdefault(conn.key, []).append(conn)

    def _get(self, key) -> _Connection | None:
        with self._lock:
            idle = self._idle.get(key)
            return idle.pop() if idle else None

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for c in conns:
                c.discard()

    def _connect(self, scheme: str, host: str, port: int, verify: bool) -> _Connection:
        hostport = f"{host}:{port}"
        try:
            sock = socket.create_connection((host.strip("[]"), port), timeout=self.timeout)
        except socket.timeout:
            raise ConnectError(f"dial tcp {hostport}: i/o timeout") from None
        except socket.gaierror as e:
            raise ConnectError(f"dial tcp: lookup {host}: {e.strerror or e}") from None
        except OSError as e:
            raise ConnectError(f"dial tcp {hostport}: connect: {(e.strerror or str(e)).lower()}") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if scheme == "https":
            import ssl

            ctx = self.tls_context(hostport if port != 443 else host, verify) if self.tls_context else ssl.create_default_context()
            try:
                sock = ctx.wrap_socket(sock, server_hostname=host.strip("[]"))
            except ssl.SSLCertVerificationError as e:
                sock.close()
                # OpenSSL's "unable to get local issuer certificate", "self-signed certificate in chain", ...
                unknown_ca = e.verify_code in (2, 18, 19, 20, 21)
                raise TLSHandshakeError("x509: certificate signed by unknown authority" if unknown_ca
                                        else f"x509: {e.verify_message or e}") from None
            except ssl.SSLError as e:
                sock.close()
                if e.reason == "WRONG_VERSION_NUMBER":
                    raise TLSHandshakeError("http: server gave HTTP response to HTTPS client") from None
                raise TLSHandshakeError(f"tls handshake with {hostport}: {_tls_words(e)}") from None
            except OSError as e:
                sock.close()
                raise TLSHandshakeError(f"tls handshake with {hostport}: {e}") from None
        return _Connection(self, (scheme, host, port), sock)

    def request(self, method: str, url: str, headers: dict[str, str] | None = None,
                body: bytes | Iterable[bytes] | None = None, length: int | None = None,
                verify: bool = True) -> Response:
        """Send a request and return once the response head is in.  body is
        bytes, or an iterable of bytes sent with Content-Length when length
        is given, chunked otherwise.  A request that finds a kept-alive
        connection closed by the server is sent again once, on a new one,
        when it can be (its body is bytes)."""
        u = urllib.parse.urlsplit(url)
        scheme = u.scheme
        host = u.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        port = u.port or (443 if scheme == "https" else 80)
        target = (u.path or "/") + (f"?{u.query}" if u.query else "")
        hdrs = [("Host", u.netloc), ("User-Agent", _USER_AGENT)]
        for k, v in (headers or {}).items():
            hdrs.append((k, v))
        if isinstance(body, (bytes, bytearray)):
            hdrs.append(("Content-Length", str(len(body))))
        elif body is not None:
            hdrs.append(("Content-Length", str(length)) if length is not None else ("Transfer-Encoding", "chunked"))
        elif method in ("POST", "PUT", "PATCH"):
            hdrs.append(("Content-Length", "0"))
        key = (scheme, host, port)
        for attempt in (0, 1):
            conn = self._get(key) if attempt == 0 else None
            reused = conn is not None
            if conn is None:
                conn = self._connect(scheme, host, port, verify)
            conn.sock.settimeout(self.timeout)
            try:
                conn.send(h11.Request(method=method, target=target, headers=hdrs))
                if isinstance(body, (bytes, bytearray)):
                    if body:
                        conn.send(h11.Data(data=bytes(body)))
                elif body is not None:
                    for chunk in body:
                        if chunk:
                            conn.send(h11.Data(data=chunk))
                conn.send(h11.EndOfMessage())
                while True:
                    ev = conn.next_event()
                    if isinstance(ev, h11.InformationalResponse):
                        continue
                    if isinstance(ev, h11.Response):
                        return Response(conn, ev, url, method)
                    raise h11.RemoteProtocolError("connection closed before the response")
            except socket.timeout:
                conn.discard()
                raise ConnectError(f"{method} {url}: i/o timeout (no answer in {self.timeout:g} s)") from None
            except (OSError, h11.RemoteProtocolError, h11.LocalProtocolError) as e:
                conn.discard()
                if reused and (body is None or isinstance(body, (bytes, bytearray))):
                    continue  # the server closed an idle connection: try a fresh one
                raise ProtocolError(f"{method} {url}: {_tls_words(e) if scheme == 'https' else e}") from None
        raise ProtocolError(f"{method} {url}: no response")


def _tls_words(e: BaseException) -> str:
    """A TLS session the server ended after the handshake: with TLS 1.3 a
    server that wants a client certificate says so only then (an alert, or
    just a close when it does not wait for the alert to be read)."""
    import ssl

    if not isinstance(e, ssl.SSLError):
        return str(e)
    reason = e.reason or ""
    if "_ALERT_" in reason:  # the server's alert, in Go's words: "remote error: tls: bad certificate"
        return "remote error: tls: " + reason.split("_ALERT_", 1)[1].lower().replace("_", " ")
    if isinstance(e, ssl.SSLEOFError):
        return ("the registry closed the TLS connection (does it require a client certificate? "
                "certs.d/HOST:PORT/*.cert with its *.key)")
    return f"tls: {e.reason or e}"
