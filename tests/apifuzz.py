"""A property-based fuzzer for the REST service: every route the router
has, with path parameters, queries and bodies drawn by Hypothesis from what
each route declares (api/validate.py) and from anything at all.

The property: whatever the request, the answer is not a 5xx, and the
service logs no internal error.  Used by tests/integration/test_api_fuzz.py
(a moderate run in the suite) and bench/fuzz_api.py (10,000 and more).

Requests go over a raw unix socket so nothing on the client side tidies
them up.  The service and every command the fuzzer runs live in a network
namespace of their own with only a loopback: a fuzzed pull, push, login or
search of some registry name reaches no host but this one, and the bridges
and rules of fuzzed networks and ports go with the namespace.  Routes that can wait on a container (wait, attach, logs and
events that follow, exec starts) are read only up to their status line.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import time
import urllib.parse
import zlib
from dataclasses import dataclass, field

from hypothesis import strategies as st

from pypod.proto import jsonshape as js

#: routes whose answer may be a stream that lasts as long as a container
STREAMING = ("wait", "attach", "logs", "events", "start", "get", "stats", "export")


def raw_request(sock_path: str, data: bytes, timeout: float) -> tuple[int, bytes]:
    """Send one request; return (status, what was read) (status 0: none came).
    Read up to the status line, and on to the end of a 5xx (its message says
    whose fault it was)."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    out = b""
    try:
        s.connect(sock_path)
        s.sendall(data)
        while b"\r\n" not in out or (out.startswith(b"HTTP/1.1 5") and len(out) < 4096):
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except (socket.timeout, ConnectionResetError, BrokenPipeError):
        pass
    finally:
        s.close()
    if out.startswith(b"HTTP/") and len(out.split(b" ", 2)) > 1:
        try:
            return int(out.split(b" ", 2)[1]), out
        except ValueError:
            pass
    return 0, out


# -- what to send -------------------------------------------------------------------------

json_leaves = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
               | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=24))
json_values = st.recursive(json_leaves, lambda kids: st.lists(kids, max_size=4)
                           | st.dictionaries(st.text(max_size=12), kids, max_size=4), max_leaves=16)
#: strings a path or a value often holds, and some that break things
odd_text = st.sampled_from(["", " ", "..", "../../etc/passwd", "a/b", "%00", "\x00", "é", "busybox", "latest",
                            "0", "-1", "1e3", "true", "null", "{}", "[]", "x" * 300, "\n", "\r\n", ";", "$(id)",
                            "KILL", "SIGTERM", "99999", "2" * 30])


def value_for(schema) -> st.SearchStrategy:
    """A JSON value for schema: mostly of its shape (in and out of range),
    sometimes anything at all."""
    junk = json_values | odd_text
    if isinstance(schema, js.Bool):
        good = st.booleans()
    elif isinstance(schema, js.Int):
        good = st.integers(min_value=schema.lo, max_value=min(schema.hi, schema.lo + 10**6)) | st.integers(
            min_value=-(2**80), max_value=2**80)
    elif isinstance(schema, js.Str):
        good = st.sampled_from(schema.choices) if schema.choices else (st.text(max_size=30) | odd_text)
    elif isinstance(schema, js.List):
        good = st.lists(value_for(schema.item), max_size=4)
    elif isinstance(schema, js.Map):
        good = st.dictionaries(st.text(max_size=10), value_for(schema.value), max_size=4)
    elif isinstance(schema, js.Obj):
        good = st.fixed_dictionaries({}, optional={k: value_for(v) for k, v in schema.fields.items()})
    elif isinstance(schema, js.OneOf):
        good = st.one_of(*[value_for(o) for o in schema.options])
    else:
        return junk
    return st.one_of(good, good, good, junk)


def query_value(param) -> st.SearchStrategy:
    from pypod.api import validate as v

    kind = type(param).__name__
    if kind == "_QBool":
        good = st.sampled_from(["1", "0", "true", "false", "True", ""])
    elif kind == "_QInt":
        good = st.integers(min_value=max(param.lo, -5), max_value=min(param.hi, 30)).map(str) | st.integers(
            min_value=-(2**70), max_value=2**70).map(str)
    elif kind == "_QStr" and param.choices:
        good = st.sampled_from(param.choices)
    elif kind == "_QJSON":
        good = value_for(v.FILTERS).map(lambda x: json.dumps(x))
    elif kind == "_QTime":
        good = st.sampled_from(["10m", "1h", "2020-01-01T00:00:00Z", "1700000000", "0", "abc", "-5s"])
    else:
        good = st.text(max_size=20) | odd_text
    return st.one_of(good, good, st.text(max_size=20) | odd_text)


