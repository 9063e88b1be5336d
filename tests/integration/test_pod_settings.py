"""pod create's limits and infra settings, as podman 4.3 has them: the pod
gets a cgroup of its own (PARENT/pypod-pod-ID) holding its limits, with
its containers' cgroups under it; the infra container takes the pod's
namespaces, security options, sysctls, devices, volumes and /dev/shm, and
the pod's containers inherit its mounts, devices and /dev/shm.  Bad input
changes nothing."""

from __future__ import annotations

import json
import os
import shutil
import uuid

import pytest

from .test_api import service  # noqa: F401 - the fixture
from .test_podman_remote import remote  # noqa: F401 - the fixture
from .test_resources import CG, needs_v1, root_block_device


def _hierarchies() -> list[str]:
    return [os.path.join(CG, d) for d in os.listdir(CG) if os.path.isdir(os.path.join(CG, d))
            and not os.path.islink(os.path.join(CG, d))]


def _cgroup_dirs(rel: str) -> list[str]:
    return [os.path.join(h, rel.strip("/")) for h in _hierarchies() if os.path.isdir(os.path.join(h, rel.strip("/")))]


def _remove_parent(parent: str) -> None:
    for d in _cgroup_dirs(parent):
        for sub, dirs, _files in os.walk(d, topdown=False):
            for name in dirs:
                os.rmdir(os.path.join(sub, name))
        os.rmdir(d)


def _read(path: str) -> str:
    with open(path) as f:
        return f.read().strip()


