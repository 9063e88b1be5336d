"""Real registries for the tests: Debian's docker-registry (the CNCF
distribution registry) on a free 127.0.0.1 port with a temporary config,
plain HTTP, with htpasswd basic auth, with TLS from a CA made here, or with
token auth from a small token server in this process; and the test images,
built here (busybox rootfs + generated layers) and pushed with skopeo.

The fixtures that use them are in conftest.py beside this file."""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import http.server
import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

REGISTRY_BIN = shutil.which("docker-registry") or "/usr/bin/docker-registry"
USER, PASSWORD = "tester", "s3cret-pw"


def needs(*tools: str):
    missing = [t for t in tools if not shutil.which(t) and not os.path.exists(t)]
    return pytest.mark.skipif(bool(missing), reason=f"{', '.join(missing)} not installed (scripts/setup.sh installs it)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- certificates ---------------------------------------------------------------------------


def _openssl(*args: str, cwd: str) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(d: str) -> tuple[str, str]:
    """A CA (ca.crt, ca.key) and a server certificate for 127.0.0.1 and localhost signed by it."""
    os.makedirs(d, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
             "-subj", "/CN=pypod test CA", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=127.0.0.1", cwd=d)
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.crt", "-days", "2", "-extfile", "ext.cnf", cwd=d)
    return os.path.join(d, "server.crt"), os.path.join(d, "server.key")


def make_client_cert(d: str) -> tuple[str, str]:
    """A client certificate (client.cert, client.key) signed by make_ca's CA in d."""
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key", "-out", "client.csr",
             "-subj", "/CN=pypod test client", cwd=d)
    with open(os.path.join(d, "client-ext.cnf"), "w") as f:
        f.write("extendedKeyUsage=clientAuth\n")
    _openssl("x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "client.cert", "-days", "2", "-extfile", "client-ext.cnf", cwd=d)
    return os.path.join(d, "client.cert"), os.path.join(d, "client.key")


# -- the token server ---------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    """Issues registry tokens (RS256 JWTs with the signing certificate in
    x5c, which the registry checks against its rootcertbundle).  Anonymous
    callers get pull; USER:PASSWORD gets pull and push; a wrong password, 401."""

    def __init__(self, d: str):
        self.dir = d
        os.makedirs(d, exist_ok=True)
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "token.key", "-out", "token.crt",
                 "-days", "2", "-subj", "/CN=pypod token issuer", cwd=d)
        self.key = os.path.join(d, "token.key")
        self.cert = os.path.join(d, "token.crt")
        der = subprocess.run(["openssl", "x509", "-in", self.cert, "-outform", "DER"], capture_output=True, check=True).stdout
        self.x5c = base64.b64encode(der).decode()
        self.requests: list[dict] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
                user = ""
                authz = self.headers.get("Authorization", "")
                if authz.startswith("Basic "):
                    user, _, pw = base64.b64decode(authz[6:]).decode().partition(":")
                    if (user, pw) != (USER, PASSWORD):
                        self.send_response(401)
                        self.send_header("Content-Type", "application/json")
                        body = b'{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}'
                        self.send_header("Content-Length", str(len(body)))
                        self.end_headers()
                        self.wfile.write(body)
                        return
                server.requests.append({"user": user, **q})
                token = server.token(q.get("service", ""), q.get("scope", ""), user)
                body = json.dumps({"token": token, "expires_in": 300}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.realm = f"http://127.0.0.1:{self.port}/token"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def token(self, service: str, scope: str, user: str) -> str:
        access = []
        for s in filter(None, scope.split(" ")):
            kind, _, rest = s.partition(":")
            name, _, actions = rest.rpartition(":")
            allowed = set(actions.split(","))
            if kind == "repository":
                allowed &= {"pull", "push"} if user else {"pull"}
            access.append({"type": kind, "name": name, "actions": sorted(allowed)})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]}
        claims = {"iss": "pypod-test-issuer", "sub": user, "aud": service, "exp": now + 300, "nbf": now - 10,
                  "iat": now, "jti": os.urandom(8).hex(), "access": access}
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.key], input=signing_input.encode(),
                             capture_output=True, check=True).stdout
        return f"{signing_input}.{_b64url(sig)}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# -- the registry ------------------------------------------------------------------------------


class Registry:
    def __init__(self, d: str, *, basic: bool = False, tls: bool = False, token: TokenServer | None = None,
                 access_log: bool = False, client_certs: bool = False):
        """client_certs (with tls): the registry requires a client
        certificate signed by its CA; client_cert/client_key are one."""
        self.dir = d
        os.makedirs(d, exist_ok=True)
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.tls = tls
        self.certs_dir = os.path.join(d, "certs.d")
        lines = ["version: 0.1", "log:", "  level: error", "  accesslog:", f"    disabled: {str(not access_log).lower()}",
                 "storage:",
                 "  filesystem:", f"    rootdirectory: {d}/data", "  delete:", "    enabled: true",
                 "  maintenance:", "    uploadpurging:", "      enabled: false",
                 "http:", f"  addr: 127.0.0.1:{self.port}", "  secret: pypod-tests"]
        if tls:
            crt, key = make_ca(os.path.join(d, "ca"))
            lines += ["  tls:", f"    certificate: {crt}", f"    key: {key}"]
            if client_certs:
                self.client_cert, self.client_key = make_client_cert(os.path.join(d, "ca"))
                lines += ["    clientcas:", f"      - {os.path.join(d, 'ca', 'ca.crt')}"]
            host_dir = os.path.join(self.certs_dir, self.host)
            os.makedirs(host_dir)
            shutil.copy(os.path.join(d, "ca", "ca.crt"), os.path.join(host_dir, "ca.crt"))
        if basic:
            pw = subprocess.run(["htpasswd", "-Bbn", USER, PASSWORD], capture_output=True, check=True).stdout
            with open(os.path.join(d, "htpasswd"), "wb") as f:
                f.write(pw)
            lines += ["auth:", "  htpasswd:", "    realm: pypod-test", f"    path: {d}/htpasswd"]
        if token:
            lines += ["auth:", "  token:", f"    realm: {token.realm}", "    service: pypod-test-registry",
                      "    issuer: pypod-test-issuer", f"    rootcertbundle: {token.cert}"]
        cfg = os.path.join(d, "config.yml")
        with open(cfg, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.log = open(os.path.join(d, "registry.log"), "wb")
        # REGISTRY_* variables override the registry's config (podman's REGISTRY_AUTH_FILE would be "auth.file").
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        self.proc = subprocess.Popen([REGISTRY_BIN, "serve", cfg], stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited: {open(os.path.join(d, 'registry.log')).read()}")
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            time.sleep(0.05)
        raise RuntimeError("docker-registry did not start listening")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()

    def skopeo(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["skopeo", "--insecure-policy", *args], capture_output=True, check=check, timeout=120,
                              stdin=subprocess.DEVNULL)

    def requests(self, method: str, fragment: str) -> int:
        """How many requests the access log shows (access_log=True)."""
        with open(os.path.join(self.dir, "registry.log"), errors="replace") as f:
            return sum(1 for line in f if f'"{method} ' in line and fragment in line)

    def catalog(self) -> list[str]:
        scheme = "https" if self.tls else "http"
        import ssl

        ctx = ssl.create_default_context(cafile=os.path.join(self.dir, "ca", "ca.crt")) if self.tls else None
        with urllib.request.urlopen(f"{scheme}://{self.host}/v2/_catalog", context=ctx, timeout=10) as r:
            return json.loads(r.read())["repositories"]


# -- the test images ------------------------------------------------------------------------------


def _tar(files: dict[str, bytes | None], mtime: int = 1700000000) -> bytes:
    """A layer tar; None makes a directory."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.mtime = mtime
            if data is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            else:
                info.size = len(data)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class OCILayout:
    """An OCI image layout directory that skopeo copies from (oci:DIR:TAG)."""

    def __init__(self, d: str):
        self.dir = d
        os.makedirs(os.path.join(d, "blobs", "sha256"), exist_ok=True)
        with open(os.path.join(d, "oci-layout"), "w") as f:
            f.write('{"imageLayoutVersion":"1.0.0"}')
        self.index: list[dict] = []

    def blob(self, data: bytes) -> dict:
        digest = _sha(data)
        with open(os.path.join(self.dir, "blobs", "sha256", digest[7:]), "wb") as f:
            f.write(data)
        return {"digest": digest, "size": len(data)}

    def image(self, layers: list[tuple[bytes, str]], config: dict, arch: str = "amd64") -> dict:
        """layers: (uncompressed tar, "gzip" | "zstd" | "plain"); returns the manifest descriptor."""
        descs, diff_ids = [], []
        for raw, comp in layers:
            if comp == "gzip":
                blob, mt = gzip.compress(raw, 6, mtime=0), "application/vnd.oci.image.layer.v1.tar+gzip"
            elif comp == "zstd":
                from pypod.storage.layers import zstd_module

                blob, mt = zstd_module().compress(raw), "application/vnd.oci.image.layer.v1.tar+zstd"
            else:
                blob, mt = raw, "application/vnd.oci.image.layer.v1.tar"
            descs.append({"mediaType": mt, **self.blob(blob)})
            diff_ids.append(_sha(raw))
        cfg = {"created": "2024-01-01T00:00:00Z", "architecture": arch, "os": "linux", "config": config,
               "rootfs": {"type": "layers", "diff_ids": diff_ids},
               "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "pypod tests"} for _ in layers]}
        cfg_bytes = json.dumps(cfg).encode()
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **self.blob(cfg_bytes)},
                    "layers": descs}
        mbytes = json.dumps(manifest).encode()
        return {"mediaType": "application/vnd.oci.image.manifest.v1+json", **self.blob(mbytes),
                "platform": {"architecture": arch, "os": "linux"}}

    def tag(self, desc: dict, tag: str) -> None:
        self.index.append({**desc, "annotations": {"org.opencontainers.image.ref.name": tag}})
        self._write()

    def tag_index(self, manifests: list[dict], tag: str) -> None:
        idx = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests}
        desc = {"mediaType": "application/vnd.oci.image.index.v1+json", **self.blob(json.dumps(idx).encode())}
        self.tag(desc, tag)

    def _write(self) -> None:
        with open(os.path.join(self.dir, "index.json"), "w") as f:
            json.dump({"schemaVersion": 2, "manifests": self.index}, f)


