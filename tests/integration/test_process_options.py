"""run/create's process options, each seen doing its job in a real container."""

from __future__ import annotations

import json
import os
import socket
import subprocess

import pytest

from tests.conftest import wait_for


def inspect(pypod, ref: str) -> dict:
    return json.loads(pypod.out("inspect", ref))[0]


def test_init_timezone_umask_and_annotations(pypod):
    if not any(os.path.exists(p) for p in ("/usr/libexec/podman/catatonit", "/usr/bin/catatonit")):
        pytest.skip("catatonit is not installed")
    if not os.path.exists("/usr/share/zoneinfo/Europe/Paris"):
        pytest.skip("tzdata is not installed")
    cid = pypod.out("run", "-d", "--init", "--tz", "Europe/Paris", "--umask", "0027", "--annotation", "team=blue",
                    "busybox", "sleep", "1000")
    out = pypod.out("exec", cid, "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo; date +%Z; grep Umask /proc/1/status")
    cmdline, zone, umask = out.splitlines()
    umask = umask.split()[1]
    assert cmdline.split()[:3] == ["/run/podman-init", "--", "sleep"]
    assert zone in ("CET", "CEST") and umask == "0027"
    # catatonit forwards the stop signal to the command and reaps it: a quick stop
    data = inspect(pypod, cid)
    assert data["HostConfig"]["Init"] is True and data["Config"]["Timezone"] == "Europe/Paris"
    assert data["Config"]["Umask"] == "0027" and data["Config"]["Annotations"]["team"] == "blue"
    with open(os.path.join(pypod.root, "containers", cid, "userdata", "config.json")) as f:
        assert json.load(f)["annotations"]["team"] == "blue"
    pypod("stop", "-t", "5", cid)
    assert inspect(pypod, cid)["State"]["ExitCode"] in (0, 143)
    p = pypod("create", "--tz", "Mars/Olympus", "busybox", "true", check=False)
    assert p.returncode == 125 and "unknown time zone Mars/Olympus" in p.stderr.decode()


def test_environment_options(pypod, tmp_path):
    labels = tmp_path / "labels"
    labels.write_text("# a comment\nowner=ops\nflag\n")
    env = {**os.environ, "http_proxy": "http://proxy.example:3128", "PYPOD_TEST_HOSTVAR": "from-host"}
    out = pypod.out("run", "--rm", "--env-host", "--unsetenv", "container", "busybox", "env", env=env)
    got = dict(line.split("=", 1) for line in out.splitlines())
    assert got["PYPOD_TEST_HOSTVAR"] == "from-host" and got["http_proxy"] == "http://proxy.example:3128"
    assert "container" not in got
    out = pypod.out("run", "--rm", "--env-merge", "PATH=/opt/bin:${PATH}", "busybox", "env")
    assert "PATH=/opt/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" in out.splitlines()
    out = pypod.out("run", "--rm", "--http-proxy=false", "busybox", "env", env=env)
    assert "http_proxy" not in out
    out = pypod.out("run", "--rm", "--unsetenv-all", "-e", "ONLY=me", "busybox", "/bin/env")
    # (runc itself adds HOME when the environment lacks it)
    assert [line for line in out.splitlines() if not line.startswith("HOME=")] == ["ONLY=me"]
    cid = pypod.out("create", "--label-file", str(labels), "--entrypoint", '["/bin/sh", "-c"]', "busybox", "echo $0")
    data = inspect(pypod, cid)
    assert data["Config"]["Labels"]["owner"] == "ops" and data["Config"]["Labels"]["flag"] == ""
    assert data["Path"] == "/bin/sh" and data["Args"] == ["-c", "echo $0"]


def test_id_and_pid_files_requires_and_replace(pypod, tmp_path):
    cidfile, pidfile, conmonfile = tmp_path / "cid", tmp_path / "pid", tmp_path / "conmon.pid"
    db = pypod.out("create", "--name", "db", "busybox", "sleep", "1000")
    cid = pypod.out("run", "-d", "--name", "app", "--requires", "db", "--cidfile", str(cidfile), "--pidfile", str(pidfile),
                    "--conmon-pidfile", str(conmonfile), "busybox", "sleep", "1000")
    assert cidfile.read_text() == cid
    data = inspect(pypod, cid)
    assert int(pidfile.read_text()) == data["State"]["Pid"] and int(conmonfile.read_text()) == data["State"]["ConmonPid"]
    assert data["HostConfig"]["ContainerIDFile"] == str(cidfile) and data["Dependencies"] == [db]
    assert inspect(pypod, "db")["State"]["Status"] == "running"  # started first, as app requires it
    p = pypod("run", "-d", "--cidfile", str(cidfile), "busybox", "true", check=False)
    assert p.returncode == 125 and "container id file exists" in p.stderr.decode()
    new = pypod.out("run", "-d", "--replace", "--name", "app", "busybox", "sleep", "1000")
    assert new != cid and inspect(pypod, "app")["Id"] == new