@dataclass
class Pool:
    """Names the fuzzer may put in path parameters: real ones and others."""

    containers: list[str] = field(default_factory=list)
    execs: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    pods: list[str] = field(default_factory=list)

    def for_param(self, parts: list[str]) -> st.SearchStrategy:
        """Names for a route's path parameter: the real ones of the kind its
        path names (a network route's {id} is a network), and any text."""
        kinds = {"containers": self.containers, "exec": self.execs, "images": self.images, "volumes": self.volumes,
                 "networks": self.networks, "pods": self.pods}
        real = next((kinds[p] for p in parts if p in kinds), self.containers + self.images)
        other = st.text(min_size=1, max_size=20).filter(lambda t: "/" not in t) | odd_text.filter(bool)
        return st.sampled_from(real) | other if real else other


@dataclass
class FuzzRequest:
    method: str
    path: str
    query: dict
    body: bytes | None
    streaming: bool
    registry_auth: str | None = None

    def encode(self) -> bytes:
        target = self.path + ("?" + urllib.parse.urlencode(self.query) if self.query else "")
        head = f"{self.method} {target} HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n"
        if self.registry_auth is not None:
            head += f"X-Registry-Auth: {self.registry_auth}\r\n"
        body = self.body if self.body is not None else b""
        if self.body is not None:
            head += "Content-Type: application/json\r\n"
        head += f"Content-Length: {len(body)}\r\n\r\n"
        return head.encode("latin-1", "replace") + body


#: credentials as Docker's clients send them (base64url JSON), in and out of shape
registry_auth = st.none() | st.none() | (json_values | st.dictionaries(
    st.sampled_from(["username", "password", "identitytoken", "localhost", "docker.io"]), json_values, max_size=3)).map(
    lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).decode()) | st.text(
    st.characters(min_codepoint=33, max_codepoint=126), max_size=30)


def requests(routes: list, pool: Pool) -> st.SearchStrategy:
    """A strategy over every route: (method, pattern, handler) from Router.routes."""

    def for_route(route):
        method, parts, handler = route
        params = {p[1:-1].rstrip("*"): pool.for_param(parts) for p in parts if p.startswith("{")}
        qspec = getattr(handler, "query_spec", {}) or {}
        bspec = getattr(handler, "body_spec", None)
        query = st.fixed_dictionaries({}, optional={k: query_value(q) for k, q in qspec.items()})
        extra = st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=10), max_size=2)
        if bspec is not None:
            body = value_for(bspec).map(lambda b: json.dumps(b).encode())
        else:
            body = st.none() | json_values.map(lambda b: json.dumps(b).encode())
        body = body | st.binary(max_size=40) | st.just(b"[" * 5000)

        @st.composite
        def build(draw):
            values = {k: draw(s) for k, s in params.items()}
            segs = [urllib.parse.quote(values[p[1:-1].rstrip("*")], safe="") if p.startswith("{") else p for p in parts]
            q = {**draw(extra), **draw(query)}
            return FuzzRequest(method, "/" + "/".join(segs), q, draw(body),
                               any(w in parts for w in STREAMING) or parts[-1] in STREAMING, draw(registry_auth))

        return build()

    return st.one_of(*[for_route(r) for r in routes])


# -- the service and its world --------------------------------------------------------------


