"""The REST service with the real clients: docker-py, podman-py, the docker
CLI, and hand-written raw-socket requests, against the real service."""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import socket
import stat
import subprocess
import tarfile
import time

import pytest

from tests.conftest import wait_for


@pytest.fixture
def service(pypod, tmp_path):
    sock = str(tmp_path / "api.sock")
    proc = subprocess.Popen([*pypod.argv, "system", "service", "--time", "0", f"unix://{sock}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert wait_for(lambda: os.path.exists(sock), timeout=15), proc.stderr.read() if proc.poll() is not None else ""
    yield sock
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def raw(sock_path: str, request: bytes, timeout: float = 10) -> bytes:
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(sock_path)
    out = b""
    try:
        s.sendall(request)
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except (socket.timeout, ConnectionResetError, BrokenPipeError):
        pass  # the server may answer (or hang up) before it read all of a bad request
    s.close()
    return out


def status_of(resp: bytes) -> int:
    return int(resp.split(b" ", 2)[1]) if resp.startswith(b"HTTP/") else 0


def body_of(resp: bytes) -> bytes:
    """A whole response's body, a chunked one put together."""
    head, _, body = resp.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" not in head.lower():
        return body
    chunks, rest = [], body
    while rest:
        size, _, rest = rest.partition(b"\r\n")
        n = int(size, 16)
        if n == 0:
            break
        chunks.append(rest[:n])
        rest = rest[n + 2:]
    return b"".join(chunks)


def test_socket_is_private_and_pings(service):
    assert stat.S_IMODE(os.stat(service).st_mode) == 0o600
    resp = raw(service, b"GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
    assert status_of(resp) == 200 and resp.endswith(b"OK")
    assert b"Api-Version: 1.41" in resp
    resp = raw(service, b"GET /v1.41/version HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
    assert json.loads(resp.split(b"\r\n\r\n", 1)[1])["ApiVersion"] == "1.41"


def test_docker_py(service):
    docker = pytest.importorskip("docker")
    c = docker.DockerClient(base_url=f"unix://{service}", version="1.41")
    assert c.ping()
    assert c.containers.run("busybox", ["sh", "-c", "echo hello; echo err >&2"], remove=True) == b"hello\n"
    with pytest.raises(docker.errors.ContainerError):
        c.containers.run("busybox", ["sh", "-c", "exit 4"], remove=True)
    ctr = c.containers.run("busybox", ["sleep", "1000"], detach=True, name="dpy")
    assert [x.name for x in c.containers.list()] == ["dpy"]
    assert ctr.exec_run(["sh", "-c", "echo in-exec; exit 3"]) == (3, b"in-exec\n")
    assert ctr.exec_run(["sh", "-c", "echo o; echo e >&2"], demux=True) == (0, (b"o\n", b"e\n"))
    api = c.api
    eid = api.exec_create(ctr.id, ["sh", "-c", "cat; exit 6"], stdin=True)["Id"]
    s = api.exec_start(eid, socket=True)._sock
    s.sendall(b"piped\n")
    s.shutdown(socket.SHUT_WR)  # half-close: the process sees EOF
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    assert data == b"\x01\x00\x00\x00\x00\x00\x00\x06piped\n"
    assert wait_for(lambda: api.exec_inspect(eid)["ExitCode"] == 6 and not api.exec_inspect(eid)["Running"])
    ctr.stop(timeout=0)
    assert ctr.wait()["StatusCode"] == 137
    ctr.remove()
    with pytest.raises(docker.errors.NotFound):
        c.containers.get("dpy")
    with pytest.raises(docker.errors.NotFound):
        c.containers.run("no-such-image", ["true"])


def test_docker_py_logs_and_attach(service):
    docker = pytest.importorskip("docker")
    c = docker.DockerClient(base_url=f"unix://{service}", version="1.41")
    ctr = c.containers.create("busybox", ["sh", "-c", "read line; echo got:$line; echo bye >&2"], stdin_open=True)
    s = ctr.attach_socket(params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})._sock
    ctr.start()
    s.sendall(b"abc\n")
    got = b""
    s.settimeout(10)
    while True:
        d = s.recv(4096)
        if not d:
            break
        got += d
    assert b"got:abc\n" in got and b"\x02\x00\x00\x00\x00\x00\x00\x04bye\n" in got
    assert ctr.wait()["StatusCode"] == 0
    assert ctr.logs(stdout=True, stderr=False) == b"got:abc\n"
    assert ctr.logs(stdout=False, stderr=True) == b"bye\n"
    assert ctr.logs(tail=1) in (b"got:abc\n", b"bye\n")
    ctr.remove()


def test_podman_py(service):
    podman = pytest.importorskip("podman")
    p = podman.PodmanClient(base_url=f"unix://{service}")
    assert p.ping()
    ctr = p.containers.create("busybox", command=["sh", "-c", "echo from-podman-py"])
    ctr.start()
    assert ctr.wait() == 0
    assert b"".join(ctr.logs()) == b"from-podman-py\n"
    ctr.remove()
    assert "localhost/busybox:latest" in [t for i in p.images.list() for t in i.tags]


@pytest.mark.skipif(not shutil.which("docker"), reason="the docker CLI is not installed")
def test_docker_cli(service):
    d = ["docker", "-H", f"unix://{service}"]
    p = subprocess.run([*d, "run", "--rm", "busybox", "sh", "-c", "echo cli; exit 5"], capture_output=True, timeout=60)
    assert p.returncode == 5 and p.stdout == b"cli\n"
    subprocess.run([*d, "run", "-d", "--name", "dc", "busybox", "sleep", "100"], check=True, capture_output=True, timeout=60)
    p = subprocess.run([*d, "exec", "dc", "sh", "-c", "echo dexec; exit 2"], capture_output=True, timeout=60)
    assert p.returncode == 2 and p.stdout == b"dexec\n"
    p = subprocess.run([*d, "exec", "-i", "dc", "cat"], input=b"through\n", capture_output=True, timeout=60)
    assert p.stdout == b"through\n"
    assert b"dc" in subprocess.run([*d, "ps"], capture_output=True, timeout=60).stdout
    subprocess.run([*d, "rm", "-f", "dc"], check=True, capture_output=True, timeout=60)
    assert subprocess.run([*d, "ps", "-aq"], capture_output=True, timeout=60).stdout == b""
    # `docker save a b` asks for both in one request (names=a&names=b)
    subprocess.run([*d, "tag", "busybox", "second:2"], check=True, capture_output=True, timeout=60)
    p = subprocess.run([*d, "save", "busybox", "second:2"], capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    with tarfile.open(fileobj=io.BytesIO(p.stdout)) as t:
        tags = {tag for entry in json.load(t.extractfile("manifest.json")) for tag in entry.get("RepoTags") or ()}
    assert {"second:2"} <= {tag.split("/")[-1] for tag in tags} and any("busybox" in tag for tag in tags), tags


def test_upgrade_framing_and_errors(service, pypod):
    cid = pypod.out("run", "-d", "busybox", "sleep", "1000")
    body = json.dumps({"Cmd": ["sh", "-c", "echo out; echo err >&2"], "AttachStdout": True, "AttachStderr": True}).encode()
    resp = raw(service, b"POST /containers/%s/exec HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\n"
                        b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (cid.encode(), len(body), body))
    assert status_of(resp) == 201
    eid = json.loads(resp.split(b"\r\n\r\n", 1)[1])["Id"]
    start = b'{"Detach": false, "Tty": false}'
    resp = raw(service, b"POST /exec/%s/start HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
                        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (eid.encode(), len(start), start))
    head, _, stream = resp.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 UPGRADED")
    from pypod.proto.docker_frames import FrameDecoder

    frames = FrameDecoder().feed(stream)
    assert sorted(frames) == [(1, b"out\n"), (2, b"err\n")]
    # Docker's error shapes
    for req, want in [
        (b"GET /containers/nope/json HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n", 404),
        (b"POST /containers/create HTTP/1.1\r\nHost: d\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{bad}", 400),
        (b"POST /containers/%s/start HTTP/1.1\r\nHost: d\r\nContent-Length: 0\r\nConnection: close\r\n\r\n" % cid.encode(), 304),
        (b"DELETE /containers/%s HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n" % cid.encode(), 409),
        (b"GET /exec/nope/json HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n", 404),
        (b"GET /images/nope/json HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n", 404),
        (b"GET /no/such/route HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n", 404),
    ]:
        resp = raw(service, req)
        assert status_of(resp) == want, (req, resp)
        if want >= 400:
            assert "message" in json.loads(resp.split(b"\r\n\r\n", 1)[1])


def test_fuzz_bad_requests_change_nothing(service, pypod):
    """Thousands of malformed requests: no 5xx, the service keeps answering,
    and no container is created, changed or removed."""
    cid = pypod.out("run", "-d", "--name", "keep", "busybox", "sleep", "1000")
    before = pypod.out("ps", "-a", "--format", "{{.ID}} {{.Status}}")
    rng = random.Random(1234)
    paths = ["/containers/create", f"/containers/{cid}/exec", "/containers/nope/start", "/exec/nope/start",
             "/images/load", "/containers/json", f"/containers/{cid}/kill", "/containers/create?name=../x"]
    bodies = [b"{", b"[]", b"null", b'{"Image": 5}', b'{"Image": "busybox", "Cmd": "x", "HostConfig": []}',
              b'{"Cmd": []}', b'{"Image": "no-such"}', b"\xff\xfe", b'{"Image": "busybox", "HostConfig": {"NetworkMode": "weird"}}']
    deadline = time.monotonic() + 60
    sent = 0
    fivexx = []
    while sent < 1500 and time.monotonic() < deadline:
        kind = rng.random()
        if kind < 0.6:
            path = rng.choice(paths)
            if "kill" in path:
                path += "?signal=" + rng.choice(["NOPE", "-1", "99999", ""])
            body = rng.choice(bodies)
            req = b"POST %s HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (
                path.encode(), len(body), body)
        elif kind < 0.8:
            req = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
        elif kind < 0.9:
            req = b"GET /_ping HTTP/1.1\r\nX-Big: " + b"a" * rng.randrange(70000, 90000) + b"\r\n\r\n"
        else:
            req = b"POST /containers/create HTTP/1.1\r\nContent-Length: 1000\r\n\r\n{\"Ima"  # cut short
        resp = raw(service, req, timeout=0.3 if kind >= 0.9 else 10)
        code = status_of(resp)
        if code >= 500:
            fivexx.append((req[:120], resp[:300]))
        sent += 1
    assert fivexx == []
    assert status_of(raw(service, b"GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")) == 200
    assert pypod.out("ps", "-a", "--format", "{{.ID}} {{.Status}}").split()[0] == before.split()[0]
    assert len(pypod.out("ps", "-a", "-q").splitlines()) == 1


def test_idle_timeout_exits(pypod, tmp_path):
    sock = str(tmp_path / "idle.sock")
    proc = subprocess.Popen([*pypod.argv, "system", "service", "--time", "1", f"unix://{sock}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert proc.wait(15) == 0
    assert not os.path.exists(sock)


# -- stdin in the same write as the request (api/server.py hands h11's buffer over) --


def _stream(s: socket.socket) -> bytes:
    got = b""
    while True:
        d = s.recv(65536)
        if not d:
            return got
        got += d


def _post(sock_path: str, path: str, body: dict) -> dict:
    data = json.dumps(body).encode()
    resp = raw(sock_path, b"POST %s HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                          b"Connection: close\r\n\r\n%s" % (path.encode(), len(data), data))
    assert status_of(resp) in (200, 201), resp
    return json.loads(resp.split(b"\r\n\r\n", 1)[1] or b"{}")


def test_exec_start_and_attach_with_stdin_in_the_request_write(service, pypod):
    from pypod.proto.docker_frames import FrameDecoder

    cid = pypod.out("run", "-d", "busybox", "sleep", "1000")
    for upgrade in (b"Connection: Upgrade\r\nUpgrade: tcp\r\n", b""):
        eid = _post(service, f"/containers/{cid}/exec", {"Cmd": ["cat"], "AttachStdin": True, "AttachStdout": True,
                                                        "AttachStderr": True})["Id"]
        start = b'{"Detach": false, "Tty": false}'
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(30)
        s.connect(service)
        s.sendall(b"POST /exec/%s/start HTTP/1.1\r\nHost: d\r\n%sContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n%s%s" % (eid.encode(), upgrade, len(start), start, b"same-write\n"))
        s.shutdown(socket.SHUT_WR)  # EOF on the process's stdin after those bytes
        head, _, stream = _stream(s).partition(b"\r\n\r\n")
        s.close()
        assert head.split(b"\r\n")[0] in (b"HTTP/1.1 101 UPGRADED", b"HTTP/1.1 200 OK")
        assert FrameDecoder().feed(stream) == [(1, b"same-write\n")]

    # attach before start, stdin in the same write; the container's cat echoes it
    created = _post(service, "/containers/create", {"Image": "busybox", "Cmd": ["cat"], "OpenStdin": True,
                                                    "StdinOnce": True, "AttachStdin": True, "AttachStdout": True})
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(30)
    s.connect(service)
    s.sendall(b"POST /containers/%s/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: d\r\n"
              b"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n%s" % (created["Id"].encode(), b"attached-stdin\n"))
    got = b""
    while b"\r\n\r\n" not in got:  # the 101: the attach is in place
        got += s.recv(65536)
    resp = raw(service, b"POST /containers/%s/start HTTP/1.1\r\nHost: d\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
               % created["Id"].encode())
    assert status_of(resp) == 204
    s.shutdown(socket.SHUT_WR)
    stream = got.partition(b"\r\n\r\n")[2] + _stream(s)
    s.close()
    assert FrameDecoder().feed(stream) == [(1, b"attached-stdin\n")]
