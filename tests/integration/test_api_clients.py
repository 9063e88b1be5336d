"""The REST service with the real clients beyond the basics of test_api.py:
docker-py's images, demux and logs, podman-py's exec, podman's own remote
client, the docker CLI with a TTY (through tmux), and the streams that
must not block other requests."""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import threading
import time

import pytest

from tests.conftest import wait_for
from tests.integration.test_api import raw, status_of


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


def _docker(sock):
    docker = pytest.importorskip("docker")
    return docker, docker.DockerClient(base_url=f"unix://{sock}", version="1.41")


def test_docker_py_images(service):
    docker, c = _docker(service)
    c.containers.run("busybox", ["true"], remove=True)  # builds the default image
    img = c.images.get("busybox")
    assert img.id.startswith("sha256:") and "localhost/busybox:latest" in img.tags
    assert c.images.get("localhost/busybox:latest").id == img.id  # a name with a slash in the path
    assert img.tag("example.org/team/bb", "v1")
    assert c.images.get("example.org/team/bb:v1").id == img.id
    assert any("example.org/team/bb:v1" in i.tags for i in c.images.list())
    archive = b"".join(c.api.get_image("example.org/team/bb:v1"))
    c.images.remove("example.org/team/bb:v1")  # one name of two: untagged, though a container used it
    with pytest.raises(docker.errors.ImageNotFound):
        c.images.get("example.org/team/bb:v1")
    loaded = c.images.load(archive)
    assert loaded and loaded[0].id == img.id
    assert c.images.get("example.org/team/bb:v1").id == img.id
    # a pull goes to the registry (tests/registry/ has them); one that is unreachable says so
    with pytest.raises(docker.errors.APIError) as e:
        c.images.pull("127.0.0.1:1/none", tag="x")
    assert "connection refused" in str(e.value)
    df = c.df()
    assert df["Images"] and "LayersSize" in df


def test_docker_py_demux_logs_and_inspect(service):
    docker, c = _docker(service)
    api = c.api
    ctr = c.containers.run("busybox", ["sh", "-c", "trap 'exit 130' INT; echo started; while :; do sleep 0.1; done"],
                           detach=True, name="dm", labels={"team": "a"}, environment=["FOO=bar"])
    eid = api.exec_create(ctr.id, ["sh", "-c", "echo o; echo e >&2"])["Id"]
    assert api.exec_start(eid, demux=True) == (b"o\n", b"e\n")
    assert api.exec_inspect(eid)["ExitCode"] == 0
    d = api.inspect_container("dm")
    assert d["Name"] == "/dm" and d["State"]["Running"] and d["State"]["Status"] == "running"
    assert d["State"]["Pid"] > 0 and d["Image"].startswith("sha256:") and d["Config"]["Labels"]["team"] == "a"
    assert "FOO=bar" in d["Config"]["Env"] and d["HostConfig"]["NetworkMode"] in ("bridge", "none")  # the tests' default mode is none
    assert [x["Names"] for x in api.containers(filters={"label": "team=a"})] == [["/dm"]]
    assert api.containers(filters={"label": "team=b"}) == []
    assert wait_for(lambda: ctr.logs() == b"started\n")
    assert ctr.logs(timestamps=True).split(b" ", 1)[1] == b"started\n"
    top = api.top(ctr.id)
    assert any("sh -c" in " ".join(p) for p in top["Processes"])
    # follow: the stream stays open and brings new lines, while other requests are answered
    follow = api.logs(ctr.id, stream=True, follow=True)
    assert next(follow) == b"started\n"
    t0 = time.monotonic()
    assert c.ping() and c.containers.list()
    assert time.monotonic() - t0 < 5
    ctr.pause()
    assert api.inspect_container(ctr.id)["State"]["Paused"]
    ctr.unpause()
    ctr.kill(signal="SIGINT")
    assert ctr.wait(timeout=20)["StatusCode"] == 130
    assert list(follow) == []
    ctr.remove()


def test_docker_py_exec_socket_pipelined_and_errors(service, pypod):
    cid = pypod.out("run", "-d", "busybox", "sleep", "1000")
    # stdin in the very packet of the request: the bytes the HTTP parser
    # buffered must reach the process
    body = json.dumps({"Cmd": ["cat"], "AttachStdin": True, "AttachStdout": True, "AttachStderr": True}).encode()
    resp = raw(service, b"POST /containers/%s/exec HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\n"
                        b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (cid.encode(), len(body), body))
    eid = json.loads(resp.split(b"\r\n\r\n", 1)[1])["Id"]
    start = b'{"Detach": false, "Tty": false}'
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(20)
    s.connect(service)
    s.sendall(b"POST /exec/%s/start HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
              b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (eid.encode(), len(start), start)
              + b"pipelined-stdin\n")
    s.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    head, _, stream = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101") and stream == b"\x01\x00\x00\x00\x00\x00\x00\x10pipelined-stdin\n"
    # a command that does not exist: the error arrives on the hijacked stream, the code in inspect
    docker, c = _docker(service)
    eid = c.api.exec_create(cid, ["/no/such/cmd"])["Id"]
    out = c.api.exec_start(eid)
    assert b"Error:" in out
    assert c.api.exec_inspect(eid)["ExitCode"] == 127
    # starting a session twice is a plain HTTP 409, not a hijacked stream
    with pytest.raises(docker.errors.APIError) as e:
        c.api.exec_start(eid)
    assert e.value.status_code == 409
    # a few MiB of output arrive whole
    ctr = c.containers.get(cid)
    code, out = ctr.exec_run(["sh", "-c", "head -c 3000000 /dev/zero"])
    assert code == 0 and out == b"\0" * 3000000
    # a detached exec runs on its own and its end is recorded
    eid = c.api.exec_create(cid, ["sh", "-c", "exit 9"])["Id"]
    c.api.exec_start(eid, detach=True)
    assert wait_for(lambda: c.api.exec_inspect(eid)["ExitCode"] == 9 and not c.api.exec_inspect(eid)["Running"], timeout=20)