def test_attach_streams_and_preserved_fds(pypod, tmp_path):
    p = pypod("run", "--rm", "-a", "stderr", "busybox", "sh", "-c", "echo out; echo err >&2")
    assert p.stdout == b"" and p.stderr == b"err\n"
    r, w = os.pipe()
    os.write(w, b"through fd 3")
    os.close(w)
    os.dup2(r, 100)
    proc = subprocess.run([*pypod.argv, "run", "--rm", "--preserve-fds", "1", "busybox", "cat", "/proc/self/fd/3"],
                          pass_fds=(3,), capture_output=True, stdin=subprocess.DEVNULL,
                          preexec_fn=lambda: os.dup2(100, 3))
    os.close(r)
    os.close(100)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"through fd 3"
    p = pypod("run", "--rm", "--preserve-fds", "5", "busybox", "true", check=False)
    assert p.returncode == 125 and "preserve-fds" in p.stderr.decode()


def test_timeout_stop_signal_and_rmi(pypod):
    cid = pypod.out("run", "-d", "--timeout", "1", "busybox", "sleep", "1000")
    assert wait_for(lambda: inspect(pypod, cid)["State"]["Status"] == "exited", timeout=15)
    assert inspect(pypod, cid)["State"]["ExitCode"] == -1  # conmon killed it (podman shows -1 too)
    pypod("rm", cid)
    pypod("tag", "busybox", "localhost/throwaway:1")
    pypod("run", "--rm", "--rmi", "localhost/throwaway:1", "true")
    assert pypod("image", "inspect", "localhost/throwaway:1", check=False).returncode != 0
    p = pypod("run", "--rmi", "busybox", "true", check=False)
    assert p.returncode == 125 and "--rmi option does not work without --rm" in p.stderr.decode()


def test_log_drivers_and_options(pypod, tmp_path):
    log = tmp_path / "custom.log"
    cid = pypod.out("run", "-d", "--log-driver", "json-file", "--log-opt", f"path={log}", "--log-opt", "max-size=1mb",
                    "busybox", "echo", "to the custom log")
    pypod("wait", cid)
    assert "to the custom log" in log.read_text()
    assert pypod.out("logs", cid) == "to the custom log"
    lc = inspect(pypod, cid)["HostConfig"]["LogConfig"]
    assert lc["Type"] == "json-file" and lc["Path"] == str(log)
    p = pypod("run", "--rm", "--log-driver", "passthrough", "busybox", "echo", "straight through")
    assert p.stdout == b"straight through\n"
    cid = pypod.out("run", "-d", "--log-driver", "none", "busybox", "echo", "lost")
    pypod("wait", cid)
    p = pypod("logs", cid, check=False)
    assert p.returncode == 125 and "'none' log driver" in p.stderr.decode() and p.stdout == b""
    if not os.path.exists("/run/systemd/journal/socket"):
        p = pypod("run", "--rm", "--log-driver", "journald", "busybox", "true", check=False)
        assert p.returncode == 125 and len(p.stderr.decode().strip().splitlines()) == 1
        assert "journald" in p.stderr.decode()
    p = pypod("run", "--rm", "--log-driver", "syslog", "busybox", "true", check=False)
    assert p.returncode == 125 and 'invalid log driver "syslog"' in p.stderr.decode()


def test_passwd_entries_and_sdnotify(pypod, tmp_path):
    out = pypod.out("run", "--rm", "--user", "4321", "--chrootdirs", "/jail", "busybox", "sh", "-c",
                    "id -un; cat /jail/etc/hostname")
    name, hostname = out.splitlines()
    assert name == "4321" and hostname
    out = pypod.out("run", "--rm", "--user", "4321", "--passwd=false", "busybox", "sh", "-c", "id -un 2>&1 || true")
    assert "unknown" in out
    sock_path = str(tmp_path / "notify.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv.bind(sock_path)
    srv.settimeout(30)
    try:
        env = {**os.environ, "NOTIFY_SOCKET": sock_path}
        cid = pypod.out("run", "-d", "--sdnotify", "conmon", "busybox", "sleep", "1000", env=env)
        msg = srv.recv(4096).decode()
        assert "READY=1" in msg and f"MAINPID={inspect(pypod, cid)['State']['ConmonPid']}" in msg
    finally:
        srv.close()


def test_personality_is_refused_where_the_runtime_ignores_it(pypod):
    ver = subprocess.run(["runc", "--version"], capture_output=True, text=True).stdout
    if "version 1.1." not in ver and "version 1.0." not in ver:
        pytest.skip("this runc applies linux.personality")
    p = pypod("create", "--personality", "LINUX32", "busybox", "true", check=False)
    assert p.returncode == 125 and "does not apply linux.personality" in p.stderr.decode()
