"""The crash-consistency proof: every failpoint of every operation, walked.

The failpoints are found in pypod's source (pypod.failpoints.discover), so
a step added anywhere is walked here without editing this file.  For each
one the operation that reaches it runs with PYPOD_FAILPOINT naming it and
dies there by SIGKILL; then:

1. the next command tells the truth: what `ps -a` (and the store behind
   it) says of each container equals what runc and the process table say;
   no overlay mount exists that no container records;
2. the operation can be repeated, and ends as it would have;
3. after `rm -af` (and `rmi -af` for image operations) nothing is left:
   no conmon, runc entry, mount, exec dir, exit or socket file, lock,
   temporary or half-removed file, container or session row, netns.

An operation is the name up to its last dot (`rm`, `volume.create`), the
step the part after it.  A new operation
(pull, commit, volume, network, ...) gets its SCENARIOS entry here: how to
set it up, the command that reaches its steps, and how to repeat it.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
import time
from dataclasses import dataclass, field

import pytest

from pypod import failpoints
from pypod.oci.procs import pid_alive
from tests.conftest import _mounts_under, conmon_pids_for, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="runs real containers: needs root")

SLEEPER = ["busybox", "sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.2; done"]


def _layer_tar(path: str, tag: bytes) -> None:
    """A small rootfs layer (two files in a dir) whose content is unique to the test."""
    with tarfile.open(path, "w") as tar:
        d = tarfile.TarInfo("data")
        d.type = tarfile.DIRTYPE
        d.mode = 0o755
        tar.addfile(d)
        for name, data in (("data/a", tag * 100), ("data/b", b"b" + tag)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))


@dataclass
class Scenario:
    """setup: commands before; run: the command the failpoint kills;
    repeat: the same operation again, which must succeed; then verify."""

    run: list[str]
    setup: list[list[str]] = field(default_factory=list)
    repeat: list[list[str]] = field(default_factory=list)
    #: checks after the repeat (a callable taking the Pypod helper)
    verify: object = None
    images: bool = False
    volumes: bool = False


def _running(name: str):
    def check(pypod):
        st = json.loads(pypod.out("inspect", name))[0]["State"]
        assert st["Status"] == "running" and st["Pid"] > 0, st
        assert not st["StartedAt"].startswith("0001"), st
        # a start no pypod recorded still has its real time: not "Up 56 years"
        assert "years" not in pypod.out("ps", "--format", "{{.Status}}")
    return check


def _exited(name: str):
    def check(pypod):
        st = json.loads(pypod.out("inspect", name))[0]["State"]
        assert st["Status"] == "exited", st
    return check


def _gone(name: str):
    def check(pypod):
        assert pypod("inspect", name, check=False).returncode != 0
    return check


def _image_whole(ref: str, tag: bytes):
    def check(pypod):
        eng = pypod.engine()
        try:
            img = eng.images.lookup(ref)
            top = img.layer_dirs[-1]
            with open(os.path.join(top, "data", "a"), "rb") as f:
                assert f.read() == tag * 100
            with open(os.path.join(top, "data", "b"), "rb") as f:
                assert f.read() == b"b" + tag
        finally:
            eng.close()
    return check


def _volume_usable(name: str):
    def check(pypod):
        vol = json.loads(pypod.out("volume", "inspect", name))[0]
        assert os.path.isdir(vol["Mountpoint"])
        pypod("run", "--rm", "-v", f"{name}:/v", "busybox", "sh", "-c", "echo ok > /v/f")
        with open(os.path.join(vol["Mountpoint"], "f")) as f:
            assert f.read() == "ok\n"
    return check


def _gone_volume(name: str):
    def check(pypod):
        assert pypod("volume", "inspect", name, check=False).returncode != 0
    return check


def _network_gone(name: str):
    """After the repeat: exited, and its network torn down (the host side is
    checked by the walk itself, through the test's address block)."""
    def check(pypod):
        _exited(name)(pypod)
        assert _sandbox_rows(pypod) == (0, 0)
        assert not os.listdir(os.path.join(pypod.runroot, "netns"))
    return check


def _sandbox_rows(pypod) -> tuple[int, int]:
    eng = pypod.engine()
    try:
        db = eng.netstore._db
        return (db.execute("SELECT COUNT(*) FROM net_sandboxes").fetchone()[0],
                db.execute("SELECT COUNT(*) FROM net_allocations").fetchone()[0])
    finally:
        eng.close()


def _pod_with_infra(name: str):
    def check(pypod):
        pod = json.loads(pypod.out("pod", "inspect", name))
        pod = pod[0] if isinstance(pod, list) else pod
        assert [c["Id"] for c in pod["Containers"]] == [pod["InfraContainerID"]]
        pypod("pod", "rm", "-f", name)
    return check


def _no_pods(pypod):
    assert pypod.out("pod", "ps", "-q") == "" and pypod.out("ps", "-aq") == ""


_REGISTRY = None


def _registry_host() -> str:
    """One docker-registry (tests/registry/helpers.py) per test process, for
    the pull and push walks; each walk uses a repository of its own."""
    global _REGISTRY
    if _REGISTRY is None:
        import atexit
        import tempfile

        from tests.registry.helpers import Registry

        _REGISTRY = Registry(tempfile.mkdtemp(prefix="pypod-fp-registry-"))
        atexit.register(_REGISTRY.stop)
    return _REGISTRY.host


def _pulls_and_runs(ref: str):
    def check(pypod):
        assert pypod.out("run", "--rm", ref, "echo", "whole") == "whole"
    return check


def _registry_scenarios(tmp: str) -> dict[str, Scenario]:
    import hashlib

    if not os.path.exists("/usr/bin/docker-registry"):
        return {}
    repo = f"{_registry_host()}/fp/r{hashlib.sha256(tmp.encode()).hexdigest()[:12]}:1"
    pull = ["pull", "-q", "--tls-verify=false", repo]
    push = ["push", "-q", "--tls-verify=false", "busybox", repo]
    return {
        # busybox goes up first, then away: the pull fetches every layer
        "pull": Scenario(setup=[push, ["rmi", "-af"]], run=pull, repeat=[pull], verify=_pulls_and_runs(repo), images=True),
        "push": Scenario(run=push, repeat=[push],
                         verify=lambda p: p("manifest", "inspect", "--tls-verify=false", repo).returncode == 0, images=True),
    }


def scenarios(tmp: str) -> dict[str, Scenario]:
    layer = os.path.join(tmp, "layer.tar")
    _layer_tar(layer, b"fp")
    archive = os.path.join(tmp, "image.tar")
    return {
        "create": Scenario(run=["create", "--name", "fp", *SLEEPER],
                           repeat=[["create", "--replace", "--name", "fp", *SLEEPER]],
                           verify=lambda p: json.loads(p.out("inspect", "fp"))[0]["State"]["Status"] == "created"),
        "init": Scenario(setup=[["create", "--name", "fp", *SLEEPER]], run=["start", "fp"],
                         repeat=[["start", "fp"]], verify=_running("fp")),
        "start": Scenario(setup=[["create", "--name", "fp", *SLEEPER]], run=["start", "fp"],
                          repeat=[["start", "fp"]], verify=_running("fp")),
        "sync": Scenario(setup=[["run", "-d", "--name", "fp", *SLEEPER]], run=["stop", "-t", "5", "fp"],
                         repeat=[["stop", "fp"]], verify=_exited("fp")),
        "stop": Scenario(setup=[["run", "-d", "--name", "fp", *SLEEPER]], run=["stop", "-t", "5", "fp"],
                         repeat=[["stop", "fp"]], verify=_exited("fp")),
        "cleanup": Scenario(setup=[["run", "-d", "--name", "fp", *SLEEPER]], run=["stop", "-t", "5", "fp"],
                            repeat=[["stop", "fp"]], verify=_exited("fp")),
        "rm": Scenario(setup=[["run", "-d", "--name", "fp", *SLEEPER]], run=["rm", "-f", "fp"],
                       repeat=[["rm", "-f", "fp"]], verify=_gone("fp")),
        "exec": Scenario(setup=[["run", "-d", "--name", "fp", *SLEEPER]],
                         run=["exec", "fp", "sh", "-c", "echo out; sleep 0.3"],
                         repeat=[["exec", "fp", "true"]], verify=_running("fp")),
        "layer": Scenario(run=["import", layer, "fpimg"], repeat=[["import", layer, "fpimg"]],
                          verify=_image_whole("fpimg", b"fp"), images=True),
        "import": Scenario(run=["import", layer, "fpimg"], repeat=[["import", layer, "fpimg"]],
                           verify=_image_whole("fpimg", b"fp"), images=True),
        "load": Scenario(setup=[["import", layer, "fpsrc"], ["save", "-o", archive, "fpsrc"], ["rmi", "fpsrc"]],
                         run=["load", "-i", archive], repeat=[["load", "-i", archive]],
                         verify=_image_whole("fpsrc", b"fp"),
                         images=True),
        "rmi": Scenario(setup=[["import", layer, "fpimg"]], run=["rmi", "fpimg"],
                        repeat=[["rmi", "fpimg"], ["import", layer, "fpimg"]],
                        verify=_image_whole("fpimg", b"fp"), images=True),
        # the container writes what _image_whole looks for in the top layer
        "commit": Scenario(setup=[["run", "--name", "fp", "busybox", "sh", "-c",
                                   "mkdir /data; for i in $(seq 100); do printf fp; done > /data/a; printf bfp > /data/b"]],
                           run=["commit", "fp", "fpimg"], repeat=[["commit", "fp", "fpimg"]],
                           verify=_image_whole("fpimg", b"fp"), images=True),
        "volume.create": Scenario(run=["volume", "create", "fpvol"], repeat=[["volume", "create", "--ignore", "fpvol"]],
                                  verify=_volume_usable("fpvol"), volumes=True),
        # a volume with its own filesystem, mounted: its removal unmounts first
        "volume.rm": Scenario(setup=[["volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "fpvol"],
                                     ["volume", "mount", "fpvol"]],
                              run=["volume", "rm", "fpvol"], repeat=[["volume", "rm", "fpvol"]],
                              verify=_gone_volume("fpvol"), volumes=True),
        # setup in the foreground run, teardown in its cleanup after the exit
        # (the test root's own bridge and subnet: tests/hostnet.py)
        "network": Scenario(run=["run", "--network", "bridge", "--name", "fp", "-p", "127.0.0.1::80", "busybox", "true"],
                            repeat=[["rm", "-f", "fp"], ["run", "--network", "bridge", "--name", "fp", "-p",
                                                         "127.0.0.1::80", "busybox", "true"]],
                            verify=_network_gone("fp")),
        # a pod: its record, then its infra container; removed members first, the record last
        "pod": Scenario(run=["pod", "create", "--name", "fpp"],
                        repeat=[["pod", "rm", "-f", "-i", "fpp"], ["pod", "create", "--name", "fpp"]],
                        verify=_pod_with_infra("fpp")),
        "podrm": Scenario(setup=[["pod", "create", "--name", "fpp"], ["run", "-d", "--pod", "fpp", "--name", "fpm", *SLEEPER]],
                          run=["pod", "rm", "-f", "-t", "0", "fpp"], repeat=[["pod", "rm", "-f", "-i", "-t", "0", "fpp"]],
                          verify=_no_pods),
        # a COPY layer, a RUN container and its layer, the images without --layers, then the name
        "build": Scenario(run=_build_cmd(tmp), repeat=[_build_cmd(tmp)],
                          verify=lambda p: p.out("run", "--rm", "fpimg", "cat", "/f", "/data") == "fp\nfp", images=True),
        **_registry_scenarios(tmp),
    }


def _build_cmd(tmp: str) -> list[str]:
    ctx = os.path.join(tmp, "buildctx")
    os.makedirs(ctx, exist_ok=True)
    with open(os.path.join(ctx, "f"), "w") as f:
        f.write("fp\n")
    with open(os.path.join(ctx, "Containerfile"), "w") as f:
        f.write("FROM busybox\nCOPY f /f\nRUN echo fp > /data\nENV A=1\n")
    return ["build", "--layers=false", "--network", "none", "-t", "fpimg", ctx]


#: steps reached by more than one operation's scenario are walked with each
EXTRA_RUNS = {"layer": ("load", "pull")}

STEPS = failpoints.discover()


def _op(step: str) -> str:
    return step.rsplit(".", 1)[0]


def test_every_failpoint_has_a_scenario(tmp_path):
    """A failpoint whose operation no scenario reaches would never be walked."""
    known = scenarios(str(tmp_path))
    missing = sorted({_op(s) for s in STEPS} - set(known))
    assert not missing, f"no crash scenario for operation(s) {missing}: add them to SCENARIOS in {__file__}"
    assert len(STEPS) >= 25


def _walk_cases():
    cases = []
    for step in STEPS:
        cases.append((step, _op(step)))
        for other in EXTRA_RUNS.get(_op(step), ()):
            cases.append((step, other))
    return cases


@pytest.mark.parametrize("step,op", _walk_cases(), ids=[f"{s}~{o}" for s, o in _walk_cases()])
def test_failpoint_walk(pypod, netblock, tmp_path, step, op):
    sc = scenarios(str(tmp_path))[op]
    for cmd in sc.setup:
        pypod(*cmd)
    env = {**os.environ, failpoints.ENV: step}
    p = subprocess.run([*pypod.argv, *sc.run], env=env, capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
    assert p.returncode == -9, f"{step} not reached by `pypod {' '.join(sc.run)}` (exit {p.returncode}): {p.stderr.decode()}"

    # 1. the next command tells the truth
    pypod("ps", "-a")
    assert_truth(pypod)

    # 2. the operation can be repeated, and ends as it would have
    for cmd in sc.repeat:
        r = pypod(*cmd, check=False)
        if cmd[0] == "rmi" and r.returncode == 1:
            continue  # the killed rmi had finished its records: "image not known" is the truth
        if cmd[:2] == ["volume", "rm"] and b"no such volume" in r.stderr:
            continue  # likewise for a volume whose record was gone
        assert r.returncode == 0, f"repeating `pypod {' '.join(cmd)}` after {step}: {r.stderr.decode()}"
    if sc.verify is not None:
        ok = sc.verify(pypod)
        assert ok is None or ok
    assert_truth(pypod)

    # 3. after rm -af (and rmi -af), nothing is left
    pypod("rm", "-af", "-t", "0")
    if sc.images:
        pypod("rmi", "-af")
    if sc.volumes:
        pypod("volume", "rm", "-af")
    assert_nothing_left(pypod, images=sc.images, volumes=sc.volumes)
    # nothing of the network either: no sandbox, address, bridge, rule or DNS entry
    assert _sandbox_rows(pypod) == (0, 0)
    assert netblock.bridges() == [] and netblock.iptables_rules() == []
    dns = os.path.join(pypod.runroot, "networks", "aardvark-dns")
    assert not os.path.isdir(dns) or not [f for f in os.listdir(dns) if not f.startswith("aardvark")]


# -- the invariants ---------------------------------------------------------------------


def _runc(pypod, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["runc", "--root", os.path.join(pypod.runroot, "runtime"), *args],
                          capture_output=True, timeout=30)


def runc_entries(pypod) -> dict[str, str]:
    p = _runc(pypod, "list", "--format", "json")
    return {c["id"]: c["status"] for c in json.loads(p.stdout or b"null") or []}


def assert_truth(pypod) -> None:
    """pypod's record of each container equals runc's and the process table's."""
    listed = {c["Id"]: c for c in json.loads(pypod.out("ps", "-a", "--format", "json"))}
    runc = runc_entries(pypod)
    eng = pypod.engine()
    try:
        states = {cid: eng.store.get_state(cid) for cid in eng.store.container_ids()}
    finally:
        eng.close()
    assert set(listed) == set(states)
    for cid, st in states.items():
        status, rs = st["status"], runc.get(cid)
        if status in ("running", "paused", "created"):
            assert rs == status, f"{cid[:12]}: pypod says {status}, runc says {rs}"
            assert pid_alive(st["conmon_pid"]), f"{cid[:12]} is {status} but its conmon is gone"
            if status != "created":
                assert pid_alive(st["pid"]), f"{cid[:12]} is {status} but its process is gone"
                assert st["started_at"] > 0
        elif status in ("stopped", "exited", "configured"):
            assert rs in (None, "stopped"), f"{cid[:12]}: pypod says {status}, runc says {rs}"
        # `removing`: a removal a crash interrupted; the next rm finishes it
    # every runc container is one pypod knows
    assert set(runc) <= set(states), f"runc holds containers pypod does not know: {set(runc) - set(states)}"
    # every mount under the root is recorded by its container (or volume)
    recorded = {st["mountpoint"] for st in states.values() if st.get("mountpoint")}
    for vol in json.loads(pypod.out("volume", "ls", "--format", "json") or "[]"):
        recorded.add(vol["Mountpoint"])
    for mnt in _mounts_under(pypod.root):
        assert mnt in recorded, f"unrecorded mount {mnt}"


def assert_nothing_left(pypod, images: bool = False, volumes: bool = False) -> None:
    assert pypod.out("ps", "-a", "-q") == ""
    assert runc_entries(pypod) == {}
    assert _mounts_under(pypod.root) == [] and _mounts_under(pypod.runroot) == []
    assert wait_for(lambda: conmon_pids_for(pypod.runroot) == [], timeout=15), conmon_pids_for(pypod.runroot)
    for d in ("containers", "exits", "socket"):
        path = os.path.join(pypod.runroot, d)
        assert not os.path.isdir(path) or os.listdir(path) == [], (d, os.listdir(path))
    locks = os.path.join(pypod.runroot, "locks")
    assert not os.path.isdir(locks) or os.listdir(locks) == [], os.listdir(locks)
    ctr_dirs = os.path.join(pypod.root, "containers")
    assert not os.path.isdir(ctr_dirs) or os.listdir(ctr_dirs) == []
    overlay = os.path.join(pypod.root, "storage", "overlay-containers")
    assert not os.path.isdir(overlay) or os.listdir(overlay) == []
    eng = pypod.engine()
    try:
        assert eng.store._db.execute("SELECT COUNT(*) FROM containers").fetchone()[0] == 0
        assert eng.store._db.execute("SELECT COUNT(*) FROM exec_sessions").fetchone()[0] == 0
        assert eng.images.leftovers() == []
        if images:
            assert eng.images.list() == []
            assert os.listdir(eng.images.layers_dir) == []
            assert [b for b in os.listdir(eng.images.blobs)] == []
    finally:
        eng.close()
    if volumes:
        vols = os.path.join(pypod.root, "volumes")
        assert not os.path.isdir(vols) or os.listdir(vols) == [], os.listdir(vols)
    if os.path.isdir("/run/netns"):
        assert not any(pypod.root in os.readlink(os.path.join("/run/netns", n)) for n in os.listdir("/run/netns")
                       if os.path.islink(os.path.join("/run/netns", n)))


def test_run_d_killed_after_runtime_start_is_running_in_ps(pypod):
    """The issue's first reproduction, at its exact step: `run -d` dies after
    runc started the container and before the start was recorded.  A plain
    `ps` (no other command in between) lists it running, with a real start
    time, and `ps` took no lock to find out only for containers that need it."""
    env = {**os.environ, failpoints.ENV: "start.after-runtime-start"}
    p = subprocess.run([*pypod.argv, "run", "-d", "--name", "mm", "busybox", "sleep", "1000"], env=env,
                       capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == -9
    rows = json.loads(pypod.out("ps", "--format", "json"))
    assert [r["Names"] for r in rows] == [["mm"]]
    assert rows[0]["State"] == "running"
    assert abs(rows[0]["StartedAt"] - time.time()) < 60
    assert runc_entries(pypod) == {rows[0]["Id"]: "running"}
    assert json.loads(pypod.out("inspect", "mm"))[0]["State"]["Status"] == "running"
