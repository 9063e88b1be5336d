"""Resource limits seen where they act: the container's cgroup files (read
from inside the container), /proc, and inspect; and refusals of what the
host cannot do."""

from __future__ import annotations

import json
import os
import uuid

import pytest

from tests.conftest import wait_for

CG = "/sys/fs/cgroup"
V1 = not os.path.exists(f"{CG}/cgroup.controllers")
needs_v1 = pytest.mark.skipif(not V1, reason="these checks read cgroup v1 files; this host has cgroup v2")


def root_block_device() -> str:
    """A block device of this host for the per-device limits (the first disk)."""
    with open("/proc/partitions") as f:
        for line in f.read().splitlines()[2:]:
            name = line.split()[-1]
            if os.path.exists(f"/dev/{name}") and not name[-1].isdigit():
                return f"/dev/{name}"
    pytest.skip("no whole-disk block device in /proc/partitions")


@needs_v1
def test_limits_reach_the_cgroup_and_inspect(pypod):
    dev = root_block_device()
    st = os.stat(dev)
    majmin = f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
    files = ["memory/memory.limit_in_bytes", "memory/memory.soft_limit_in_bytes", "memory/memory.memsw.limit_in_bytes",
             "memory/memory.swappiness", "cpu/cpu.cfs_quota_us", "cpu/cpu.cfs_period_us", "cpu/cpu.shares",
             "cpuset/cpuset.cpus", "cpuset/cpuset.mems", "pids/pids.max", "blkio/blkio.throttle.read_bps_device",
             "blkio/blkio.throttle.write_bps_device", "blkio/blkio.throttle.read_iops_device",
             "blkio/blkio.throttle.write_iops_device"]
    script = "; ".join(f"echo {f}=$(cat {CG}/{f})" for f in files)
    script += "; echo oom=$(grep oom_kill_disable /sys/fs/cgroup/memory/memory.oom_control); echo adj=$(cat /proc/self/oom_score_adj)"
    script += "; echo shm=$(df -k /dev/shm | tail -1 | awk '{print $2}'); echo nofile=$(ulimit -n):$(ulimit -Hn)"
    cid = pypod.out("create", "--name", "limited", "--memory", "64m", "--memory-reservation", "32m", "--memory-swap", "96m",
                    "--memory-swappiness", "10", "--cpus", "0.5", "--cpu-shares", "512", "--cpuset-cpus", "0",
                    "--cpuset-mems", "0", "--pids-limit", "100", "--device-read-bps", f"{dev}:1mb",
                    "--device-write-bps", f"{dev}:2mb", "--device-read-iops", f"{dev}:100", "--device-write-iops", f"{dev}:200",
                    "--oom-kill-disable", "--oom-score-adj", "100", "--shm-size", "128m", "--ulimit", "nofile=100:200",
                    "busybox", "sh", "-c", script)
    pypod("start", cid)
    pypod("wait", cid)
    got = dict(line.split("=", 1) for line in pypod.out("logs", cid).splitlines())
    assert got["memory/memory.limit_in_bytes"] == str(64 << 20)
    assert got["memory/memory.soft_limit_in_bytes"] == str(32 << 20)
    assert got["memory/memory.memsw.limit_in_bytes"] == str(96 << 20)
    assert got["memory/memory.swappiness"] == "10"
    assert (got["cpu/cpu.cfs_quota_us"], got["cpu/cpu.cfs_period_us"], got["cpu/cpu.shares"]) == ("50000", "100000", "512")
    assert (got["cpuset/cpuset.cpus"], got["cpuset/cpuset.mems"], got["pids/pids.max"]) == ("0", "0", "100")
    assert got["blkio/blkio.throttle.read_bps_device"] == f"{majmin} {1 << 20}"
    assert got["blkio/blkio.throttle.write_bps_device"] == f"{majmin} {2 << 20}"
    assert got["blkio/blkio.throttle.read_iops_device"] == f"{majmin} 100"
    assert got["blkio/blkio.throttle.write_iops_device"] == f"{majmin} 200"
    assert got["oom"] == "oom_kill_disable 1" and got["adj"] == "100"
    assert got["shm"] == str(128 * 1024) and got["nofile"] == "100:200"
    hc = json.loads(pypod.out("inspect", "--format", "{{json .HostConfig}}", cid))
    assert (hc["Memory"], hc["MemoryReservation"], hc["MemorySwap"], hc["MemorySwappiness"]) == (64 << 20, 32 << 20, 96 << 20, 10)
    assert (hc["NanoCpus"], hc["CpuPeriod"], hc["CpuQuota"], hc["CpuShares"]) == (500_000_000, 100_000, 50_000, 512)
    assert (hc["CpusetCpus"], hc["CpusetMems"], hc["PidsLimit"], hc["OomKillDisable"], hc["OomScoreAdj"]) == ("0", "0", 100, True, 100)
    assert hc["BlkioDeviceReadBps"] == [{"Path": dev, "Rate": 1 << 20}]
    assert hc["BlkioDeviceWriteIOps"] == [{"Path": dev, "Rate": 200}]
    assert hc["ShmSize"] == 128 << 20
    assert {"Name": "RLIMIT_NOFILE", "Soft": 100, "Hard": 200} in hc["Ulimits"]


