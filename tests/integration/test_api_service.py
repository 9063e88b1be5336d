"""`pypod system service` itself: where it listens and with what mode,
socket activation, TCP only when asked, SIGTERM, the idle timer, and a
second bounded fuzz over the libpod routes and the HTTP layer."""

from __future__ import annotations

import grp
import json
import os
import random
import signal
import socket
import stat
import subprocess
import time

import pytest

from tests.conftest import wait_for
from tests.integration.test_api import raw, status_of

PING = b"GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n"


def _start(pypod, *args, **kw):
    return subprocess.Popen([*pypod.argv, "system", "service", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, **kw)


def _stop(proc) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


def test_default_socket_under_runroot_and_group_mode(pypod, tmp_path):
    proc = _start(pypod, "--time", "0")
    sock = os.path.join(pypod.runroot, "pypod.sock")
    try:
        assert wait_for(lambda: os.path.exists(sock), timeout=15)
        assert stat.S_IMODE(os.stat(sock).st_mode) == 0o600
        assert status_of(raw(sock, PING)) == 200
    finally:
        assert _stop(proc) == 0
    assert not os.path.exists(sock)
    group = grp.getgrgid(1).gr_name  # any group that exists but root's
    path = str(tmp_path / "g.sock")
    proc = _start(pypod, "--time", "0", "--group", group, f"unix://{path}")
    try:
        assert wait_for(lambda: os.path.exists(path), timeout=15)
        st = os.stat(path)
        assert stat.S_IMODE(st.st_mode) == 0o660 and grp.getgrgid(st.st_gid).gr_name == group
    finally:
        _stop(proc)
    # a group that does not exist is an error, not a world-open socket
    p = subprocess.run([*pypod.argv, "system", "service", "--time", "1", "--group", "no-such-group-x",
                        f"unix://{tmp_path / 'bad.sock'}"], capture_output=True, timeout=30)
    assert p.returncode == 125 and b"no-such-group-x" in p.stderr
    assert not os.path.exists(tmp_path / "bad.sock")


def test_socket_path_longer_than_sun_path(pypod, tmp_path):
    """A socket path beyond sockaddr_un's 108 bytes is still served (and
    reached the way conmon's attach sockets are: through the directory's fd)."""
    d = tmp_path / ("d" * 60) / ("e" * 60)
    d.mkdir(parents=True)
    path = str(d / "api.sock")
    assert len(path) > 108
    proc = _start(pypod, "--time", "0", f"unix://{path}")
    try:
        assert wait_for(lambda: os.path.exists(path), timeout=15)
        dfd = os.open(str(d), os.O_PATH)
        try:
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(10)
            s.connect(f"/proc/self/fd/{dfd}/api.sock")
        finally:
            os.close(dfd)
        s.sendall(PING)
        assert s.recv(100).startswith(b"HTTP/1.1 200")
        s.close()
    finally:
        assert _stop(proc) == 0
    assert not os.path.exists(path)


def test_tcp_only_when_asked_with_a_warning(pypod):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    proc = _start(pypod, "--time", "0", f"tcp://127.0.0.1:{port}")
    try:
        def ping():
            try:
                c = socket.create_connection(("127.0.0.1", port), timeout=5)
            except OSError:
                return b""
            c.sendall(PING)
            out = b""
            while True:
                d = c.recv(4096)
                if not d:
                    return out
                out += d

        assert wait_for(lambda: status_of(ping()) == 200, timeout=15)
    finally:
        _stop(proc)
    assert b"WARN" in proc.stderr.read()


def test_socket_activation(pypod, tmp_path):
    """A listener handed over at fd 3 (LISTEN_FDS/LISTEN_PID) is served, and
    the variables do not reach containers."""
    path = str(tmp_path / "activated.sock")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen(16)
    fd = listener.fileno()
    argv = [*pypod.argv, "system", "service", "--time", "0"]
    # LISTEN_PID must be the service's own pid: the shell that execs it sets it
    script = 'export LISTEN_PID=$$; exec "$@"'
    proc = subprocess.Popen(["sh", "-c", script, "sh", *argv], env={**os.environ, "LISTEN_FDS": "1"},
                            # fd 3 survives close_fds; the dup2 (run before the closing) puts the listener there
                            pass_fds=(3,), preexec_fn=None if fd == 3 else (lambda: os.dup2(fd, 3)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    listener.close()
    try:
        assert wait_for(lambda: status_of(raw(path, PING, timeout=2)) == 200, timeout=15)
        docker = pytest.importorskip("docker")
        c = docker.DockerClient(base_url=f"unix://{path}", version="1.41")
        out = c.containers.run("busybox", ["sh", "-c", "echo ${LISTEN_FDS:-none}"], remove=True)
        assert out == b"none\n"
    finally:
        assert _stop(proc) == 0
    assert os.path.exists(path)  # not the service's to remove: whoever made it keeps it


def test_sigterm_is_graceful_with_streams_open(pypod, tmp_path):
    path = str(tmp_path / "term.sock")
    proc = _start(pypod, "--time", "0", f"unix://{path}")
    assert wait_for(lambda: os.path.exists(path), timeout=15)
    events = socket.socket(socket.AF_UNIX)
    events.connect(path)
    events.sendall(b"GET /events HTTP/1.1\r\nHost: d\r\n\r\n")
    events.settimeout(10)
    assert events.recv(100).startswith(b"HTTP/1.1 200")
    idle = socket.socket(socket.AF_UNIX)  # a kept-alive connection between requests
    idle.connect(path)
    idle.sendall(b"GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n")
    idle.settimeout(10)
    assert idle.recv(1000).startswith(b"HTTP/1.1 200")
    t0 = time.monotonic()
    assert _stop(proc) == 0
    assert time.monotonic() - t0 < 5
    assert not os.path.exists(path)


def test_idle_time_counts_from_the_last_request(pypod, tmp_path):
    path = str(tmp_path / "idle.sock")
    proc = _start(pypod, "--time", "2", f"unix://{path}")
    assert wait_for(lambda: os.path.exists(path), timeout=15)
    for _ in range(4):  # kept busy past its idle time
        assert status_of(raw(path, PING)) == 200
        time.sleep(1)
    assert proc.poll() is None
    assert proc.wait(15) == 0


@pytest.fixture
def service(pypod, tmp_path):
    path = str(tmp_path / "api.sock")
    proc = _start(pypod, "--time", "0", f"unix://{path}")
    assert wait_for(lambda: os.path.exists(path), timeout=15)
    yield path
    _stop(proc)


def _http(method: str, path: str, body: bytes = b"", headers: bytes = b"") -> bytes:
    return (b"%s %s HTTP/1.1\r\nHost: d\r\n%sContent-Length: %d\r\nConnection: close\r\n\r\n%s"
            % (method.encode(), path.encode(), headers, len(body), body))


def test_fuzz_libpod_and_http_layer(service, pypod):
    """Bad SpecGenerators, bad exec bodies, garbage on hijack routes, broken
    framing and header floods: no 5xx, nothing changed, still answering."""
    cid = pypod.out("run", "-d", "--name", "keep2", "busybox", "sleep", "1000")
    before = pypod.out("ps", "-a", "--format", "{{.ID}}:{{.Names}}")
    images_before = pypod.out("images", "-q")
    rng = random.Random(99)
    specs = [b"{}", b'{"image": ""}', b'{"image": "busybox", "command": "x"}', b'{"image": "busybox", "env": ["A"]}',
             b'{"image": "busybox", "stop_timeout": "x"}', b'{"image": "busybox", "mounts": [1]}',
             b'{"image": "busybox", "mounts": [{"destination": "rel"}]}', b'{"image": "busybox", "netns": {"nsmode": "x"}}',
             b'{"image": "busybox", "netns": "host"}', b'{"image": "busybox", "mounts": [{"destination": 5}]}',
             b'{"image": "busybox", "name": "../../etc"}', b'{"image": "busybox", "labels": {"a": {}}}',
             b'{"image": "no/such:img"}', b"[1,2]", b'{"image": "busybox", "stop_signal": "NOPE"}', b"\x00\x01"]
    routes = [("POST", "/v4.3.1/libpod/containers/create", specs),
              ("POST", f"/v4.3.1/libpod/containers/{cid}/exec", [b'{"Cmd": []}', b'{"Cmd": "x"}', b'{"Cmd": [1]}', b"{",
                                                               b'{"Cmd": ["true"], "Env": {"a": 1}}',
                                                               b'{"Cmd": ["true"], "DetachKeys": "ctrl-"}']),
              ("POST", "/v1.41/exec/nope/start", [b'{"Detach": false}', b"{"]),
              ("POST", "/v1.41/exec/nope/resize?h=x", [b""]),
              ("POST", f"/containers/{cid}/attach?stream=1&stdin=1&detachKeys=bad-keys", [b""]),
              ("POST", f"/containers/{cid}/resize?h=-1&w=x", [b""]),
              ("POST", f"/containers/{cid}/kill?signal=SIGNOPE", [b""]),
              ("GET", "/containers/json?filters=%7Bbad", [b""]),
              ("GET", "/containers/json?filters=%7B%22nope%22%3A%5B%22x%22%5D%7D", [b""]),
              ("GET", "/containers/json?limit=abc&all=maybe", [b""]),
              ("GET", f"/containers/{cid}/logs?stdout=1&tail=abc", [b""]),
              ("GET", "/events?since=yesterday-ish", [b""]),
              ("POST", "/images/load", [b"not a tar", b"\x1f\x8b garbage"]),
              ("POST", "/v4.3.1/libpod/images/load", [b"not a tar"]),
              ("POST", "/images/create?fromImage=nope//nope&tag=x", [b""]),
              ("POST", "/images/busybox/tag", [b""]),
              ("POST", "/images/busybox/tag?repo=BAD%20NAME", [b""]),
              ("DELETE", "/images/no-such-image", [b""]),
              ("DELETE", "/v4.3.1/libpod/images/remove?images=nope", [b""]),
              ("POST", "/v4.3.1/libpod/images/pull?reference=", [b""]),
              ("GET", "/../../etc/passwd", [b""]),
              ("PUT", "/containers/create", [b""])]
    deadline = time.monotonic() + 60
    bad = []
    sent = 0
    while sent < 1200 and time.monotonic() < deadline:
        k = rng.random()
        if k < 0.7:
            method, path, bodies = rng.choice(routes)
            req = _http(method, path, rng.choice(bodies), b"Content-Type: application/json\r\n")
        elif k < 0.8:  # broken chunked bodies
            req = (b"POST /containers/create HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                   + rng.choice([b"zz\r\n", b"5\r\n{\"Im\r\n0\r\n\r\n", b"ffffffff\r\nabc", b"-1\r\n"]))
        elif k < 0.9:  # header floods and bad request lines
            req = rng.choice([b"GET /_ping HTTP/1.1\r\n" + b"X-A: b\r\n" * 200 + b"\r\n",
                              b"GET /_ping HTTP/9.9\r\n\r\n", b"GET\r\n\r\n", b"\r\n\r\n",
                              b"POST /containers/create HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                              b"POST /containers/create HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n"])
        else:  # hijack requests cut right after the headers
            req = _http("POST", f"/containers/{cid}/attach?stream=1&stdout=1&stdin=1", b"",
                        b"Upgrade: tcp\r\nConnection: Upgrade\r\n")
        resp = raw(service, req, timeout=0.5 if k >= 0.9 else 10)
        if status_of(resp) >= 500:
            bad.append((req[:150], resp[:300]))
        sent += 1
    assert bad == []
    assert status_of(raw(service, PING)) == 200
    assert pypod.out("ps", "--format", "{{.ID}}:{{.Names}}") == before  # the same one, still running
    assert len(pypod.out("ps", "-a", "-q").splitlines()) == 1
    assert pypod.out("images", "-q") == images_before
    assert pypod.out("exec", "keep2", "echo", "alive") == "alive"
    resp = raw(service, _http("GET", f"/v4.3.1/libpod/containers/{cid}/json"))
    assert json.loads(resp.split(b"\r\n\r\n", 1)[1])["State"]["Running"] is True
