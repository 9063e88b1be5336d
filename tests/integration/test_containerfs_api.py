"""The container filesystem, commit, stats and volume routes through the
real clients (docker-py, podman-py) and raw HTTP against the service."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import io
import json
import tarfile

import pytest

from tests.integration.test_api import body_of, raw, status_of
from tests.integration.test_api_clients import service  # noqa: F401 (the fixture the tests take)


def _tar(entries: list[tuple[str, bytes | None, str]]) -> bytes:
    """(name, data or None for a symlink, link target)"""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data, target in entries:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type, info.linkname = tarfile.SYMTYPE, target
                t.addfile(info)
            else:
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_docker_py_archive_changes_export_rename_commit(service, tmp_path):  # noqa: F811 (the imported fixture)
    docker = pytest.importorskip("docker")
    c = docker.DockerClient(base_url=f"unix://{service}", version="1.41")
    ctr = c.containers.run("busybox", ["sh", "-c", "mkdir /d; echo one > /d/f; ln -s /d /link; rm /bin/ls; sleep 1000"],
                           detach=True, name="fs")
    assert ctr.exec_run(["sh", "-c", "while [ ! -L /link ]; do sleep 0.05; done"])[0] == 0
    # GET archive: the tar and the path's stat
    chunks, st = ctr.get_archive("/d")
    names = tarfile.open(fileobj=io.BytesIO(b"".join(chunks))).getnames()
    assert sorted(names) == ["d", "d/f"] and st["name"] == "d" and st["mode"] & (1 << 31)
    _chunks, st = ctr.get_archive("/link")
    assert st["linkTarget"] == "/d" and st["mode"] & (1 << 27)
    with pytest.raises(docker.errors.NotFound):
        ctr.get_archive("/nope")
    # PUT archive, with hostile entries kept inside the root
    assert ctr.put_archive("/d", _tar([("new", b"two\n", "")]))
    assert ctr.exec_run(["cat", "/d/new"]) == (0, b"two\n")
    with pytest.raises(docker.errors.APIError) as e:
        ctr.put_archive("/d", _tar([("esc", None, "/../../../.." + str(tmp_path)), ("esc/x", b"bad", "")]))
    assert e.value.status_code == 400 and "leads outside" in str(e.value)
    assert not (tmp_path / "x").exists()
    with pytest.raises(docker.errors.NotFound):
        ctr.put_archive("/missing", _tar([("a", b"", "")]))
    # HEAD archive: the stat header alone
    resp = raw(service, b"HEAD /containers/fs/archive?path=/d/new HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
    assert status_of(resp) == 200
    header = next(line for line in resp.split(b"\r\n") if line.lower().startswith(b"x-docker-container-path-stat"))
    assert json.loads(base64.b64decode(header.split(b":", 1)[1].strip()))["size"] == 4
    # changes and export
    kinds = {d["Path"]: d["Kind"] for d in ctr.diff()}
    assert kinds["/d/f"] == 1 and kinds["/bin/ls"] == 2 and kinds["/bin"] == 0
    exported = b"".join(ctr.export())
    assert "d/new" in tarfile.open(fileobj=io.BytesIO(exported)).getnames()
    # commit: Docker's 201 and Id; the body's config and the changes land in the image
    img = ctr.commit(repository="dpy/committed", tag="v2", message="from docker-py", author="me",
                     changes=["ENV FROM_CHANGE=1", "EXPOSE 9000"], conf={"Labels": {"via": "body"}})
    assert img.id.startswith("sha256:") and "localhost/dpy/committed:v2" in img.tags
    attrs = c.images.get("dpy/committed:v2").attrs
    assert "FROM_CHANGE=1" in attrs["Config"]["Env"] and "9000/tcp" in attrs["Config"]["ExposedPorts"]
    assert attrs["Config"]["Labels"] == {"via": "body"} and attrs["Author"] == "me"
    assert c.containers.run("dpy/committed:v2", ["cat", "/d/new"], remove=True) == b"two\n"
    # rename
    ctr.rename("fs2")
    assert c.containers.get("fs2").id == ctr.id
    with pytest.raises(docker.errors.APIError):
        ctr.rename("bad/name")
    ctr.remove(force=True)


def test_stats_docker_and_libpod(service):  # noqa: F811 (the imported fixture)
    docker = pytest.importorskip("docker")
    podman = pytest.importorskip("podman")
    c = docker.DockerClient(base_url=f"unix://{service}", version="1.41")
    ctr = c.containers.run("busybox", ["sleep", "1000"], detach=True, name="st")
    one = ctr.stats(stream=False, one_shot=True)
    assert one["id"] == ctr.id and one["name"] == "/st" and one["pids_stats"]["current"] >= 1
    assert one["memory_stats"]["usage"] > 0 and one["memory_stats"]["limit"] > 0
    assert one["cpu_stats"]["cpu_usage"]["total_usage"] > 0 and one["cpu_stats"]["system_cpu_usage"] > 0
    two = ctr.stats(stream=False)  # with precpu a second earlier, what `docker stats` needs
    assert two["precpu_stats"]["system_cpu_usage"] > 0 and two["preread"] != "0001-01-01T00:00:00Z"
    stream = ctr.stats(stream=True, decode=True)
    first, second = next(stream), next(stream)
    assert second["precpu_stats"]["cpu_usage"]["total_usage"] == first["cpu_stats"]["cpu_usage"]["total_usage"]
    stream.close()
    p = podman.PodmanClient(base_url=f"unix://{service}")
    report = p.containers.get("st").stats(stream=False, decode=True)
    s = report["Stats"][0]
    assert s["ContainerID"] == ctr.id and s["PIDs"] >= 1 and s["MemUsage"] > 0 and s["CPUNano"] > 0
    streamed = p.containers.get("st").stats(stream=True, decode=True)
    assert next(streamed)["Stats"][0]["Name"] == "st"
    streamed.close()
    resp = raw(service, b"GET /containers/st/stats?stream=true&one-shot=true HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
    assert status_of(resp) == 400
    ctr.remove(force=True)


def test_volumes_and_commit_through_clients(service):  # noqa: F811 (the imported fixture)
    docker = pytest.importorskip("docker")
    podman = pytest.importorskip("podman")
    c = docker.DockerClient(base_url=f"unix://{service}", version="1.41")
    v = c.volumes.create("dv", labels={"k": "v"})
    assert v.name == "dv" and v.attrs["Labels"] == {"k": "v"} and v.attrs["Driver"] == "local"
    assert c.volumes.create("dv").id == "dv"  # an existing name answers that volume
    assert [x.name for x in c.volumes.list(filters={"label": "k=v"})] == ["dv"]
    assert c.containers.run("busybox", ["sh", "-c", "echo kept > /data/f"], volumes={"dv": {"bind": "/data"}},
                            name="user") == b""
    with pytest.raises(docker.errors.APIError) as e:
        c.volumes.get("dv").remove()
    assert e.value.status_code == 409
    c.containers.get("user").remove()
    with pytest.raises(docker.errors.NotFound):
        c.volumes.get("nope")
    c.volumes.create("unused")
    pruned = c.volumes.prune()
    assert sorted(pruned["VolumesDeleted"]) == ["dv", "unused"]
    p = podman.PodmanClient(base_url=f"unix://{service}")
    pv = p.volumes.create("pv", labels={"a": "b"})
    assert pv.name == "pv" and p.volumes.exists("pv") and not p.volumes.exists("nope")
    assert [x.name for x in p.volumes.list()] == ["pv"]
    p.volumes.remove("pv")
    assert p.volumes.list() == []
    # podman-py's commit goes to /libpod/commit
    ctr = p.containers.run("busybox", ["sh", "-c", "echo pp > /pp"], detach=True, name="ppc")
    assert ctr.wait() == 0
    img = ctr.commit(repository="pp/img", tag="t", changes=["CMD cat /pp"], author="podman-py")
    assert "localhost/pp/img:t" in img.tags
    assert img.attrs["Config"]["Cmd"] == ["/bin/sh", "-c", "cat /pp"]
    assert c.containers.run("pp/img:t", remove=True) == b"pp\n"


@pytest.mark.skipif(not shutil.which("docker"), reason="the docker CLI is not installed")
def test_docker_cli_cp_stats_commit_volumes(service, tmp_path):  # noqa: F811 (the imported fixture)
    """The docker CLI's own cp (HEAD/GET/PUT archive), stats, commit, diff, export and volume commands."""
    env = {**os.environ, "HOME": str(tmp_path), "DOCKER_CONFIG": str(tmp_path / ".docker")}

    def docker(*args, input=None):
        return subprocess.run(["docker", "-H", f"unix://{service}", *args], capture_output=True, input=input,
                              env=env, timeout=60)

    assert docker("run", "-d", "--name", "dc", "busybox", "sleep", "1000").returncode == 0
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "f").write_bytes(b"from host\n")
    p = docker("cp", str(src), "dc:/copied")
    assert p.returncode == 0, p.stderr
    assert docker("exec", "dc", "cat", "/copied/sub/f").stdout == b"from host\n"
    p = docker("cp", "dc:/copied/sub", str(tmp_path / "back"))
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "back" / "f").read_bytes() == b"from host\n"
    p = docker("cp", "dc:/nope", str(tmp_path / "x"))
    assert p.returncode != 0 and b"could not be found on container dc" in p.stderr
    p = docker("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}} {{.MemUsage}}", "dc")
    assert p.returncode == 0, p.stderr
    name, pids, usage = p.stdout.decode().split(" ", 2)
    assert name == "dc" and int(pids) >= 1 and "/" in usage
    assert b"A /copied/sub/f" in docker("diff", "dc").stdout
    p = docker("commit", "-c", "ENV FROM_CLI=1", "-m", "msg", "dc", "cli/committed:1")
    assert p.returncode == 0 and p.stdout.startswith(b"sha256:"), p.stderr
    assert docker("run", "--rm", "cli/committed:1", "cat", "/copied/sub/f").stdout == b"from host\n"
    exported = docker("export", "dc").stdout
    assert b"copied/sub/f" in exported
    assert docker("volume", "create", "--label", "a=b", "cv").stdout == b"cv\n"
    assert docker("volume", "ls", "-q").stdout == b"cv\n"
    assert json.loads(docker("volume", "inspect", "cv").stdout)[0]["Labels"] == {"a": "b"}
    assert docker("volume", "rm", "cv").returncode == 0
    assert docker("rm", "-f", "dc").returncode == 0