@needs_v1
def test_pod_cgroup_limits_and_infra_settings(pypod, tmp_path):
    parent = f"/pypod-test-{uuid.uuid4().hex[:8]}"
    dev = root_block_device()
    st = os.stat(dev)
    majmin = f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
    vol, shared = tmp_path / "vol", tmp_path / "shared"
    vol.mkdir()
    shared.mkdir()
    (vol / "f").write_text("from-the-pod")
    (shared / "g").write_text("from-volumes-from")
    pidfile = tmp_path / "infra-conmon.pid"
    pypod("create", "--name", "holder", "-v", f"{shared}:/shared", "busybox", "true")
    try:
        pod_id = pypod.out("pod", "create", "--name", "lim", "--memory", "64m", "--cpus", "1.5", "-c", "512",
                           "--cpuset-cpus", "0", "--cpuset-mems", "0", "--device-read-bps", f"{dev}:1mb",
                           "--device-write-bps", f"{dev}:2mb", "--cgroup-parent", parent,
                           "-v", f"{vol}:/data:ro", "--volumes-from", "holder", "--device", "/dev/zero:/dev/podzero",
                           "--security-opt", "no-new-privileges", "--sysctl", "net.ipv4.ip_forward=1",
                           "--shm-size", "10m", "--pid", "host", "--uts", "host",
                           "--infra-conmon-pidfile", str(pidfile))
        rel = f"{parent}/pypod-pod-{pod_id}"
        # The pod's cgroup exists from create on, with the limits in its files.
        pc = f"{CG}/%s{rel}/%s"
        assert _read(pc % ("memory", "memory.limit_in_bytes")) == str(64 << 20)
        if os.path.exists(pc % ("memory", "memory.memsw.limit_in_bytes")):
            assert _read(pc % ("memory", "memory.memsw.limit_in_bytes")) == str(128 << 20)  # podman's default: twice
        assert (_read(pc % ("cpu", "cpu.cfs_quota_us")), _read(pc % ("cpu", "cpu.cfs_period_us"))) == ("150000", "100000")
        assert _read(pc % ("cpu", "cpu.shares")) == "512"
        assert (_read(pc % ("cpuset", "cpuset.cpus")), _read(pc % ("cpuset", "cpuset.mems"))) == ("0", "0")
        assert _read(pc % ("blkio", "blkio.throttle.read_bps_device")) == f"{majmin} {1 << 20}"
        assert _read(pc % ("blkio", "blkio.throttle.write_bps_device")) == f"{majmin} {2 << 20}"
        # A member: its cgroup under the pod's (so the pod's limits bound it),
        # the infra's volumes, devices and /dev/shm, the infra's network namespace's sysctl.
        out = pypod.out("run", "--rm", "--pod", "lim", "busybox", "sh", "-c",
                        "cat /data/f; echo; cat /shared/g; echo; ls /dev/podzero; df -k /dev/shm | tail -1 | awk '{print $2}'; "
                        "cat /proc/sys/net/ipv4/ip_forward; grep hierarchical_memory_limit /sys/fs/cgroup/memory/memory.stat; "
                        "grep :memory: /proc/self/cgroup; touch /data/x 2>/dev/null || echo read-only")
        f, g, zero, shm, fwd, limit, cgroup, ro = out.splitlines()
        assert (f, g, zero, shm, fwd, ro) == ("from-the-pod", "from-volumes-from", "/dev/podzero", "10240", "1", "read-only")
        assert limit.split() == ["hierarchical_memory_limit", str(64 << 20)]
        assert cgroup.split(":", 2)[2].startswith(f"{rel}/pypod-")
        # The infra container: host PID and UTS namespaces, no new privileges, conmon's PID written.
        info = json.loads(pypod.out("pod", "inspect", "lim"))
        infra = info["InfraContainerID"]
        ipid = int(pypod.out("inspect", "-f", "{{.State.Pid}}", infra))
        assert os.readlink(f"/proc/{ipid}/ns/pid") == os.readlink("/proc/self/ns/pid")
        assert os.readlink(f"/proc/{ipid}/ns/uts") == os.readlink("/proc/self/ns/uts")
        assert "NoNewPrivs:\t1" in _read(f"/proc/{ipid}/status")
        assert pidfile.read_text().strip() == pypod.out("inspect", "-f", "{{.State.ConmonPid}}", infra)
        assert pypod.out("inspect", "-f", "{{.HostConfig.CgroupParent}}", infra) == rel
        # pod inspect in podman's shape
        assert (info["CgroupParent"], info["CgroupPath"], info["CreateCgroup"]) == (parent, rel, True)
        assert (info["memory_limit"], info["memory_swap"], info["cpu_quota"], info["cpu_period"]) == (
            64 << 20, 128 << 20, 150000, 100000)
        assert (info["cpu_shares"], info["cpuset_cpus"], info["cpuset_mems"]) == (512, "0", "0")
        assert info["device_read_bps"] == [{"Path": dev, "Rate": 1 << 20}]
        assert (info["InfraConfig"]["pid_ns"], info["InfraConfig"]["uts_ns"], info["InfraConfig"]["cpuset_cpus"]) == (
            "host", "host", "0")
        assert [(m["Source"], m["Destination"], m["RW"]) for m in info["mounts"]][0] == (str(vol), "/data", False)
        assert info["volumes_from"] == ["holder"] and info["security_opt"] == ["no-new-privileges"]
        assert info["devices"] == [{"PathOnHost": "/dev/zero", "PathInContainer": "/dev/podzero", "CgroupPermissions": "rwm"}]
        assert pypod.out("pod", "ps", "--format", "{{.Cgroup}}") == parent
        # pod rm takes the pod's cgroup away in every hierarchy
        pypod("pod", "rm", "-f", "-t", "0", "lim")
        assert _cgroup_dirs(rel) == []
    finally:
        pypod("pod", "rm", "-f", "-i", "-t", "0", "lim", check=False)
        _remove_parent(parent)


