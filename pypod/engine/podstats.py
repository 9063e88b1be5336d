"""`pod stats`: each running container's resource use, as podman's pod
stats shows it, from the samples engine/stats.py reads (the cgroup found
from the container's process, so members under the pod's cgroup are read
where they are).

CPU % is measured over the time since the previous sample of the same
container (streaming), or since the container started (the first sample),
as podman does."""

from __future__ import annotations

from .container import Status


def pod_stats(pod, previous: dict | None = None) -> list[dict]:
    """podman's pod stats rows for the pod's running containers; previous:
    container ID -> its last Sample, updated here when given."""
    from ..proto.humanize import human_size
    from .stats import _host_cpu, cpu_percent, sample

    rows = []
    host_cpu = _host_cpu()
    for c in pod.containers():
        if c.state.status != Status.RUNNING:
            continue
        s = sample(c, host_cpu)
        if not s.running:
            continue
        cpu = cpu_percent(s, (previous or {}).get(c.id))
        if previous is not None:
            previous[c.id] = s
        rows.append({
            "Pod": pod.id[:12], "CID": c.id[:12], "Name": c.name,
            "CPU": f"{cpu:.2f}%",
            "MemUsage": f"{human_size(s.mem_usage, '', 4)} / {human_size(s.mem_limit, '', 4)}",
            "MemUsageBytes": f"{s.mem_usage} / {s.mem_limit}",
            "Mem": f"{s.mem_usage / s.mem_limit * 100:.2f}%" if s.mem_limit else "0.00%",
            "NetIO": f"{human_size(s.net_rx, '', 4)} / {human_size(s.net_tx, '', 4)}",
            "BlockIO": f"{human_size(s.block_read, '', 4)} / {human_size(s.block_write, '', 4)}",
            "PIDS": str(s.pids),
        })
    return rows
