"""A pod's own cgroup, as libpod makes it with the cgroupfs manager:
PARENT/pypod-pod-ID, made when the pod is created and holding the pod's
limits (pod create --memory, --cpus, ...), with the cgroups of the pod's
containers made under it by the runtime (unless --share-parent=false), so
the limits bound the whole pod.  Removed with the pod.

On cgroup v1 the directory is made in each hierarchy that holds a limit
(the runtime makes the others when it puts a container below); removal
walks every hierarchy, since the runtime leaves the levels it made.
"""

from __future__ import annotations

import os
import time

from ..errors import InvalidArgument
from .resources import Resources

CGROUP_ROOT = "/sys/fs/cgroup"


def pod_cgroup_path(parent: str, pod_id: str) -> str:
    return f"{parent.rstrip('/')}/pypod-pod-{pod_id}"


def _v2() -> bool:
    return os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers"))


def _hierarchies(unified: bool = False) -> list[str]:
    """Every mounted v1 hierarchy (cpu,cpuacct spelled once), and with
    unified the hybrid mode's empty v2 one (where the runtime makes its
    cgroups too)."""
    out, seen = [], set()
    for name in sorted(os.listdir(CGROUP_ROOT)):
        d = os.path.join(CGROUP_ROOT, name)
        if (name == "unified" and not unified) or not os.path.isdir(d) or os.path.islink(d):
            continue
        key = os.path.realpath(d)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def v1_writes(r: Resources) -> dict[str, list[tuple[str, str]]]:
    """controller -> [(file, value)] in the order they must be written (pure)."""
    def devices(items) -> list[str]:
        return [f"{d.major}:{d.minor} {d.value}" for d in items]

    out: dict[str, list[tuple[str, str]]] = {}
    mem = []
    if r.memory:
        mem.append(("memory.limit_in_bytes", str(r.memory)))
    if r.memory_swap:
        mem.append(("memory.memsw.limit_in_bytes", str(r.memory_swap)))
    if r.memory_reservation:
        mem.append(("memory.soft_limit_in_bytes", str(r.memory_reservation)))
    if r.memory_swappiness >= 0:
        mem.append(("memory.swappiness", str(r.memory_swappiness)))
    cpu = []
    if r.cpu_shares:
        cpu.append(("cpu.shares", str(r.cpu_shares)))
    if r.cpu_period:
        cpu.append(("cpu.cfs_period_us", str(r.cpu_period)))
    if r.cpu_quota:
        cpu.append(("cpu.cfs_quota_us", str(r.cpu_quota)))
    cpuset = []
    if r.cpuset_cpus:
        cpuset.append(("cpuset.cpus", r.cpuset_cpus))
    if r.cpuset_mems:
        cpuset.append(("cpuset.mems", r.cpuset_mems))
    blkio = []
    if r.blkio_weight:
        blkio.append(("blkio.weight", str(r.blkio_weight)))
    blkio += [("blkio.weight_device", v) for v in devices(r.blkio_weight_device)]
    blkio += [("blkio.throttle.read_bps_device", v) for v in devices(r.device_read_bps)]
    blkio += [("blkio.throttle.write_bps_device", v) for v in devices(r.device_write_bps)]
    blkio += [("blkio.throttle.read_iops_device", v) for v in devices(r.device_read_iops)]
    blkio += [("blkio.throttle.write_iops_device", v) for v in devices(r.device_write_iops)]
    for name, items in (("memory", mem), ("cpu", cpu), ("cpuset", cpuset), ("blkio", blkio)):
        if items:
            out[name] = items
    if r.pids_limit:
        out["pids"] = [("pids.max", str(r.pids_limit))]
    return out