@needs_v1
def test_defaults_and_cgroup_parent(pypod):
    """podman's default pids limit and swap (twice the memory); the cgroup
    under --cgroup-parent, with conmon beside it unless --cgroups no-conmon."""
    parent = f"/pypod-test-{uuid.uuid4().hex[:8]}"
    try:
        cid = pypod.out("run", "-d", "--memory", "32m", "--cgroup-parent", parent, "busybox", "sleep", "1000")
        inside = pypod.out("exec", cid, "sh", "-c", f"cat {CG}/pids/pids.max {CG}/memory/memory.memsw.limit_in_bytes")
        assert inside.split() == ["2048", str(64 << 20)]
        assert os.path.isdir(f"{CG}/memory{parent}/pypod-{cid}")
        conmon = json.loads(pypod.out("inspect", cid))[0]["State"]["ConmonPid"]
        with open(f"/proc/{conmon}/cgroup") as f:
            assert f"memory:{parent}/conmon" in f.read()
        hc = json.loads(pypod.out("inspect", "--format", "{{json .HostConfig}}", cid))
        assert hc["CgroupParent"] == parent and hc["PidsLimit"] == 2048 and hc["MemorySwap"] == 64 << 20
        nc = pypod.out("run", "-d", "--cgroups", "no-conmon", "--pids-limit", "0", "busybox", "sleep", "1000")
        conmon = json.loads(pypod.out("inspect", nc))[0]["State"]["ConmonPid"]
        with open(f"/proc/{conmon}/cgroup") as f:
            assert "/conmon" not in f.read()
        assert pypod.out("exec", nc, "cat", f"{CG}/pids/pids.max") == "max"
        pypod("rm", "-f", "-t", "0", cid, nc)
        assert wait_for(lambda: not os.path.exists(f"{CG}/memory{parent}/pypod-{cid}"))
    finally:
        for ctl in os.listdir(CG):
            for sub in ("conmon", ""):
                try:
                    os.rmdir(os.path.join(CG, ctl, parent.strip("/"), sub))
                except OSError:
                    pass


@pytest.mark.parametrize("flags,words", [
    (["--memory", "64m", "--memory-reservation", "128m"], "minimum memory limit cannot be less than memory reservation limit"),
    (["--memory-swap", "64m"], "you should always set a memory limit when using a memoryswap limit"),
    (["--memory", "64m", "--memory-swap", "32m"], "minimum memoryswap limit should be larger than memory limit"),
    (["--memory-swappiness", "101"], "valid memory swappiness range is 0-100"),
    (["--cpus", "1", "--cpu-period", "10000"], "--cpu-period and --cpus cannot be set together"),
    (["--cpu-period", "500"], "CPU cfs period cannot be less than 1ms"),
    (["--cpu-shares", "1"], "the minimum allowed cpu-shares is 2"),
    (["--cpuset-cpus", "4096"], "requested CPUs are not available"),
    (["--oom-score-adj", "2000"], "must be between -1000 and 1000"),
    (["--memory", "lots"], "invalid value for memory: invalid size: 'lots'"),
    (["--device-read-bps", "/dev/nonexistent:1mb"], "could not parse throttle device at /dev/nonexistent"),
    (["--device-write-iops", "/dev/null:x"], "invalid rate for device"),
    (["--device-read-bps", "/dev/null:1mb"], "/dev/null is not a block device"),
    (["--cgroups", "disabled"], "is not compatible with NoCgroups"),
    (["--cgroups", "split"], "--cgroups split needs the cgroup v2 unified hierarchy"),
    (["--cgroup-conf", "memory.high=1"], "cannot use --cgroup-conf without cgroup v2"),
    (["--ulimit", "nofile=99999999999"], "raising it needs CAP_SYS_RESOURCE"),
    (["--shm-size", "-1"], "unable to translate --shm-size"),
])
def test_bad_limits_are_refused_and_leave_nothing(pypod, flags, words):
    if "--cgroup-conf" in flags and not V1:
        pytest.skip("cgroup v2 host")
    if "--ulimit" in flags:
        import resource

        if resource.getrlimit(resource.RLIMIT_NOFILE)[1] == resource.RLIM_INFINITY:
            pytest.skip("no finite hard limit here")
    p = pypod("create", *flags, "busybox", "true", check=False)
    assert p.returncode == 125, p.stderr
    assert words in p.stderr.decode()
    assert pypod.out("ps", "-a", "-q") == ""


def test_what_this_kernel_lacks_is_refused(pypod):
    if os.path.exists(f"{CG}/blkio/blkio.weight") or not V1:
        pytest.skip("this kernel has a Block I/O weight")
    p = pypod("create", "--blkio-weight", "300", "busybox", "true", check=False)
    assert p.returncode == 125 and "Block I/O weight" in p.stderr.decode()
    p = pypod("create", "--kernel-memory", "10m", "busybox", "true", check=False)
    assert p.returncode == 0 and "--kernel-memory flag is no longer supported" in p.stderr.decode()