class Service:
    """A `pypod system service` on a unix socket with its own root, and the
    containers, exec session, image and volume the fuzzer aims at."""

    SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.2; done"]

    def __init__(self, pypod_argv: list[str], sock: str):
        self.netns = f"pypod-fuzz-{os.getpid()}-{zlib.crc32(sock.encode()):08x}"
        self.argv = ["nsenter", f"--net=/run/netns/{self.netns}", *pypod_argv]
        self.sock = sock
        self.proc = None
        self.stderr_path = sock + ".stderr"

    def cli(self, *args: str, check: bool = True) -> str:
        p = subprocess.run([*self.argv, *args], capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise AssertionError(f"pypod {' '.join(args)}: {p.stderr.decode(errors='replace')}")
        return p.stdout.decode().strip()

    def make_netns(self) -> None:
        subprocess.run(["ip", "netns", "add", self.netns], check=True, capture_output=True)
        subprocess.run(["ip", "-n", self.netns, "link", "set", "lo", "up"], check=True, capture_output=True)

    def start(self) -> None:
        self.make_netns()
        self.err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen([*self.argv, "system", "service", "--time", "0", f"unix://{self.sock}"],
                                     stdout=subprocess.DEVNULL, stderr=self.err)
        deadline = time.monotonic() + 20
        while not os.path.exists(self.sock):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError("the service did not start: " + open(self.stderr_path).read())
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.err.close()

    def clean(self) -> None:
        """Remove what the requests made, from inside the namespace (a network's
        teardown must find its bridge), then the namespace."""
        try:
            for args in (("rm", "-af", "-t", "0"), ("pod", "rm", "-af", "-t", "0"), ("network", "prune", "-f"),
                         ("volume", "rm", "-af")):
                self.cli(*args, check=False)
        finally:
            subprocess.run(["ip", "netns", "del", self.netns], capture_output=True)

    def log(self) -> str:
        with open(self.stderr_path, errors="replace") as f:
            return f.read()

    def world(self) -> Pool:
        """(Re)make what the requests aim at; cheap when it is all there."""
        have = set(self.cli("ps", "-a", "--format", "{{.Names}}").split())
        if "fz-run" not in have:
            self.cli("run", "-d", "--name", "fz-run", "busybox", *self.SLEEPER)
        else:
            status = json.loads(self.cli("inspect", "fz-run"))[0]["State"]["Status"]
            if status == "paused":
                self.cli("unpause", "fz-run", check=False)
            elif status != "running":
                self.cli("start", "fz-run", check=False)
        if "fz-new" not in have:
            self.cli("create", "--name", "fz-new", "busybox", "true")
        self.cli("volume", "create", "--ignore", "fz-vol", check=False)
        pool = Pool(containers=["fz-run", "fz-new"], images=["busybox", "localhost/busybox:latest"], volumes=["fz-vol"])
        # networks and pods where this pypod has them (--ignore: already made)
        if self.cli("network", "create", "--ignore", "fz-net", check=False) or self.exists("network", "fz-net"):
            pool.networks = ["fz-net", "podman"]
        if self.exists("pod", "fz-pod") or self.cli("pod", "create", "--name", "fz-pod", check=False):
            pool.pods = ["fz-pod"]
        pool.containers += [self.cli("inspect", "--format", "{{.Id}}", "fz-run", check=False)]
        return pool

    def exists(self, kind: str, name: str) -> bool:
        return subprocess.run([*self.argv, kind, "exists", name], capture_output=True, timeout=60,
                              stdin=subprocess.DEVNULL).returncode == 0

    def exec_session(self, container: str) -> str:
        """A created (never started) exec session id, made over the API itself."""
        status, doc = http_call(self.sock, "POST", f"/containers/{container}/exec", {"Cmd": ["true"]})
        return doc["Id"] if status == 201 else "nosuchexec"


def http_call(sock: str, method: str, path: str, body=None, timeout: float = 30) -> tuple[int, object]:
    """One whole request and its JSON answer (a chunked one put together)."""
    data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = (f"{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Type: application/json\r\n"
           f"Content-Length: {len(data)}\r\n\r\n").encode() + data
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(sock)
    s.sendall(req)
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    s.close()
    from tests.integration.test_api import body_of

    status, payload = int(out.split(b" ", 2)[1]), body_of(out)
    try:
        return status, json.loads(payload) if payload.strip() else None
    except ValueError:
        return status, None


#: what a 500 says when the registry a request names cannot be reached (the
#: fuzzer's namespace reaches none): Docker answers that 500 too, an upstream
#: failure rather than pypod's
UNREACHABLE_REGISTRY = b"dial tcp"


@dataclass
class Tally:
    sent: int = 0
    by_status: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)
    unreachable: int = 0
    #: requests that got no status line in time: (streaming?, method, path)
    unanswered: list = field(default_factory=list)

    def add(self, req: FuzzRequest, status: int, head: bytes) -> None:
        self.sent += 1
        self.by_status[status] = self.by_status.get(status, 0) + 1
        if status == 0:
            self.unanswered.append((req.streaming, req.method, req.path))
        if status == 500 and UNREACHABLE_REGISTRY in head:
            self.unreachable += 1
        elif status >= 500:
            self.failures.append((req.method, req.path, req.query, (req.body or b"")[:200], head[:600]))


def send(service: Service, req: FuzzRequest, tally: Tally) -> int:
    status, head = raw_request(service.sock, req.encode(), timeout=3 if req.streaming else 60)
    tally.add(req, status, head)
    return status