def v2_writes(r: Resources) -> list[tuple[str, str]]:
    """The unified hierarchy's files for the same limits (pure)."""
    out = []
    if r.memory:
        out.append(("memory.max", str(r.memory)))
    if r.memory_swap > 0 and r.memory:
        out.append(("memory.swap.max", str(r.memory_swap - r.memory)))
    if r.memory_reservation:
        out.append(("memory.low", str(r.memory_reservation)))
    if r.cpu_shares:
        # the OCI runtimes' conversion of v1 shares (2..262144) to v2 weight (1..10000)
        out.append(("cpu.weight", str(1 + ((r.cpu_shares - 2) * 9999) // 262142)))
    if r.cpu_quota:
        out.append(("cpu.max", f"{r.cpu_quota} {r.cpu_period or 100000}"))
    if r.cpuset_cpus:
        out.append(("cpuset.cpus", r.cpuset_cpus))
    if r.cpuset_mems:
        out.append(("cpuset.mems", r.cpuset_mems))
    if r.pids_limit:
        out.append(("pids.max", str(r.pids_limit)))
    if r.blkio_weight:
        out.append(("io.bfq.weight", str(r.blkio_weight)))
    for items, key in ((r.device_read_bps, "rbps"), (r.device_write_bps, "wbps"), (r.device_read_iops, "riops"),
                       (r.device_write_iops, "wiops")):
        out += [("io.max", f"{d.major}:{d.minor} {key}={d.value}") for d in items]
    return out


def _write(path: str, value: str) -> None:
    try:
        with open(path, "w") as f:
            f.write(value)
    except OSError as e:
        name = os.path.basename(path)
        raise InvalidArgument(f"setting the pod cgroup's {name} to {value!r}: {e.strerror}") from None


def _fill_cpuset(base: str, rel: str) -> None:
    """A new v1 cpuset cgroup has no CPUs or memory nodes, and nothing may
    join it until it has: each level gets its parent's."""
    d = base
    for part in [p for p in rel.split("/") if p]:
        parent, d = d, os.path.join(d, part)
        os.makedirs(d, exist_ok=True)
        for name in ("cpuset.cpus", "cpuset.mems"):
            with open(os.path.join(d, name)) as f:
                if f.read().strip():
                    continue
            with open(os.path.join(parent, name)) as f:
                _write(os.path.join(d, name), f.read().strip())


def wanted(r: Resources) -> bool:
    """Whether a pod needs a cgroup made for it: always as root (podman's
    layout); otherwise only to hold limits, which then need a cgroup the
    user may write (a rootless pod without limits has none, as podman's
    on cgroup v1)."""
    return os.geteuid() == 0 or limited(r)


def limited(r: Resources) -> bool:
    return any((r.memory, r.memory_swap, r.memory_reservation, r.cpu_shares, r.cpu_quota, r.cpuset_cpus,
                r.cpuset_mems, r.blkio_weight, r.blkio_weight_device, r.device_read_bps, r.device_write_bps,
                r.device_read_iops, r.device_write_iops, r.pids_limit))


def create(path: str, r: Resources) -> None:
    """Make the pod's cgroup at path (relative to each hierarchy) with r's
    limits; on a failure, what was made is removed."""
    rel = path.strip("/")
    try:
        if _v2():
            d = os.path.join(CGROUP_ROOT, rel)
            _enable_v2_controllers(rel)
            os.makedirs(d, exist_ok=True)
            for name, value in v2_writes(r):
                _write(os.path.join(d, name), value)
            return
        writes = v1_writes(r)
        for base in _hierarchies():
            names = os.path.basename(base).split(",")
            if "cpuset" in names:
                _fill_cpuset(base, rel)
            else:
                os.makedirs(os.path.join(base, rel), exist_ok=True)
            for ctl in names:
                for name, value in writes.get(ctl, []):
                    _write(os.path.join(base, rel, name), value)
    except OSError as e:
        remove(path)
        raise InvalidArgument(f"creating the pod's cgroup {path}: {e.strerror}") from None
    except BaseException:
        remove(path)
        raise


def _enable_v2_controllers(rel: str) -> None:
    d = CGROUP_ROOT
    try:
        with open(os.path.join(d, "cgroup.controllers")) as f:
            wanted = [c for c in f.read().split() if c in ("cpu", "cpuset", "io", "memory", "pids")]
    except OSError:
        return
    for part in [p for p in rel.split("/") if p][:-1]:
        try:
            with open(os.path.join(d, "cgroup.subtree_control"), "w") as f:
                f.write(" ".join(f"+{c}" for c in wanted))
        except OSError:
            pass
        d = os.path.join(d, part)
        os.makedirs(d, exist_ok=True)
    try:
        with open(os.path.join(d, "cgroup.subtree_control"), "w") as f:
            f.write(" ".join(f"+{c}" for c in wanted))
    except OSError:
        pass


def remove(path: str, wait: float = 2.0) -> None:
    """rmdir the pod's cgroup everywhere, its leftover children first; a
    cgroup still busy (a conmon exiting) is retried for a moment."""
    rel = path.strip("/")
    if not rel:
        return
    bases = [CGROUP_ROOT] if _v2() else _hierarchies(unified=True)
    deadline = time.monotonic() + wait
    for base in bases:
        top = os.path.join(base, rel)
        if not os.path.isdir(top):
            continue
        for d in [os.path.join(dp, n) for dp, dns, _f in os.walk(top, topdown=False) for n in dns] + [top]:
            while True:
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.05)
