"""`pod stats`: each running container's resource use, read from its cgroup
(v1 controllers or the v2 unified tree) and its network namespace."""

from __future__ import annotations

import os
import time

from .container import Status

CGROUP_ROOT = "/sys/fs/cgroup"


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


def _int(text: str) -> int:
    try:
        return int(text.split()[0])
    except (ValueError, IndexError):
        return 0


def container_usage(ctr) -> dict:
    """cpu_ns, mem, mem_limit, pids, block in/out bytes, net rx/tx bytes."""
    from .bundle import cgroups_path

    rel = cgroups_path(ctr.engine.config, ctr.config).lstrip("/")
    v2 = os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers"))
    out = {"cpu_ns": 0, "mem": 0, "mem_limit": 0, "pids": 0, "blk_in": 0, "blk_out": 0, "net_rx": 0, "net_tx": 0}
    if v2:
        base = os.path.join(CGROUP_ROOT, rel)
        for line in _read(os.path.join(base, "cpu.stat")).splitlines():
            if line.startswith("usage_usec"):
                out["cpu_ns"] = _int(line.split()[1]) * 1000
        out["mem"] = _int(_read(os.path.join(base, "memory.current")))
        limit = _read(os.path.join(base, "memory.max"))
        out["mem_limit"] = _int(limit) if limit and limit != "max" else 0
        out["pids"] = _int(_read(os.path.join(base, "pids.current")))
    else:
        out["cpu_ns"] = _int(_read(os.path.join(CGROUP_ROOT, "cpuacct", rel, "cpuacct.usage")))
        out["mem"] = _int(_read(os.path.join(CGROUP_ROOT, "memory", rel, "memory.usage_in_bytes")))
        out["mem_limit"] = _int(_read(os.path.join(CGROUP_ROOT, "memory", rel, "memory.limit_in_bytes")))
        out["pids"] = _int(_read(os.path.join(CGROUP_ROOT, "pids", rel, "pids.current")))
        for line in _read(os.path.join(CGROUP_ROOT, "blkio", rel, "blkio.throttle.io_service_bytes")).splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in ("Read", "Write"):
                out["blk_in" if parts[1] == "Read" else "blk_out"] += _int(parts[2])
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if not out["mem_limit"] or out["mem_limit"] > total:
        out["mem_limit"] = total
    if ctr.state.pid:
        for line in _read(f"/proc/{ctr.state.pid}/net/dev").splitlines()[2:]:
            name, _, rest = line.partition(":")
            if name.strip() == "lo":
                continue
            fields = rest.split()
            if len(fields) >= 9:
                out["net_rx"] += _int(fields[0])
                out["net_tx"] += _int(fields[8])
    return out


def pod_stats(pod) -> list[dict]:
    """podman's pod stats rows for the pod's running containers."""
    from ..proto.humanize import human_size

    rows = []
    now = time.time()
    for c in pod.containers():
        if c.state.status != Status.RUNNING:
            continue
        u = container_usage(c)
        elapsed = max(now - c.state.started_at, 1e-3)
        cpu = u["cpu_ns"] / 1e9 / elapsed * 100
        rows.append({
            "Pod": pod.id[:12], "CID": c.id[:12], "Name": c.name,
            "CPU": f"{cpu:.2f}%",
            "MemUsage": f"{human_size(u['mem'])} / {human_size(u['mem_limit'])}",
            "MemUsageBytes": f"{u['mem']} / {u['mem_limit']}",
            "Mem": f"{u['mem'] / u['mem_limit'] * 100:.2f}%" if u["mem_limit"] else "0.00%",
            "NetIO": f"{human_size(u['net_rx'])} / {human_size(u['net_tx'])}",
            "BlockIO": f"{human_size(u['blk_in'])} / {human_size(u['blk_out'])}",
            "PIDS": str(u["pids"]),
        })
    return rows