@pytest.mark.skipif(not shutil.which("podman"), reason="podman is not installed")
def test_podman_remote_cp_stats_commit(service, tmp_path):  # noqa: F811 (the imported fixture)
    """podman's own remote client: cp both ways (libpod's archive routes), stats, commit, volumes."""
    env = {**os.environ, "CONTAINER_HOST": f"unix://{service}", "HOME": str(tmp_path)}

    def remote(*args):
        return subprocess.run(["podman", "--remote", *args], capture_output=True, env=env, timeout=60)

    assert remote("run", "-d", "--name", "pc", "busybox", "sleep", "1000").returncode == 0
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "f").write_bytes(b"remote\n")
    p = remote("cp", str(src), "pc:/copied")
    assert p.returncode == 0, p.stderr
    assert remote("exec", "pc", "cat", "/copied/sub/f").stdout == b"remote\n"
    p = remote("cp", "pc:/copied/sub", str(tmp_path / "back"))
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "back" / "f").read_bytes() == b"remote\n"
    p = remote("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", "pc")
    assert p.returncode == 0 and p.stdout.split()[0] == b"pc" and int(p.stdout.split()[1]) >= 1, p.stderr
    p = remote("commit", "-q", "pc", "remote/img")
    assert p.returncode == 0, p.stderr
    assert b"localhost/remote/img" in remote("images").stdout
    assert remote("volume", "create", "rv").stdout == b"rv\n" and remote("volume", "ls", "-q").stdout == b"rv\n"
    assert remote("volume", "rm", "rv").returncode == 0
    assert remote("rm", "-f", "pc").returncode == 0


