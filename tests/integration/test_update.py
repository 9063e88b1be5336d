"""`update`: new cgroup limits for a running container (seen in its cgroup
files and in inspect), for a stopped one (applied at its next start), the
refusals, and the same through docker-py's and libpod's update routes."""

from __future__ import annotations

import json
import os

import pytest

from tests.integration.test_api import service  # noqa: F401 (the fixture)

V1 = not os.path.exists("/sys/fs/cgroup/cgroup.controllers")
pytestmark = pytest.mark.skipif(not V1, reason="these checks read cgroup v1 files; this host has cgroup v2")

FILES = ("memory/memory.limit_in_bytes", "memory/memory.memsw.limit_in_bytes", "cpu/cpu.cfs_quota_us",
         "cpu/cpu.shares", "pids/pids.max")


def cgroup(pypod, ctr: str) -> list[str]:
    return pypod.out("exec", ctr, "cat", *(f"/sys/fs/cgroup/{f}" for f in FILES)).split()


def test_update_running_and_stopped_containers(pypod):
    cid = pypod.out("run", "-d", "--name", "up", "--memory", "64m", "--cpu-shares", "512", "busybox", "sleep", "1000")
    assert pypod.out("update", "--memory", "96m", "--cpus", "0.5", "--pids-limit", "50", "up") == cid
    assert cgroup(pypod, "up") == [str(96 << 20), str(192 << 20), "50000", "512", "50"]
    hc = json.loads(pypod.out("inspect", "up"))[0]["HostConfig"]
    assert (hc["Memory"], hc["MemorySwap"], hc["NanoCpus"], hc["CpuQuota"], hc["PidsLimit"], hc["CpuShares"]) == \
        (96 << 20, 192 << 20, 500_000_000, 50000, 50, 512)
    # an explicit quota replaces --cpus; unlimited swap stays unlimited
    pypod("update", "--cpu-quota", "20000", "--memory-swap", "-1", "up")
    pypod("update", "--memory", "80m", "up")
    assert cgroup(pypod, "up")[:3] == [str(80 << 20), "9223372036854771712", "20000"]
    hc = json.loads(pypod.out("inspect", "up"))[0]["HostConfig"]
    assert (hc["NanoCpus"], hc["CpuQuota"], hc["MemorySwap"]) == (0, 20000, -1)
    # a stopped container keeps the new limits for its next start
    pypod("stop", "-t", "0", "up")
    pypod("update", "--memory", "48m", "--memory-swap", "64m", "--cpu-shares", "256", "up")
    pypod("start", "up")
    assert cgroup(pypod, "up")[:4] == [str(48 << 20), str(64 << 20), "20000", "256"]
    # refusals change nothing
    for args, word in ((["--memory", "2m"], "6MB"), (["--cpus", "1", "--cpu-quota", "5000"], "--cpus"),
                       (["--memory-swap", "1m"], "memoryswap"), (["--cpu-shares", "1"], "cpu-shares")):
        p = pypod("update", *args, "up", check=False)
        assert p.returncode == 125 and word.encode() in p.stderr, (args, p.stderr)
    p = pypod("update", "--memory", "64m", "nope", check=False)
    assert p.returncode == 125 and b"no such container" in p.stderr
    assert cgroup(pypod, "up")[:4] == [str(48 << 20), str(64 << 20), "20000", "256"]
    pypod("rm", "-f", "-t", "0", "up")


def test_update_through_docker_py_and_libpod(service, pypod):  # noqa: F811
    docker = pytest.importorskip("docker")
    c = docker.DockerClient(base_url=f"unix://{service}", version="1.41")
    ctr = c.containers.run("busybox", ["sleep", "1000"], detach=True, name="dup", mem_limit="64m")
    ctr.update(mem_limit="128m", memswap_limit="256m", cpu_shares=300, cpu_period=100000, cpu_quota=25000,
               restart_policy={"Name": "on-failure", "MaximumRetryCount": 4})
    got = ctr.exec_run(["cat", *(f"/sys/fs/cgroup/{f}" for f in FILES)]).output.decode().split()
    assert got[:4] == [str(128 << 20), str(256 << 20), "25000", "300"]
    ctr.reload()
    assert (ctr.attrs["HostConfig"]["Memory"], ctr.attrs["HostConfig"]["CpuQuota"]) == (128 << 20, 25000)
    assert ctr.attrs["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 4}
    with pytest.raises(docker.errors.APIError) as e:
        ctr.update(mem_limit=1024)
    assert e.value.status_code == 400 and "6MB" in str(e.value)
    podman = pytest.importorskip("podman")
    p = podman.PodmanClient(base_url=f"unix://{service}")
    resp = p.api.post(f"/containers/{ctr.id}/update", data=json.dumps({"pids": {"limit": 77}, "memory": {"limit": 100 << 20}}))
    assert resp.status_code == 201, resp.text
    got = ctr.exec_run(["cat", "/sys/fs/cgroup/pids/pids.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]).output.split()
    assert got == [b"77", str(100 << 20).encode()]
    ctr.remove(force=True)