def test_pod_user_namespace_and_share_parent(pypod):
    """--uidmap/--gidmap/--userns/--subuidname give the infra container a
    user namespace; --share-parent=false leaves the members' cgroups beside
    the pod's."""
    pypod("pod", "create", "--name", "us", "--uidmap", "0:200000:65536", "--gidmap", "0:300000:65536")
    eng = pypod.engine()
    try:
        ns = eng.container(eng.pods.get("us").infra_id).config.namespaces
        assert [(m.container_id, m.host_id, m.size) for m in ns.uid_map] == [(0, 200000, 65536)]
        assert [(m.container_id, m.host_id, m.size) for m in ns.gid_map] == [(0, 300000, 65536)]
        assert json.loads(pypod.out("pod", "inspect", "us"))["InfraConfig"]["userns"] == "private"
        pypod("pod", "create", "--name", "hostns", "--userns", "host")
        assert json.loads(pypod.out("pod", "inspect", "hostns"))["InfraConfig"]["userns"] == "host"
        with open("/etc/subuid") as f:
            names = [line.split(":")[0] for line in f if line.count(":") == 2]
        if names:
            pypod("pod", "create", "--name", "sub", "--subuidname", names[0], "--subgidname", names[0])
            sub = eng.container(eng.pods.get("sub").infra_id).config.namespaces
            assert sub.uid_map and sub.gid_map and sub.uid_map[0].container_id == 0
        p = pypod("pod", "create", "--name", "bad", "--subuidname", "no-such-user-here", check=False)
        assert p.returncode == 125 and "no-such-user-here" in p.stderr.decode()
    finally:
        eng.close()
    pod_id = pypod.out("pod", "create", "--name", "flat", "--share-parent=false", "--memory", "32m")
    info = json.loads(pypod.out("pod", "inspect", "flat"))
    assert info["CreateCgroup"] is False and "CgroupPath" not in info and info["memory_limit"] == 32 << 20
    cgroup = pypod.out("run", "--rm", "--pod", "flat", "busybox", "grep", ":memory:", "/proc/self/cgroup")
    assert f"pypod-pod-{pod_id}" not in cgroup
    pypod("pod", "rm", "-a", "-f", "-t", "0")
    assert _cgroup_dirs(f"/pypod_parent/pypod-pod-{pod_id}") == []
    # without cgroups a pod gets none, and limits it cannot hold are refused
    p = pypod("--cgroup-manager", "disabled", "pod", "create", "--name", "capped", "--memory", "32m", check=False)
    assert p.returncode == 125 and "resource limits need a cgroup" in p.stderr.decode()
    pypod("--cgroup-manager", "disabled", "pod", "create", "--name", "free")
    assert "CgroupPath" not in json.loads(pypod.out("pod", "inspect", "free"))


@pytest.mark.parametrize("args, words", [
    (["--memory", "lots"], "invalid value for memory"),
    (["--memory", "64m", "--memory-swap", "32m"], "minimum memoryswap limit should be larger than memory limit"),
    (["--cpus", "x"], 'invalid argument "x" for "--cpus" flag'),
    (["--cpu-shares", "1"], "the minimum allowed cpu-shares is 2"),
    (["--cpuset-cpus", "4096"], "CPUs"),
    (["--device-read-bps", "/dev/null:1mb"], "/dev/null is not a block device"),
    (["--share-parent", "maybe"], 'invalid argument "maybe" for "--share-parent" flag'),
    (["--sysctl", "kernel.nope=1"], "sysctl"),
    (["--infra=false", "-v", "/tmp:/t"], "on a pod without an infra container"),
    (["--volume", "/nonexistent-pod-src:/x"], "statfs /nonexistent-pod-src: no such file or directory"),
    (["--shm-size", "lots"], "unable to translate --shm-size"),
])
def test_bad_pod_settings_change_nothing(pypod, args, words):
    p = pypod("pod", "create", "--name", "nope", *args, check=False)
    assert p.returncode == 125 and words in p.stderr.decode(), p.stderr
    assert pypod.out("pod", "ps", "-q") == "" and pypod.out("ps", "-aq") == ""