def test_docker_py_attach_half_close_and_wait_conditions(service):
    docker, c = _docker(service)
    ctr = c.containers.create("busybox", ["sh", "-c", "cat; echo done"], stdin_open=True)
    s = ctr.attach_socket(params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})._sock
    ctr.start()
    s.sendall(b"one\n")
    s.shutdown(socket.SHUT_WR)  # the process's cat sees EOF and exits
    s.settimeout(20)
    got = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        got += d
    # Docker frames, all on stdout; how the bytes split into frames is the
    # pipe's business (conmon may read "one\ndone\n" in one go)
    streams, payload = set(), b""
    while got:
        assert len(got) >= 8 and got[1:4] == b"\0\0\0", got
        size = int.from_bytes(got[4:8], "big")
        streams.add(got[0])
        payload += got[8:8 + size]
        got = got[8 + size:]
    assert streams == {1} and payload == b"one\ndone\n"
    assert ctr.wait(timeout=20)["StatusCode"] == 0
    # wait(condition=removed) answers only once the container is gone
    result = {}
    t = threading.Thread(target=lambda: result.update(ctr.wait(condition="removed", timeout=30)))
    t.start()
    time.sleep(0.5)
    assert t.is_alive()
    ctr.remove()
    t.join(20)
    assert result == {"StatusCode": 0, "Error": None}


def test_events_stream_and_filters(service, pypod):
    docker, c = _docker(service)
    since = int(time.time()) - 1
    c.containers.run("busybox", ["true"], name="ev1", remove=True)
    until = int(time.time()) + 1
    evs = list(c.events(since=since, until=until, decode=True, filters={"type": "container", "container": "ev1"}))
    actions = [e["Action"] for e in evs]
    assert "start" in actions and "remove" in actions
    assert all(e["Actor"]["Attributes"]["name"] == "ev1" for e in evs)
    # live: an event written after the stream opened arrives on it, and nothing older
    stream = c.events(decode=True, filters={"type": "container", "event": "start"})
    time.sleep(0.3)
    c.containers.run("busybox", ["true"], name="ev2", remove=True)
    ev = next(stream)
    assert ev["Action"] == "start" and ev["Actor"]["Attributes"]["name"] == "ev2"
    stream.close()


def test_podman_py_exec_and_lists(service):
    podman = pytest.importorskip("podman")
    p = podman.PodmanClient(base_url=f"unix://{service}")
    ctr = p.containers.run("busybox", ["sleep", "1000"], detach=True, name="pp")
    code, out = ctr.exec_run(["sh", "-c", "echo in-podman-exec; exit 2"])
    assert code == 2 and b"in-podman-exec" in out
    assert [x.name for x in p.containers.list()] == ["pp"]
    assert p.containers.exists("pp") and not p.containers.exists("nope")
    assert p.images.exists("busybox")
    img = p.images.get("busybox")
    assert img.id and "localhost/busybox:latest" in img.tags
    ctr.stop(timeout=0)
    assert ctr.wait() == 137
    ctr.remove()
    assert not p.containers.exists("pp")


