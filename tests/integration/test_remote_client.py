"""pypod as a remote client (--url, --connection, CONTAINER_HOST, `system
connection`) of a real `pypod system service`, each result checked against
the local CLI on the same store."""

from __future__ import annotations

import json
import os
import subprocess

from tests.conftest import PYPOD
from tests.integration.test_api import service  # noqa: F401 - the fixture


def _remote(tmp_path, *args, check=True, **env):
    """pypod without --root/--runroot: everything goes through the service."""
    full_env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config"), **env}
    full_env.pop("CONTAINER_HOST", None) if "CONTAINER_HOST" not in env else None
    p = subprocess.run([PYPOD, *args], capture_output=True, env=full_env, timeout=90, stdin=subprocess.DEVNULL)
    if check and p.returncode != 0:
        raise AssertionError(f"pypod {' '.join(args)} exited {p.returncode}: {p.stderr.decode()}")
    return p


def test_remote_commands_match_the_local_ones(service, pypod, tmp_path):  # noqa: F811
    url = f"unix://{service}"

    def remote(*args, check=True):
        return _remote(tmp_path, "--url", url, *args, check=check)

    def out(*args) -> str:
        return remote(*args).stdout.decode().strip()

    web = pypod.out("run", "-d", "--name", "web", "-l", "tier=front", "busybox", "sh", "-c",
                    "echo hello; echo oops >&2; sleep 1000")
    pypod("create", "--name", "idle", "busybox", "true")
    assert "Server:" in out("version") and out("version", "--format", "{{.Server.APIVersion}}") == "4.3.1"
    assert out("info", "--format", "{{.Store.GraphRoot}}") == pypod.root
    for args in (["ps", "--format", "table {{.ID}} {{.Image}} {{.Names}} {{.Ports}}"], ["ps", "-a", "--format", "{{.Names}} {{.Command}} {{.Labels}}"], ["ps", "-a", "--filter", "label=tier=front", "-q"],
                 ["ps", "-a", "--sort", "names", "--format", "json"], ["images"], ["images", "--format", "{{.ID}} {{.Tag}}"]):
        local, far = pypod.out(*args), out(*args)
        if "json" in args:
            local, far = [{k: v for k, v in e.items() if k not in ("CreatedAt", "Status")} for e in json.loads(local)], \
                [{k: v for k, v in e.items() if k not in ("CreatedAt", "Status")} for e in json.loads(far)]
        assert far == local, args
    assert json.loads(out("inspect", "web"))[0]["Id"] == web
    assert out("inspect", "--type", "image", "-f", "{{.Id}}", "busybox") == pypod.out("inspect", "-f", "{{.Id}}", "busybox")
    p = remote("inspect", "nosuch", check=False)
    assert p.returncode == 125 and b'no such object: "nosuch"' in p.stderr

    logs = remote("logs", "web")
    assert (logs.stdout, logs.stderr) == (b"hello\n", b"oops\n")
    assert remote("logs", "--tail", "1", "web").stderr == b"oops\n"
    assert remote("container", "exists", "web").returncode == 0
    assert remote("container", "exists", "nosuch", check=False).returncode == 1
    assert remote("image", "exists", "busybox").returncode == 0

    assert out("pause", "web") == "web" and pypod.out("inspect", "-f", "{{.State.Status}}", "web") == "paused"
    assert out("unpause", "web") == "web"
    assert out("stop", "-t", "0", "web") == "web" and pypod.out("inspect", "-f", "{{.State.Status}}", "web") == "exited"
    assert out("start", "web") == "web" and pypod.out("inspect", "-f", "{{.State.Status}}", "web") == "running"
    assert out("kill", "web") == "web"
    out("tag", "busybox", "other:1")
    assert "localhost/other:1" in pypod.out("images", "--format", "{{.Repository}}:{{.Tag}}")
    assert out("rmi", "other:1") == "Untagged: localhost/other:1"
    ids = set(pypod.out("ps", "-aq", "--no-trunc").split())
    assert set(out("rm", "-f", "-t", "0", "-a").split()) == ids and pypod.out("ps", "-aq") == ""

    # what the remote client cannot carry over is an error, never done halfway
    for args, words in ((["mount", "web"], b'cannot use command "pypod mount" with the remote pypod client'),
                        (["stop", "--cidfile", "/x", "web"], b"cannot run stop with --cidfile"),
                        (["inspect", "--type", "volume", "v"], b"not volumes")):
        p = remote(*args, check=False)
        assert p.returncode == 125 and words in p.stderr, p.stderr