@needs_v1
def test_container_clone_with_new_limits_and_pod(pypod):
    """container clone's limit flags replace the original's (the rest kept),
    visible in the clone's cgroup files; --pod moves the clone into a pod
    (its cgroup under the pod's); bad values change nothing."""
    dev = root_block_device()
    st = os.stat(dev)
    majmin = f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
    files = ["memory/memory.limit_in_bytes", "memory/memory.soft_limit_in_bytes", "memory/memory.swappiness",
             "cpu/cpu.cfs_quota_us", "cpu/cpu.cfs_period_us", "cpu/cpu.shares", "cpuset/cpuset.cpus", "cpuset/cpuset.mems",
             "blkio/blkio.throttle.read_bps_device", "blkio/blkio.throttle.write_bps_device"]
    script = "; ".join(f"echo {f}=$(cat {CG}/{f})" for f in files) + "; grep :memory: /proc/self/cgroup"
    pypod("create", "--name", "orig", "--memory", "64m", "--cpu-shares", "256", "busybox", "sh", "-c", script)
    pypod("container", "clone", "--run", "-m", "96m", "--memory-reservation", "32m", "--memory-swap", "200m",
          "--memory-swappiness", "20", "--cpu-period", "50000", "--cpu-quota", "25000", "--cpuset-cpus", "0",
          "--cpuset-mems", "0", "--device-read-bps", f"{dev}:1mb", "--device-write-bps", f"{dev}:3mb", "orig", "limited")
    pypod("wait", "limited")
    lines = pypod.out("logs", "limited").splitlines()
    got = dict(line.split("=", 1) for line in lines[:-1])
    assert got["memory/memory.limit_in_bytes"] == str(96 << 20) and got["memory/memory.soft_limit_in_bytes"] == str(32 << 20)
    assert got["memory/memory.swappiness"] == "20" and got["cpu/cpu.shares"] == "256"  # kept from the original
    assert (got["cpu/cpu.cfs_quota_us"], got["cpu/cpu.cfs_period_us"]) == ("25000", "50000")
    assert (got["cpuset/cpuset.cpus"], got["cpuset/cpuset.mems"]) == ("0", "0")
    assert got["blkio/blkio.throttle.read_bps_device"] == f"{majmin} {1 << 20}"
    assert got["blkio/blkio.throttle.write_bps_device"] == f"{majmin} {3 << 20}"
    hc = json.loads(pypod.out("inspect", "--format", "{{json .HostConfig}}", "limited"))
    assert (hc["Memory"], hc["MemorySwap"], hc["CpuShares"]) == (96 << 20, 200 << 20, 256)
    # --cpus replaces period and quota; --cpu-rt-* are recorded (the host's root
    # cgroup gives no realtime budget to hand down, so they are not started here)
    pypod("container", "clone", "--cpus", "1.5", "-c", "700", "--cpu-rt-period", "1000", "--cpu-rt-runtime", "100",
          "orig", "cpus")
    hc = json.loads(pypod.out("inspect", "--format", "{{json .HostConfig}}", "cpus"))
    assert (hc["NanoCpus"], hc["CpuQuota"], hc["CpuPeriod"], hc["CpuShares"]) == (1_500_000_000, 150_000, 100_000, 700)
    assert (hc["CpuRealtimePeriod"], hc["CpuRealtimeRuntime"], hc["Memory"]) == (1000, 100, 64 << 20)
    # --pod: the clone's cgroup under the pod's
    pod_id = pypod.out("pod", "create", "--name", "dest")
    pypod("container", "clone", "--pod", "dest", "--run", "orig", "inpod")
    pypod("wait", "inpod")
    assert f"pypod-pod-{pod_id}/" in pypod.out("logs", "inpod").splitlines()[-1]
    assert pypod.out("inspect", "-f", "{{.Pod}}", "inpod") == pod_id
    for args, words in ((["--pod", "nowhere"], "no pod with name or ID nowhere found"),
                        (["--cpus", "1", "--cpu-quota", "1000"], "--cpu-quota and --cpus cannot be set together"),
                        (["--memory", "1m"], "minimum memory limit allowed is 6MB"),
                        (["--memory-swappiness", "200"], "valid memory swappiness range is 0-100"),
                        (["--blkio-weight-device", "/dev/null:10"], "/dev/null is not a block device")):
        p = pypod("container", "clone", *args, "orig", "never", check=False)
        assert p.returncode == 125 and words in p.stderr.decode(), (args, p.stderr)
    assert pypod("container", "exists", "never", check=False).returncode == 1


@needs_v1
@pytest.mark.skipif(not shutil.which("podman"), reason="podman is not installed")
def test_pod_settings_through_podman_remote(remote, pypod, tmp_path):  # noqa: F811
    """`podman --remote pod create` with limits and infra settings: the
    libpod pod spec's resource_limits, namespaces, mounts and options land
    where pypod's own CLI puts them."""
    vol = tmp_path / "rv"
    vol.mkdir()
    remote("pod", "create", "--name", "rp", "--memory", "64m", "--cpus", "0.5", "--cpu-shares", "300",
           "--cpuset-cpus", "0", "--shm-size", "10m", "-v", f"{vol}:/rv", "--sysctl", "net.ipv4.ip_forward=1",
           "--security-opt", "no-new-privileges", "--pid", "host", "--device", "/dev/zero:/dev/rz")
    info = json.loads(pypod.out("pod", "inspect", "rp"))
    assert (info["memory_limit"], info["cpu_quota"], info["cpu_shares"], info["cpuset_cpus"]) == (64 << 20, 50000, 300, "0")
    assert _read(f"{CG}/memory{info['CgroupPath']}/memory.limit_in_bytes") == str(64 << 20)
    assert info["InfraConfig"]["pid_ns"] == "host" and info["security_opt"] == ["no-new-privileges"]
    assert info["mounts"][0]["Destination"] == "/rv"
    out = pypod.out("run", "--rm", "--pod", "rp", "busybox", "sh", "-c",
                    "df -k /dev/shm | tail -1 | awk '{print $2}'; cat /proc/sys/net/ipv4/ip_forward; ls /dev/rz; ls -d /rv")
    assert out.split() == ["10240", "1", "/dev/rz", "/rv"]
    remote("pod", "rm", "-f", "rp")
    assert _cgroup_dirs(info["CgroupPath"]) == []