@pytest.mark.skipif(not shutil.which("podman"), reason="podman is not installed")
def test_podman_remote_client(service, tmp_path):
    env = {**os.environ, "CONTAINER_HOST": f"unix://{service}", "HOME": str(tmp_path)}

    def remote(*args, input=None):
        return subprocess.run(["podman", "--remote", *args], capture_output=True, input=input, env=env, timeout=60)

    p = remote("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (p.returncode, p.stdout, p.stderr) == (3, b"out\n", b"err\n")
    assert remote("run", "--name", "plog", "busybox", "sh", "-c", "echo out; echo err >&2").returncode == 0
    p = remote("logs", "plog")  # podman sends Go's zero time for since and until
    assert (p.stdout, p.stderr) == (b"out\n", b"err\n")
    assert remote("run", "-t", "--name", "ptty", "busybox", "echo", "tty").stdout == b"tty\r\n"
    assert remote("logs", "ptty").stdout == b"tty\r\n"  # libpod frames a TTY's log too
    assert remote("rm", "plog", "ptty").returncode == 0
    assert remote("run", "-d", "--name", "pr", "busybox", "sleep", "1000").returncode == 0
    p = remote("exec", "pr", "sh", "-c", "echo in-exec; exit 4")
    assert (p.returncode, p.stdout) == (4, b"in-exec\n")
    assert remote("exec", "-i", "pr", "cat", input=b"through remote\n").stdout == b"through remote\n"
    assert b"pr" in remote("ps").stdout
    assert remote("inspect", "--format", "{{.State.Status}}", "pr").stdout == b"running\n"
    assert b"localhost/busybox" in remote("images").stdout
    assert remote("rm", "-f", "pr").returncode == 0
    assert remote("ps", "-aq").stdout == b""


@pytest.mark.skipif(not (shutil.which("docker") and shutil.which("tmux")), reason="needs the docker CLI and tmux")
def test_docker_cli_tty_through_tmux(service, pypod, tmp_path):
    pypod("run", "-d", "--name", "tt", "busybox", "sleep", "1000")
    session = f"pypodapi{os.getpid()}"
    out = tmp_path / "tty.out"
    cmd = f"docker -H unix://{service} exec -it tt sh -c 'tty; read x; stty size; echo got-$x; exit 7'; echo rc=$? > {out}; sleep 60"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "100", "-y", "30", cmd], check=True)
    try:
        def screen() -> str:
            return subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout

        assert wait_for(lambda: "/dev/pts/" in screen(), timeout=20), screen()
        subprocess.run(["tmux", "send-keys", "-t", session, "hello", "Enter"], check=True)
        assert wait_for(lambda: out.exists() and out.read_text().strip(), timeout=30), screen()
        assert out.read_text().strip() == "rc=7"
        # the terminal's size reached the process, and what was typed came back
        # (the pane lives on after the command: `sleep` keeps it to be read)
        assert "30 100" in screen() and "got-hello" in screen(), screen()
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def test_many_requests_at_once_beside_long_streams(service, pypod):
    cid = pypod.out("run", "-d", "busybox", "sleep", "1000")
    # a silent attach and a silent log follow hold their connections...
    holders = []
    for req in (b"POST /containers/%s/attach?stream=1&stdout=1 HTTP/1.1\r\nHost: d\r\nUpgrade: tcp\r\nConnection: Upgrade\r\n\r\n" % cid.encode(),
                b"GET /containers/%s/logs?stdout=1&follow=1 HTTP/1.1\r\nHost: d\r\n\r\n" % cid.encode()):
        s = socket.socket(socket.AF_UNIX)
        s.connect(service)
        s.sendall(req)
        holders.append(s)
    # ...while many clients are served at once
    codes = []

    def one():
        codes.append(status_of(raw(service, b"GET /containers/json HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")))

    t0 = time.monotonic()
    threads = [threading.Thread(target=one) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert codes == [200] * 40 and time.monotonic() - t0 < 20
    pypod("stop", "-t", "0", cid)
    for s in holders:  # both streams end with the container: EOF, or the last chunk
        s.settimeout(15)
        got = b""
        while not got.endswith(b"\r\n0\r\n\r\n"):
            d = s.recv(65536)
            if not d:
                break
            got += d
        s.close()


def test_import_from_body_and_libpod_routes(service, tmp_path):
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = b"imported\n"
        info = tarfile.TarInfo("hello.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    body = buf.getvalue()
    resp = raw(service, b"POST /images/create?fromSrc=-&repo=imported:v1 HTTP/1.1\r\nHost: d\r\nContent-Type: application/x-tar\r\n"
                        b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
    assert status_of(resp) == 200, resp
    resp = raw(service, b"GET /v4.3.1/libpod/images/imported:v1/exists HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
    assert status_of(resp) == 204
    resp = raw(service, b"GET /v4.3.1/libpod/images/json HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
    ids = [i["Id"] for i in json.loads(resp.split(b"\r\n\r\n", 1)[1])]
    assert ids and not any(i.startswith("sha256:") for i in ids)  # libpod lists bare ids
    resp = raw(service, b"DELETE /v4.3.1/libpod/images/imported:v1 HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
    assert status_of(resp) == 200 and json.loads(resp.split(b"\r\n\r\n", 1)[1])["Deleted"]
    resp = raw(service, b"GET /v4.3.1/libpod/info HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
    assert status_of(resp) == 200 and "host" in json.loads(resp.split(b"\r\n\r\n", 1)[1])


def test_docker_py_run_remove_gets_the_whole_output(service):
    """docker-py's run(remove=True) opens the follow stream, waits, removes
    the container and only then reads the stream: what the process wrote
    must survive the removal of its log."""
    docker, c = _docker(service)
    for i in range(2):
        out = c.containers.run("busybox", ["sh", "-c", f"echo first-{i}; sleep 0.2; echo last-{i}"], remove=True)
        assert out == f"first-{i}\nlast-{i}\n".encode()
    ctr = c.containers.create("busybox", ["sh", "-c", "sleep 0.3; echo payload"])
    ctr.start()
    stream = c.api.logs(ctr.id, stream=True, follow=True)
    assert ctr.wait(timeout=20)["StatusCode"] == 0
    ctr.remove()
    assert b"".join(stream) == b"payload\n"
    assert c.containers.list(all=True) == []
