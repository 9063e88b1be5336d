"""One registry, spoken to as the distribution spec says.

`Session` holds what an operation shares across registries (connections,
TLS contexts, credentials options); `Registry` is one host: it finds the
scheme (HTTPS; plain HTTP too only when the registry is insecure), answers
Bearer challenges with tokens (anonymous or with credentials, one per
scope) and Basic ones with credentials, follows redirects (blob storage
elsewhere never sees the registry's Authorization), and retries what can be
retried with back-off.  Errors carry podman's words.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from ..errors import ManifestUnknown, RegistryError, RegistryUnauthorized
from ..record import field, record
from . import auth
from .challenge import Challenge, parse_challenges, scope_for
from .tlsconfig import DEFAULT_CERTS_DIRS, TLSConfig
from .transport import (
    ConnectError,
    ProtocolError,
    Response,
    TLSHandshakeError,
    Transport,
)

if TYPE_CHECKING:
    from typing import BinaryIO

_REDIRECTS = (301, 302, 303, 307, 308)
_RETRY_STATUS = (408, 429, 500, 502, 503, 504)
MAX_PAGES = 1000


@record
class Options:
    """What the user may say about registries for one operation."""

    #: None: as registries.conf says (verify unless insecure); False: skip verification and allow HTTP
    tls_verify: bool | None = None
    creds: auth.Credentials | None = None
    authfile: str = ""
    cert_dir: str = ""
    certs_dirs: tuple[str, ...] = DEFAULT_CERTS_DIRS
    timeout: float = 30.0
    retries: int = 3
    #: seconds between attempts; None: 1, 2, 4, ... (podman's back-off)
    retry_delay: float | None = None
    #: bytes per PATCH of a chunked upload
    chunk_size: int = 64 << 20
    #: registries.conf says which hosts are insecure
    insecure_hosts: Callable[[str], bool] = field(default=lambda host: False)


class Session:
    def __init__(self, opts: Options):
        self.opts = opts
        self.tls = TLSConfig(opts.certs_dirs, opts.cert_dir)
        self.transport = Transport(opts.timeout, self.tls.context)
        self._registries: dict[tuple[str, bool], Registry] = {}

    def registry(self, host: str, insecure: bool = False) -> "Registry":
        insecure = insecure or self.opts.tls_verify is False or (self.opts.tls_verify is None and self.opts.insecure_hosts(host))
        key = (host, insecure)
        reg = self._registries.get(key)
        if reg is None:
            reg = self._registries[key] = Registry(self, host, insecure)
        return reg

    def close(self) -> None:
        self.transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def registry_error_text(resp: Response, body: bytes | None = None) -> str:
    """The registry's own error, as podman shows it: "manifest unknown: manifest unknown"."""
    if body is None:
        try:
            body = resp.read(64 * 1024)
        except RegistryError:
            body = b""
    try:
        errors = json.loads(body).get("errors") or []
        parts = []
        for e in errors:
            code = str(e.get("code", "")).lower().replace("_", " ")
            msg = str(e.get("message", ""))
            parts.append(f"{code}: {msg}" if code and msg else code or msg)
        if parts:
            return "; ".join(parts)
    except (ValueError, AttributeError):
        pass
    text = body.decode(errors="replace").strip()
    if resp.status == 401:
        return "unauthorized: authentication required"
    return f"received unexpected HTTP status: {resp.status} {resp.reason}" + (f" ({text[:200]})" if text else "")


