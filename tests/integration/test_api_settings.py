"""The create settings beyond the basics through the REST service, with the
real clients: docker-py's HostConfig and Healthcheck, podman-py's and podman's
remote client's SpecGenerator.  Each setting is checked where it acts (the
container's cgroup files, /proc, /dev) and in inspect, and a bad value is a
400 that leaves nothing behind."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from tests.conftest import wait_for
from tests.integration.test_api import raw, service, status_of  # noqa: F401 (service: the fixture)

V1 = not os.path.exists("/sys/fs/cgroup/cgroup.controllers")
needs_v1 = pytest.mark.skipif(not V1, reason="these checks read cgroup v1 files; this host has cgroup v2")

#: what the container prints: KEY=VALUE lines, then it sleeps
PROBE = ("echo mem=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes);"
         " echo swap=$(cat /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes);"
         " echo quota=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us); echo shares=$(cat /sys/fs/cgroup/cpu/cpu.shares);"
         " echo pids=$(cat /sys/fs/cgroup/pids/pids.max); echo adj=$(cat /proc/self/oom_score_adj);"
         " echo fwd=$(cat /proc/sys/net/ipv4/ip_forward); echo dev=$(ls /dev/mynull);"
         " echo shm=$(df -k /dev/shm | tail -1 | awk '{print $2}'); echo init=$(cat /proc/1/comm);"
         " echo groups=$(id -G); echo done=1; exec sleep 1000")


def call(sock: str, method: str, path: str, body: str = "") -> tuple[int, bytes]:
    data = body.encode()
    head = (f"{method} {path} HTTP/1.1\r\nHost: d\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n").encode()
    resp = raw(sock, head + data)
    return status_of(resp), resp.split(b"\r\n\r\n", 1)[1]


def _probe(logs: str) -> dict:
    return dict(line.split("=", 1) for line in logs.splitlines() if "=" in line)


@needs_v1
def test_docker_py_host_config_reaches_the_cgroup_and_inspect(service):  # noqa: F811
    docker = pytest.importorskip("docker")
    c = docker.DockerClient(base_url=f"unix://{service}", version="1.41")
    ctr = c.containers.run(
        "busybox", ["sh", "-c", PROBE], detach=True, name="dpy-limits",
        mem_limit="64m", memswap_limit="96m", mem_reservation="32m", cpu_period=100000, cpu_quota=50000,
        cpu_shares=512, pids_limit=100, oom_score_adj=100, shm_size="128m", sysctls={"net.ipv4.ip_forward": "1"},
        devices=["/dev/null:/dev/mynull:rw"], init=True, group_add=["10"],
        restart_policy={"Name": "on-failure", "MaximumRetryCount": 2},
        healthcheck={"test": ["CMD-SHELL", "exit 1"], "interval": 1_000_000_000, "retries": 1})
    assert wait_for(lambda: "done=1" in ctr.logs().decode(), timeout=30), ctr.logs()
    got = _probe(ctr.logs().decode())
    assert (got["mem"], got["swap"]) == (str(64 << 20), str(96 << 20))
    assert (got["quota"], got["shares"], got["pids"], got["adj"]) == ("50000", "512", "100", "100")
    assert (got["fwd"], got["dev"], got["shm"]) == ("1", "/dev/mynull", str(128 << 10))
    assert got["init"] == "podman-init" and "10" in got["groups"].split()
    ctr.reload()
    hc = ctr.attrs["HostConfig"]
    assert (hc["Memory"], hc["MemorySwap"], hc["MemoryReservation"]) == (64 << 20, 96 << 20, 32 << 20)
    assert (hc["CpuPeriod"], hc["CpuQuota"], hc["CpuShares"], hc["PidsLimit"]) == (100000, 50000, 512, 100)
    assert hc["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert hc["Sysctls"]["net.ipv4.ip_forward"] == "1" and hc["Init"] is True
    assert hc["Devices"][0]["PathInContainer"] == "/dev/mynull" and hc["Devices"][0]["CgroupPermissions"] == "rw"
    assert ctr.attrs["Config"]["Healthcheck"]["Test"] == ["CMD-SHELL", "exit 1"]
    # the failing check, run every second by the container's timer
    assert wait_for(lambda: (ctr.reload(), ctr.attrs["State"].get("Health", {}).get("Status"))[1] == "unhealthy", timeout=30)
    ctr.remove(force=True)


def test_docker_create_refuses_bad_settings_and_leaves_nothing(service):  # noqa: F811
    base = {"Image": "busybox", "Cmd": ["true"]}
    for host_config, word in (({"Memory": 1024}, "6MB"), ({"Memory": "64m"}, "Memory"),
                              ({"RestartPolicy": {"Name": "sometimes"}}, "restart policy"),
                              ({"RestartPolicy": {"Name": "always"}, "AutoRemove": True}, "--rm"),
                              ({"CpuShares": 1}, "cpu-shares"), ({"Devices": [{"PathOnHost": "/dev/nope"}]}, "/dev/nope"),
                              ({"DeviceCgroupRules": ["x 1:3 rwm"]}, "x 1:3"), ({"OomScoreAdj": 5000}, "OomScoreAdj")):
        status, body = call(service, "POST", "/v1.41/containers/create?name=bad", json.dumps({**base, "HostConfig": host_config}))
        assert status == 400 and word.lower() in body.decode().lower(), (host_config, body)
    status, body = call(service, "POST", "/v1.41/containers/create",
                          json.dumps({**base, "Healthcheck": {"Test": "true"}}))
    assert status == 400 and b"Healthcheck" in body, body  # a bare command list is podman's; not a string
    status, body = call(service, "GET", "/v1.41/containers/json?all=1")
    assert b"[]" in body  # nothing was created (chunked or not)


@needs_v1
def test_podman_py_spec_generator_settings(service):  # noqa: F811
    podman = pytest.importorskip("podman")
    p = podman.PodmanClient(base_url=f"unix://{service}")
    ctr = p.containers.create("busybox", ["sh", "-c", PROBE], name="ppy-limits", mem_limit="64m", cpu_shares=512,
                              pids_limit=100, cpu_period=100000, cpu_quota=25000, sysctls={"net.ipv4.ip_forward": "1"},
                              devices=["/dev/null:/dev/mynull"], restart_policy={"Name": "always"}, oom_score_adj=50,
                              healthcheck={"Test": ["CMD", "true"], "Interval": 2_000_000_000, "Retries": 4})
    ctr.start()
    assert wait_for(lambda: "done=1" in b"".join(ctr.logs()).decode(), timeout=30)
    got = _probe(b"".join(ctr.logs()).decode())
    assert (got["mem"], got["quota"], got["shares"], got["pids"], got["adj"]) == (str(64 << 20), "25000", "512", "100", "50")
    assert (got["fwd"], got["dev"]) == ("1", "/dev/mynull")
    ctr.reload()
    hc = ctr.attrs["HostConfig"]
    assert (hc["Memory"], hc["PidsLimit"], hc["RestartPolicy"]["Name"]) == (64 << 20, 100, "always")
    assert ctr.attrs["Config"]["Healthcheck"]["Retries"] == 4
    assert wait_for(lambda: (ctr.reload(), ctr.attrs["State"].get("Health", {}).get("Status"))[1] == "healthy", timeout=30)
    ctr.stop(timeout=0)
    ctr.reload()
    assert ctr.attrs["State"]["Status"] == "exited"  # a user's stop ends the always policy
    ctr.remove()


@needs_v1
@pytest.mark.skipif(not shutil.which("podman"), reason="podman is not installed")
def test_podman_remote_client_run_flags(service, tmp_path):  # noqa: F811
    env = {**os.environ, "CONTAINER_HOST": f"unix://{service}", "HOME": str(tmp_path)}

    def remote(*args):
        return subprocess.run(["podman", "--remote", *args], capture_output=True, env=env, timeout=60)

    p = remote("run", "--rm", "--memory", "48m", "--cpus", "0.25", "--pids-limit", "64", "--ipc", "host", "--uts", "host",
               "--sysctl", "net.ipv4.ip_forward=1", "--init", "--tz", "UTC", "--umask", "0027", "busybox", "sh", "-c",
               "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us"
               " /sys/fs/cgroup/pids/pids.max /proc/sys/net/ipv4/ip_forward; cat /proc/1/comm; umask; date +%Z;"
               " readlink /proc/1/ns/uts")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.decode().split()
    assert lines[:8] == [str(48 << 20), "25000", "64", "1", "podman-init", "0027", "UTC",
                         os.readlink("/proc/self/ns/uts")], lines
    p = remote("create", "--name", "prf", "--restart", "on-failure:3", "--health-cmd", "true", "--health-interval", "5s",
               "--oom-score-adj", "10", "--memory", "64m", "busybox", "true")
    assert p.returncode == 0, p.stderr
    fmt = "{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}} {{.HostConfig.Memory}}" \
          " {{.HostConfig.OomScoreAdj}} {{.Config.Healthcheck.Interval}}"
    assert remote("inspect", "--format", fmt, "prf").stdout.decode().split() == ["on-failure", "3", str(64 << 20), "10", "5s"]
    assert remote("rm", "prf").returncode == 0


def test_libpod_healthcheck_run_now(service, tmp_path):  # noqa: F811
    """GET /libpod/containers/{name}/healthcheck runs the check at once and
    answers State.Health; a container without a check, or not running, is a
    409 and one that does not exist a 404.  podman's remote client drives
    the same route where it is installed."""
    spec = {"name": "hc-now", "image": "busybox", "command": ["sleep", "1000"],
            "healthconfig": {"Test": ["CMD-SHELL", "test -e /tmp/ok"], "Interval": 3600_000_000_000, "Retries": 1}}
    status, body = call(service, "POST", "/v4.3.1/libpod/containers/create", json.dumps(spec))
    assert status == 201, body
    assert call(service, "GET", "/v4.3.1/libpod/containers/hc-now/healthcheck")[0] == 409  # created, not running
    assert call(service, "POST", "/v4.3.1/libpod/containers/hc-now/start")[0] == 204
    status, body = call(service, "GET", "/v4.3.1/libpod/containers/hc-now/healthcheck")
    health = json.loads(body)
    assert (status, health["Status"], health["FailingStreak"]) == (200, "unhealthy", 1), body
    assert health["Log"][-1]["ExitCode"] == 1
    exec_id = json.loads(call(service, "POST", "/v4.3.1/libpod/containers/hc-now/exec",
                              json.dumps({"Cmd": ["touch", "/tmp/ok"]}))[1])["Id"]
    assert call(service, "POST", f"/v4.3.1/libpod/exec/{exec_id}/start", json.dumps({"Detach": False}))[0] == 200
    if shutil.which("podman"):
        env = {**os.environ, "CONTAINER_HOST": f"unix://{service}", "HOME": str(tmp_path)}
        p = subprocess.run(["podman", "--remote", "healthcheck", "run", "hc-now"], capture_output=True, env=env,
                           timeout=60)
        assert p.returncode == 0, p.stderr
    status, body = call(service, "GET", "/v4.3.1/libpod/containers/hc-now/healthcheck")
    health = json.loads(body)
    assert (status, health["Status"], health["FailingStreak"]) == (200, "healthy", 0), body
    status, body = call(service, "GET", "/v1.41/containers/hc-now/json")
    assert json.loads(body)["State"]["Health"]["Status"] == "healthy"
    status, body = call(service, "GET", "/v4.3.1/libpod/containers/nope/healthcheck")
    assert status == 404 and b"unable to look up nope" in body
    assert call(service, "POST", "/v4.3.1/libpod/containers/create",
                json.dumps({"name": "hc-none", "image": "busybox", "command": ["true"]}))[0] == 201
    assert call(service, "GET", "/v4.3.1/libpod/containers/hc-none/healthcheck")[0] == 409
    assert call(service, "DELETE", "/v4.3.1/libpod/containers/hc-now?force=true&timeout=0")[0] == 200