BUSYBOX_CONFIG = {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["sh"]}


def build_test_images(d: str) -> OCILayout:
    """Tags in the layout:
      app     busybox rootfs (gzip) + a data layer (gzip) + a zstd layer + a plain layer; CMD cat /data/hello
      multi   an index: app's amd64 image and a tiny arm64 one
      armonly an index with only the arm64 image
    """
    from pypod.storage.images import busybox_rootfs_tar

    binary = next(p for p in ("/bin/busybox", "/usr/bin/busybox") if os.path.isfile(p))
    rootfs = busybox_rootfs_tar(binary)
    layout = OCILayout(d)
    data = _tar({"data": None, "data/hello": b"hello from the registry\n"})
    zlayer = _tar({"data/zstd": b"zstd layer\n" * 100})
    plain = _tar({"data/plain": b"plain layer\n"})
    app = layout.image([(rootfs, "gzip"), (data, "gzip"), (zlayer, "zstd"), (plain, "plain")],
                       {**BUSYBOX_CONFIG, "Cmd": ["cat", "/data/hello"], "Labels": {"org.pypod.test": "app"}})
    layout.tag(app, "app")
    arm = layout.image([(_tar({"arm": b"arm64\n"}), "gzip")], {"Cmd": ["true"]}, arch="arm64")
    arm["platform"] = {"architecture": "arm64", "os": "linux", "variant": "v8"}
    layout.tag_index([app, arm], "multi")
    layout.tag_index([arm], "armonly")
    return layout