def _get(sock: str, path: str) -> tuple[int, object]:
    resp = raw(sock, f"GET {path} HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n".encode())
    body = body_of(resp)
    return status_of(resp), json.loads(body) if body.strip() else None


def test_libpod_changes_of_containers_and_images(service, tmp_path):  # noqa: F811
    """GET /libpod/{containers,images}/NAME/changes with diffType and parent,
    as libpod's GetDiff; podman's remote client's `image diff` takes it."""
    from tests.conftest import wait_for

    def answers() -> bool:
        try:
            return status_of(raw(service, b"GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")) == 200
        except ConnectionRefusedError:
            return False

    assert wait_for(answers, timeout=15)  # the socket exists a moment before it listens
    data = json.dumps({"name": "chg", "image": "busybox", "command": ["sh", "-c", "echo x > /newfile"]}).encode()
    resp = raw(service, b"POST /v4.3.1/libpod/containers/create HTTP/1.1\r\nHost: d\r\nConnection: close\r\n"
               b"Content-Type: application/json\r\nContent-Length: " + str(len(data)).encode() + b"\r\n\r\n" + data)
    assert status_of(resp) == 201, resp
    resp = raw(service, b"POST /v4.3.1/libpod/containers/chg/start HTTP/1.1\r\nHost: d\r\nConnection: close\r\n"
               b"Content-Length: 0\r\n\r\n")
    assert status_of(resp) == 204, resp
    raw(service, b"POST /v4.3.1/libpod/containers/chg/wait HTTP/1.1\r\nHost: d\r\nConnection: close\r\n"
        b"Content-Length: 0\r\n\r\n", timeout=30)
    status, found = _get(service, "/v4.3.1/libpod/containers/chg/changes")
    assert status == 200 and {"Path": "/newfile", "Kind": 1} in found, found
    # an image: its top layer (busybox has one: every path added)
    status, found = _get(service, "/v4.3.1/libpod/images/busybox/changes")
    assert status == 200 and {"Path": "/bin", "Kind": 1} in found and all(c["Kind"] == 1 for c in found)
    status, found = _get(service, "/v4.3.1/libpod/images/busybox/changes?parent=busybox")
    assert (status, found) == (200, [])
    assert _get(service, "/v4.3.1/libpod/containers/busybox/changes?diffType=container")[0] == 404
    assert _get(service, "/v4.3.1/libpod/images/chg/changes?diffType=image")[0] == 404
    assert _get(service, "/v4.3.1/libpod/containers/chg/changes?diffType=sometimes")[0] == 400
    assert _get(service, "/v4.3.1/libpod/containers/chg/changes?parent=busybox")[0] == 400
    if shutil.which("podman"):
        env = {**os.environ, "CONTAINER_HOST": f"unix://{service}", "HOME": str(tmp_path)}
        p = subprocess.run(["podman", "--remote", "image", "diff", "busybox"], capture_output=True, env=env, timeout=60)
        assert p.returncode == 0 and "A /bin" in p.stdout.decode().splitlines(), p.stderr
        p = subprocess.run(["podman", "--remote", "diff", "chg"], capture_output=True, env=env, timeout=60)
        assert p.returncode == 0 and "A /newfile" in p.stdout.decode().splitlines(), p.stderr