@needs_v1
def test_pod_clone(pypod, tmp_path):
    """pod clone copies the pod (labels, limits, infra settings) and its
    containers under podman's names; its flags change the copy; --start
    starts it, --destroy removes the original."""
    vol, extra = tmp_path / "v", tmp_path / "x"
    vol.mkdir()
    extra.mkdir()
    (extra / "e").write_text("extra\n")
    labels = tmp_path / "labels"
    labels.write_text("from=file\n")
    pypod("create", "--name", "vsrc", "-v", f"{extra}:/vf", "busybox", "true")
    orig = pypod.out("pod", "create", "--name", "op", "-l", "a=b", "--memory", "64m", "-v", f"{vol}:/v",
                     "--shm-size", "8m")
    pypod("create", "--pod", "op", "--name", "member", "busybox", "sh", "-c",
          "df -k /dev/shm | tail -1 | awk '{print $2}'; cat /proc/sys/net/ipv4/ip_forward; ls /dev/cz; ls -d /v; cat /vf/e; "
          "hostname; grep NoNewPrivs /proc/1/status; sleep 1000")
    first = pypod.out("pod", "clone", "op")
    assert pypod.out("pod", "inspect", "-f", "{{.Name}}", first) == "op-clone"
    assert sorted(pypod.out("pod", "ps", "--filter", f"id={first}", "--format", "{{.ContainerNames}}").split(",")) == [
        f"{orig[:12]}-infra-clone", "member-clone"]
    info = json.loads(pypod.out("pod", "inspect", first))
    assert (info["Labels"], info["memory_limit"], info["mounts"][0]["Destination"]) == ({"a": "b"}, 64 << 20, "/v")
    pidfile = tmp_path / "icp"
    second = pypod.out("pod", "clone", "--start", "--destroy", "-l", "c=d", "--label-file", str(labels), "-h", "cloned",
                       "--infra-name", "newinfra", "--memory", "96m", "--cpus", "0.5", "-c", "400", "--cpuset-cpus", "0",
                       "--cpuset-mems", "0", "--shm-size", "16m", "--sysctl", "net.ipv4.ip_forward=1",
                       "--device", "/dev/zero:/dev/cz", "--volumes-from", "vsrc", "--security-opt", "no-new-privileges",
                       "--uts", "private", "--pid", "private", "--infra-conmon-pidfile", str(pidfile),
                       "--infra-command", "/catatonit -P", "op", "renamed")
    assert pypod("pod", "exists", "op", check=False).returncode == 1  # --destroy
    info = json.loads(pypod.out("pod", "inspect", "renamed"))
    assert info["Id"] == second and info["State"] == "Running" and info["Hostname"] == "cloned"
    assert info["Labels"] == {"a": "b", "c": "d", "from": "file"}
    assert (info["memory_limit"], info["cpu_quota"], info["cpu_shares"], info["cpuset_mems"]) == (96 << 20, 50000, 400, "0")
    assert _read(f"{CG}/memory{info['CgroupPath']}/memory.limit_in_bytes") == str(96 << 20)
    assert _read(f"{CG}/cpu{info['CgroupPath']}/cpu.shares") == "400"
    infra = info["InfraContainerID"]
    assert pypod.out("inspect", "-f", "{{.Name}}", infra) == "newinfra"
    assert pidfile.read_text().strip() == pypod.out("inspect", "-f", "{{.State.ConmonPid}}", infra)
    assert "NoNewPrivs:\t1" in _read(f"/proc/{pypod.out('inspect', '-f', '{{.State.Pid}}', infra)}/status")
    member = next(c["Name"] for c in info["Containers"] if c["Id"] != infra)
    assert member == "member-clone1"

    def member_out():
        lines = pypod.out("logs", member).splitlines()
        return lines if len(lines) >= 7 else None

    from tests.conftest import wait_for

    out = wait_for(member_out) or pypod.out("logs", member).splitlines()
    assert out == ["16384", "1", "/dev/cz", "/v", "extra", "cloned", "NoNewPrivs:\t0"]
    p = pypod("pod", "clone", "--memory", "1m", "renamed", check=False)
    assert p.returncode == 125 and "minimum memory limit allowed is 6MB" in p.stderr.decode()
    p = pypod("pod", "clone", "nosuchpod", check=False)
    assert p.returncode == 125 and "no pod with name or ID nosuchpod found" in p.stderr.decode()
    assert sorted(pypod.out("pod", "ps", "--format", "{{.Name}}").split()) == ["op-clone", "renamed"]