def push_layout(reg: Registry, layout: OCILayout, tag: str, repo: str, all_: bool = False) -> None:
    args = ["copy", "--quiet", "--dest-tls-verify=false"]
    if all_:
        args.append("--all")
    if reg.tls:
        args = ["copy", "--quiet", f"--dest-cert-dir={os.path.join(reg.certs_dir, reg.host)}"] + (["--all"] if all_ else [])
    p = reg.skopeo(*args, f"oci:{layout.dir}:{tag}", f"docker://{reg.host}/{repo}", check=False)
    assert p.returncode == 0, p.stderr.decode()


class Front:
    """A registry front on its own port that passes every request through
    to the registry, except where `intercept` takes it: intercept(front,
    handler) returns True when it answered the request itself.  Subclasses
    say what they intercept (redirects, failures)."""

    def __init__(self, backend: str):
        self.backend = backend
        front = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _pass(self):
                if front.intercept(self):
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                # the client's Host goes through: the registry's Location headers then name the front
                req = urllib.request.Request(f"http://{front.backend}{self.path}", data=body, method=self.command,
                                             headers=dict(self.headers.items()))
                try:
                    resp = urllib.request.urlopen(req, timeout=30)
                except urllib.error.HTTPError as e:
                    resp = e
                data = resp.read()
                self.send_response(resp.status if hasattr(resp, "status") else resp.code)
                for k, v in resp.headers.items():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    front.write_body(self, data)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def intercept(self, handler) -> bool:
        return False

    def write_body(self, handler, data: bytes) -> None:
        handler.wfile.write(data)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class RedirectingFront(Front):
    """Redirects blob downloads to the registry (307), as registries backed
    by object storage do."""

    def __init__(self, backend: str):
        self.redirects = 0
        super().__init__(backend)

    def intercept(self, handler) -> bool:
        if handler.command == "GET" and "/blobs/sha256:" in handler.path:
            self.redirects += 1
            handler.send_response(307)
            handler.send_header("Location", f"http://{self.backend}{handler.path}")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return True
        return False