def test_connections_and_container_host(service, pypod, tmp_path):  # noqa: F811
    def conn(*args, check=True):
        return _remote(tmp_path, "system", "connection", *args, check=check)

    pypod("create", "--name", "here", "busybox", "true")
    conn("add", "svc", f"unix://{service}")
    conn("add", "--identity", "/id", "far", "tcp://127.0.0.1:9")
    table = conn("ls").stdout.decode().splitlines()
    assert table[0].split() == ["NAME", "URI", "IDENTITY", "DEFAULT"]
    assert table[1].split() == ["far", "tcp://127.0.0.1:9", "/id", "false"]
    assert table[2].split() == ["svc", f"unix://{service}", "true"]  # the first one added is the default
    assert _remote(tmp_path, "--remote", "ps", "-a", "--format", "{{.Names}}").stdout == b"here\n"
    p = _remote(tmp_path, "-c", "far", "ps", check=False)
    assert p.returncode == 125 and b"unable to connect to pypod service at tcp://127.0.0.1:9" in p.stderr
    conn("default", "far")
    conn("rename", "far", "away")
    assert json.loads(conn("ls", "--format", "json").stdout) == [
        {"Name": "away", "URI": "tcp://127.0.0.1:9", "Identity": "/id", "Default": True},
        {"Name": "svc", "URI": f"unix://{service}", "Identity": "", "Default": False}]
    assert _remote(tmp_path, "--connection", "svc", "ps", "-aq").stdout.strip() == \
        pypod.out("ps", "-aq").encode()
    # CONTAINER_HOST beats the default connection, as podman's
    assert _remote(tmp_path, "ps", "-a", "--format", "{{.Names}}", CONTAINER_HOST=f"unix://{service}").stdout == b"here\n"
    for args, words in ((["add", "bad", "ssh://root@host/run/x.sock"], b"ssh destinations are not supported by pypod"),
                        (["add", "bad", "http://x"], b'"http://x" is not a supported schema'),
                        (["default", "nope"], b'"nope" destination is not defined')):
        p = conn(*args, check=False)
        assert p.returncode == 125 and words in p.stderr, p.stderr
    conn("rm", "away")
    assert conn("ls", "-q").stdout == b"svc\n" and json.loads(conn("ls", "--format", "json").stdout)[0]["Default"]
    conn("rm", "--all")
    assert conn("ls", "-q").stdout == b""
    assert oct(os.stat(tmp_path / "config" / "pypod" / "connections.json").st_mode & 0o777) == "0o600"


def test_remote_create_and_detached_run(service, pypod, tmp_path):  # noqa: F811
    def remote(*args, check=True):
        return _remote(tmp_path, "--url", f"unix://{service}", *args, check=check)

    cid = remote("create", "--name", "made", "-e", "A=1", "-l", "x=y", "-w", "/tmp", "-u", "1000",
                 "--hostname", "hh", "--stop-timeout", "4", "busybox", "sh", "-c", "echo $A $(id -u) $(pwd) $(hostname)"
                 ).stdout.decode().strip()
    cfg = json.loads(pypod.out("inspect", "made"))[0]
    assert cfg["Id"] == cid and cfg["Config"]["Labels"]["x"] == "y" and cfg["Config"]["StopTimeout"] == 4
    assert pypod.out("start", "-a", "made") == "1 1000 /tmp hh"
    run = remote("run", "-d", "--name", "bg", "busybox", "sleep", "1000").stdout.decode().strip()
    assert pypod.out("inspect", "-f", "{{.State.Status}}", run) == "running"
    again = remote("run", "-d", "--replace", "--name", "bg", "busybox", "sleep", "999").stdout.decode().strip()
    assert again != run and pypod.out("ps", "--format", "{{.Names}} {{.Command}}") == "bg sleep 999"
    for args, words in ((["run", "busybox", "true"], b"runs containers detached only"),
                        (["run", "-d", "--network", "none", "busybox", "true"], b"cannot run run with --network"),
                        (["create", "--rootfs", "/", "true"], b"cannot run create with --rootfs")):
        p = remote(*args, check=False)
        assert p.returncode == 125 and words in p.stderr, p.stderr
    assert sorted(pypod.out("ps", "-aq", "--no-trunc").split()) == sorted([again, cid])  # refusals made nothing