def test_init_containers_and_create_attach(pypod):
    """create --init-ctr: at pod start the init containers run to completion
    first ("once" ones are then removed), a failing one stops the start;
    create -a names the streams a later start --attach gives."""
    pypod("pod", "create", "--name", "ip")
    pypod("create", "--pod", "ip", "--init-ctr", "always", "--name", "every", "busybox", "sh", "-c", "echo ran")
    pypod("create", "--pod", "ip", "--init-ctr", "once", "--name", "first", "busybox", "true")
    pypod("create", "--pod", "ip", "--name", "main", "busybox", "sleep", "1000")
    pypod("pod", "start", "ip")
    states = {c["Names"][0]: c["State"] for c in json.loads(pypod.out("ps", "-a", "--format", "json"))}
    assert (states.get("every"), states.get("main"), "first" in states) == ("exited", "running", False)
    p = pypod("create", "--pod", "ip", "--init-ctr", "once", "busybox", "true", check=False)
    assert p.returncode == 125 and "cannot add init-ctr to a running pod" in p.stderr.decode()
    pypod("pod", "stop", "-t", "0", "ip")
    pypod("pod", "start", "ip")
    assert pypod.out("logs", "every").split() == ["ran", "ran"]  # always: at each start
    pypod("pod", "create", "--name", "bad")
    failing = pypod.out("create", "--pod", "bad", "--init-ctr", "always", "busybox", "sh", "-c", "exit 3")
    pypod("create", "--pod", "bad", "--name", "never", "busybox", "sleep", "1000")
    p = pypod("pod", "start", "bad", check=False)
    assert p.returncode == 125 and f"init container {failing} exited with code 3" in p.stderr.decode()
    assert pypod.out("inspect", "-f", "{{.State.Status}}", "never") == "created"
    for args, words in ((["--init-ctr", "sometimes", "--pod", "ip"], "init-ctr value must be 'always' or 'once'"),
                        (["--init-ctr", "always"], "must specify pod value with init-ctr")):
        p = pypod("create", *args, "busybox", "true", check=False)
        assert p.returncode == 125 and words in p.stderr.decode()
    # create -a stdout: start --attach gives stdout only
    pypod("create", "-a", "stdout", "--name", "att", "busybox", "sh", "-c", "echo out; echo err >&2")
    p = pypod("start", "--attach", "att")
    assert (p.stdout, p.stderr) == (b"out\n", b"")
    before = pypod.out("ps", "-aq")
    p = pypod("create", "-a", "stdweird", "busybox", "true", check=False)
    assert p.returncode == 125 and b"stdweird" in p.stderr and pypod.out("ps", "-aq") == before


@needs_v1
def test_pod_stats_reads_the_members_under_the_pod_cgroup(pypod):
    """pod stats finds each container's cgroup under the pod's: a busy
    member shows CPU time where the idle infra shows next to none."""
    pypod("pod", "create", "--name", "st")
    pypod("run", "-d", "--pod", "st", "--name", "busy", "busybox", "sh", "-c", "while :; do :; done")
    rows = json.loads(pypod.out("pod", "stats", "--no-stream", "--format", "json", "st"))
    by_name = {r["Name"]: r for r in rows}
    busy = float(by_name["busy"]["CPU"].rstrip("%"))
    infra = next(r for name, r in by_name.items() if name != "busy")
    assert busy > float(infra["CPU"].rstrip("%")) and busy > 0
    assert by_name["busy"]["MemUsage"].endswith("B") and int(by_name["busy"]["PIDS"]) >= 1