class FlakyFront(Front):
    """Fails the first `failures` downloads of each blob (and commits of
    each upload): "503" answers Service Unavailable, "cut" sends half the
    body and closes the connection.  Counts the attempts per blob."""

    def __init__(self, backend: str, failures: int, mode: str = "503"):
        self.failures = failures
        self.mode = mode
        self.attempts: dict[str, int] = {}
        self._lock = threading.Lock()
        super().__init__(backend)

    def _blob(self, handler) -> str:
        """The blob a download (GET .../blobs/DIGEST) or an upload's commit
        (PUT ...?digest=DIGEST) is about."""
        if handler.command == "GET" and "/blobs/sha256:" in handler.path:
            return handler.path.rsplit("/", 1)[-1]
        if handler.command == "PUT" and "/blobs/uploads/" in handler.path:
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(handler.path).query)
            return query.get("digest", [""])[0]
        return ""

    def _failing(self, handler) -> bool:
        blob = self._blob(handler)
        if not blob:
            return False
        with self._lock:
            n = self.attempts[blob] = self.attempts.get(blob, 0) + 1
        return n <= self.failures

    def intercept(self, handler) -> bool:
        if self.mode == "503" and self._failing(handler):
            body = b'{"errors":[{"code":"UNAVAILABLE","message":"try again later"}]}'
            handler.send_response(503)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
            return True
        return False

    def write_body(self, handler, data: bytes) -> None:
        if self.mode == "cut" and self._failing(handler):
            handler.wfile.write(data[: len(data) // 2])
            handler.wfile.flush()
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)
            return
        handler.wfile.write(data)