class Registry:
    def __init__(self, session: Session, host: str, insecure: bool):
        self.session = session
        self.host = host
        self.insecure = insecure
        self.base = ""
        self.challenge: Challenge | None = None
        self._tokens: dict[str, str] = {}
        self._creds: auth.Credentials | None = None
        self._creds_looked_up = False

    # -- credentials and challenges -------------------------------------------------

    def credentials(self, repository: str = "") -> auth.Credentials | None:
        if self.session.opts.creds is not None:
            return self.session.opts.creds
        if not self._creds_looked_up:
            self._creds = auth.lookup(self.host, repository, self.session.opts.authfile)
            self._creds_looked_up = True
        return self._creds

    def ping(self) -> None:
        """GET /v2/: pick the scheme and learn the auth challenge."""
        if self.base:
            return
        schemes = ("https", "http") if self.insecure else ("https",)
        last: Exception | None = None
        for scheme in schemes:
            url = f"{scheme}://{self.host}/v2/"
            try:
                resp = self._send("GET", url, {}, None, None)
            except (ConnectError, ProtocolError) as e:
                last = e
                if isinstance(e, TLSHandshakeError) and scheme == "https" and len(schemes) > 1:
                    continue
                if scheme == "https" and len(schemes) > 1:
                    continue
                break
            with resp:
                body = resp.read(64 * 1024)
                if resp.status in (200, 401):
                    self.base = f"{scheme}://{self.host}"
                    if resp.status == 401:
                        self.challenge = self._pick(parse_challenges(resp.header_all("www-authenticate")))
                    return
                if resp.status == 404 and scheme == "https" and len(schemes) > 1:
                    continue
                last = RegistryError(f"pinging container registry {self.host}: {registry_error_text(resp, body)}")
                break
        if isinstance(last, RegistryError) and not isinstance(last, ConnectError):
            raise last
        url = f"{schemes[-1]}://{self.host}/v2/"
        raise RegistryError(f'pinging container registry {self.host}: Get "{url}": {last}')

    @staticmethod
    def _pick(challenges: list[Challenge]) -> Challenge | None:
        for scheme in ("bearer", "basic"):
            for c in challenges:
                if c.scheme == scheme:
                    return c
        return None

    def _token(self, repository: str, actions: tuple[str, ...], refresh: bool = False) -> str:
        ch = self.challenge
        assert ch is not None
        scope = "registry:catalog:*" if actions == ("catalog",) else scope_for(repository, actions) if repository else ""
        if not refresh and scope in self._tokens:
            return self._tokens[scope]
        realm = ch.params.get("realm", "")
        if not realm.startswith(("https://", "http://")):
            raise RegistryError(f"{self.host}: bearer challenge without a usable realm {realm!r}")
        params = {}
        if ch.params.get("service"):
            params["service"] = ch.params["service"]
        if scope:
            params["scope"] = scope
        creds = self.credentials(repository)
        headers = {}
        if creds and not creds.identity_token:
            params["account"] = creds.username
            headers["Authorization"] = creds.basic()
        if creds and creds.identity_token:
            body = urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": creds.identity_token,
                                           "service": params.get("service", ""), "scope": scope,
                                           "client_id": "pypod"}).encode()
            resp = self._send("POST", realm, {"Content-Type": "application/x-www-form-urlencoded"}, body, None)
        else:
            sep = "&" if "?" in realm else "?"
            resp = self._send("GET", realm + (sep + urllib.parse.urlencode(params) if params else ""), headers, None, None)
        with resp:
            body = resp.read(1 << 20)
            if resp.status in (401, 403):
                raise RegistryUnauthorized(f"unable to retrieve auth token: invalid username/password: {registry_error_text(resp, body)}")
            if resp.status != 200:
                raise RegistryError(f"requesting bearer token from {realm}: {registry_error_text(resp, body)}")
        try:
            doc = json.loads(body)
            token = doc.get("token") or doc.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise RegistryError(f"requesting bearer token from {realm}: the answer holds no token")
        self._tokens[scope] = token
        return token

    def _authorization(self, repository: str, actions: tuple[str, ...], refresh: bool = False) -> str | None:
        ch = self.challenge
        if ch is None:
            return None
        if ch.scheme == "bearer":
            return "Bearer " + self._token(repository, actions, refresh)
        if ch.scheme == "basic":
            creds = self.credentials(repository)
            return creds.basic() if creds else None
        return None

    # -- requests ----------------------------------------------------------------------

    def _send(self, method: str, url: str, headers: dict, body, length) -> Response:
        return self.session.transport.request(method, url, headers, body, length, verify=not self.insecure)

    def _delay(self, attempt: int) -> float:
        d = self.session.opts.retry_delay
        return d if d is not None else min(2.0 ** attempt, 30.0)

    def request(self, method: str, path: str, *, repository: str = "", actions: tuple[str, ...] = ("pull",),
                headers: dict | None = None, body: bytes | Iterable[bytes] | Callable[[], Iterable[bytes]] | None = None,
                length: int | None = None, retry: bool | None = None) -> Response:
        """A request to this registry (path under its base, or an absolute
        URL it gave); answers the auth challenge and follows redirects.
        body may be a callable that makes the body afresh for each attempt."""
        self.ping()
        retry = method in ("GET", "HEAD") if retry is None else retry
        attempts = 1 + max(0, self.session.opts.retries) if retry else 1
        for attempt in range(attempts):
            try:
                resp = self._request_once(method, path, repository, actions, dict(headers or {}), body, length)
            except (ConnectError, ProtocolError) as e:
                if attempt + 1 >= attempts or isinstance(e, TLSHandshakeError):
                    raise RegistryError(f"{method} {self._url(path)}: {e}") from None
                time.sleep(self._delay(attempt))
                continue
            if resp.status in _RETRY_STATUS and attempt + 1 < attempts:
                resp.close()
                time.sleep(self._delay(attempt))
                continue
            return resp
        raise RegistryError(f"{method} {self._url(path)}: no answer")

    def _url(self, path: str) -> str:
        return path if path.startswith(("https://", "http://")) else self.base + path

    def _request_once(self, method, path, repository, actions, headers, body, length) -> Response:
        url = self._url(path)
        authz = self._authorization(repository, actions)
        for _hop in range(10):
            h = dict(headers)
            same_host = urllib.parse.urlsplit(url).netloc == self.host
            if authz and same_host:
                h["Authorization"] = authz
            b = body() if callable(body) else body
            resp = self._send(method, url, h, b, length)
            if resp.status == 401 and same_host and self.challenge is not None and authz is not None:
                # A token for another scope, or one that expired: ask once more, afresh.
                fresh = parse_challenges(resp.header_all("www-authenticate"))
                resp.close()
                if fresh:
                    self.challenge = self._pick(fresh) or self.challenge
                authz2 = self._authorization(repository, actions, refresh=True)
                h["Authorization"] = authz2 or ""
                if not authz2:
                    h.pop("Authorization")
                b = body() if callable(body) else body
                resp = self._send(method, url, h, b, length)
            elif resp.status == 401 and authz is None:
                fresh = self._pick(parse_challenges(resp.header_all("www-authenticate")))
                if fresh is not None and self.challenge is None:
                    resp.close()
                    self.challenge = fresh
                    authz = self._authorization(repository, actions)
                    if authz is not None:
                        continue
                    raise RegistryUnauthorized(f"{self.host}: authentication required")
            if resp.status in _REDIRECTS and method in ("GET", "HEAD"):
                loc = resp.header("location")
                resp.close()
                if not loc:
                    raise RegistryError(f"{method} {url}: redirect without a Location")
                url = urllib.parse.urljoin(url, loc)
                continue
            return resp
        raise RegistryError(f"{method} {self._url(path)}: too many redirects")

    # -- the distribution API ------------------------------------------------------------

    def get_manifest(self, repository: str, version: str, accept: str, ref_text: str) -> tuple[bytes, str, str]:
        """(bytes, media type, Docker-Content-Digest) of a manifest."""
        from .manifest import MAX_MANIFEST

        with self.request("GET", f"/v2/{repository}/manifests/{version}", repository=repository,
                          headers={"Accept": accept}) as resp:
            if resp.status != 200:
                self._fail(resp, f"reading manifest {version} in {self.host}/{repository}", not_found=ManifestUnknown)
            data = resp.read(MAX_MANIFEST + 1)
            if len(data) > MAX_MANIFEST:
                raise RegistryError(f"reading manifest {version} in {self.host}/{repository}: larger than {MAX_MANIFEST} bytes")
            return data, resp.header("content-type"), resp.header("docker-content-digest")

    def manifest_digest(self, repository: str, version: str, accept: str) -> str:
        """HEAD of a manifest: its digest, without the body (for --pull newer)."""
        with self.request("HEAD", f"/v2/{repository}/manifests/{version}", repository=repository,
                          headers={"Accept": accept}) as resp:
            if resp.status != 200:
                self._fail(resp, f"reading manifest {version} in {self.host}/{repository}", not_found=ManifestUnknown, body=b"")
            return resp.header("docker-content-digest")

    def get_blob(self, repository: str, digest: str) -> Response:
        resp = self.request("GET", f"/v2/{repository}/blobs/{digest}", repository=repository)
        if resp.status != 200:
            with resp:
                self._fail(resp, f"fetching blob {digest} from {self.host}/{repository}", not_found=ManifestUnknown)
        return resp

    def blob_exists(self, repository: str, digest: str, actions: tuple[str, ...] = ("pull", "push")) -> bool:
        with self.request("HEAD", f"/v2/{repository}/blobs/{digest}", repository=repository, actions=actions) as resp:
            if resp.status == 200:
                return True
            if resp.status == 404:
                return False
            self._fail(resp, f"checking whether blob {digest} exists in {self.host}/{repository}", body=b"")
        return False

    def _fail(self, resp: Response, what: str, not_found=None, body: bytes | None = None) -> None:
        text = registry_error_text(resp, body)
        if resp.status == 401 or resp.status == 403:
            raise RegistryUnauthorized(f"{what}: {text}")
        if resp.status == 404 and not_found is not None:
            raise not_found(f"{what}: {text}")
        raise RegistryError(f"{what}: {text}")

    def mount_blob(self, repository: str, digest: str, from_repository: str) -> bool:
        """Cross-repository mount: True when the registry linked the blob."""
        q = urllib.parse.urlencode({"mount": digest, "from": from_repository})
        actions = ("pull", "push")
        with self.request("POST", f"/v2/{repository}/blobs/uploads/?{q}", repository=repository, actions=actions,
                          retry=False) as resp:
            if resp.status == 201:
                return True
            loc = resp.header("location") if resp.status == 202 else ""
        if loc:  # the registry started an upload instead: drop it
            self.request("DELETE", loc, repository=repository, actions=actions, retry=False).close()
        return False

    def upload_blob(self, repository: str, source: BinaryIO, size: int, digest: str,
                    progress: Callable[[int], None] | None = None) -> None:
        """POST, PATCHes of at most chunk_size bytes each (Content-Range,
        streamed from source), then PUT ?digest= to commit it."""
        actions = ("pull", "push")
        with self.request("POST", f"/v2/{repository}/blobs/uploads/", repository=repository, actions=actions,
                          retry=True) as resp:
            if resp.status != 202:
                self._fail(resp, f"initiating layer upload to {self.host}/{repository}")
            loc = resp.header("location")
        if not loc:
            raise RegistryError(f"initiating layer upload to {self.host}/{repository}: no Location in the answer")
        limit = max(1, self.session.opts.chunk_size)
        offset = 0
        while offset < size:
            n = min(limit, size - offset)
            headers = {"Content-Type": "application/octet-stream", "Content-Range": f"{offset}-{offset + n - 1}"}
            with self.request("PATCH", loc, repository=repository, actions=actions, headers=headers,
                              body=_pieces(source, n), length=n, retry=False) as resp:
                if resp.status != 202:
                    self._fail(resp, f"uploading layer chunk to {self.host}/{repository}")
                loc = resp.header("location") or loc
            offset += n
            if progress:
                progress(offset)
        sep = "&" if "?" in loc else "?"
        with self.request("PUT", f"{loc}{sep}digest={urllib.parse.quote(digest)}", repository=repository,
                          actions=actions, retry=False) as resp:
            if resp.status != 201:
                self._fail(resp, f"uploading layer to {self.host}/{repository}")

    def put_manifest(self, repository: str, version: str, data: bytes, media_type: str) -> str:
        with self.request("PUT", f"/v2/{repository}/manifests/{version}", repository=repository,
                          actions=("pull", "push"), headers={"Content-Type": media_type}, body=data, retry=True) as resp:
            if resp.status not in (200, 201):
                self._fail(resp, f"writing manifest to {self.host}/{repository}")
            return resp.header("docker-content-digest")

    def _paged(self, path: str, key: str, repository: str = "", actions: tuple[str, ...] = ("pull",)) -> list[str]:
        out: list[str] = []
        url = path
        for _ in range(MAX_PAGES):
            with self.request("GET", url, repository=repository, actions=actions) as resp:
                if resp.status != 200:
                    self._fail(resp, f"listing {key} of {self.host}{('/' + repository) if repository else ''}",
                               not_found=ManifestUnknown)
                body = resp.read(16 << 20)
                link = resp.header("link")
            try:
                items = json.loads(body).get(key) or []
            except (ValueError, AttributeError):
                raise RegistryError(f"listing {key} of {self.host}: invalid JSON") from None
            out += [str(i) for i in items]
            nxt = _next_link(link)
            if not nxt:
                return out
            url = nxt
        return out

    def tags(self, repository: str) -> list[str]:
        return self._paged(f"/v2/{repository}/tags/list", "tags", repository)

    def catalog(self) -> list[str]:
        return self._paged("/v2/_catalog?n=1000", "repositories", actions=("catalog",))


def _pieces(source: BinaryIO, n: int, piece: int = 1 << 20) -> Iterator[bytes]:
    """n bytes of source, a piece at a time (a short file is an error, not a short body)."""
    while n > 0:
        data = source.read(min(piece, n))
        if not data:
            raise RegistryError("the layer blob ended before its recorded size")
        n -= len(data)
        yield data


def _next_link(link: str) -> str:
    """The rel="next" target of a Link header ("</v2/_catalog?last=x&n=100>; rel=\"next\"")."""
    for part in link.split(","):
        url, _, params = part.partition(";")
        if 'rel="next"' in params.replace(" ", "") or "rel=next" in params.replace(" ", ""):
            return url.strip().strip("<>")
    return ""
