"""`update`: new cgroup limits for an existing container.

The new limits are checked as create checks them, written to the running
container's cgroup by the runtime (`runc update --resources FILE`, as
podman does), and stored in the container's configuration, so inspect
shows them and a later start applies them again.  A container that is not
in the runtime (configured, stopped, exited) only has its configuration
changed (podman 4.3 refuses these; later podman accepts them).
"""

from __future__ import annotations

import os

from .container import Status
from .resources import Resources

#: the Resources fields `update` may change
UPDATABLE = ("memory", "memory_reservation", "memory_swap", "memory_swappiness", "nano_cpus", "cpu_shares",
             "cpu_period", "cpu_quota", "cpu_rt_period", "cpu_rt_runtime", "cpuset_cpus", "cpuset_mems",
             "blkio_weight", "blkio_weight_device", "device_read_bps", "device_write_bps", "device_read_iops",
             "device_write_iops", "pids_limit")


def updated(current: Resources, changes: dict) -> Resources:
    """current with changes applied and checked (pure).  A new memory limit
    without a new swap limit gets create's default swap (twice the memory)
    unless swap was unlimited; new CPU period or quota replace --cpus."""
    from ..errors import InvalidArgument
    from ..record import asdict
    from ..specgen.resources import finish

    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise InvalidArgument(f"cannot update {', '.join(sorted(unknown))}")
    r = Resources.from_dict(asdict(current))
    for key, value in changes.items():
        setattr(r, key, value)
    swap_given = "memory_swap" in changes
    if "memory" in changes and not swap_given and r.memory_swap != -1:
        r.memory_swap = 0
    if ("cpu_period" in changes or "cpu_quota" in changes) and "nano_cpus" not in changes:
        r.nano_cpus = 0
    return finish(r, swap_given=swap_given)


def update_resources(ctr, changes: dict, restart=None) -> None:
    """Apply changes to ctr's cgroup (when it is in the runtime) and config;
    restart: a new RestartPolicy (Docker's update may carry one)."""
    from ..proto.oci_resources import linux_resources
    from ..specgen.process import check_restart

    with ctr.locked():
        ctr.sync()
        r = updated(ctr.config.resources, changes)
        if restart is not None:
            check_restart(restart, ctr.config.auto_remove)
            ctr.config.restart = restart
        if ctr.state.status in (Status.CREATED, Status.RUNNING, Status.PAUSED, Status.STOPPING):
            spec = linux_resources(r, [])
            spec.pop("devices", None)
            ctr.runtime.update_resources(ctr, spec, os.path.join(ctr.paths.run_dir, "resources.json"))
        ctr.config.resources = r
        ctr.engine.store.update_config(ctr.id, ctr.config.to_dict())
    ctr.engine.events.container(ctr, "update")
