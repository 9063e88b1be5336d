"""A container's cgroup: where it sits (mode, parent) and the limits it
holds (memory, CPU, pids, block I/O), plus the process knobs Docker counts
among resources (OOM score, /dev/shm size).

Zero means "not set" for every limit, as in podman's inspect; the parsing
of user input is pypod/specgen/resources.py's, the OCI translation
pypod/proto/oci_resources.py's.
"""

from __future__ import annotations

from ..record import field, record

from .record import Record

#: podman's default pids limit (containers.conf pids_limit)
DEFAULT_PIDS_LIMIT = 2048
#: podman's default /dev/shm size, as its inspect shows it
DEFAULT_SHM_SIZE = 65536000


@record
class DeviceLimit(Record):
    """A per-device block I/O limit: a weight, or a rate (bytes or
    operations per second); major and minor are resolved at create."""

    path: str = ""
    major: int = 0
    minor: int = 0
    value: int = 0


@record
class Resources(Record):
    """What --memory, --cpus, --pids-limit, --cgroups, ... asked for."""

    #: enabled | disabled | no-conmon | split (--cgroups); "" until create resolves it
    cgroups: str = ""
    #: "" = the engine's cgroup parent
    cgroup_parent: str = ""
    memory: int = 0
    memory_reservation: int = 0
    #: memory plus swap; -1 = unlimited swap
    memory_swap: int = 0
    #: -1 = the kernel's default
    memory_swappiness: int = -1
    #: accepted for compatibility; the kernel (and runc) ignore it
    kernel_memory: int = 0
    oom_kill_disable: bool = False
    #: None = the kernel's default (podman leaves it unset)
    oom_score_adj: int | None = None
    cpu_shares: int = 0
    cpu_period: int = 0
    cpu_quota: int = 0
    #: --cpus, in billionths of a CPU (Docker's NanoCpus)
    nano_cpus: int = 0
    cpu_rt_period: int = 0
    cpu_rt_runtime: int = 0
    cpuset_cpus: str = ""
    cpuset_mems: str = ""
    #: 0 = unlimited; None until create resolves it (containers.conf, else 2048)
    pids_limit: int | None = None
    blkio_weight: int = 0
    blkio_weight_device: list[DeviceLimit] = field(default_factory=list)
    device_read_bps: list[DeviceLimit] = field(default_factory=list)
    device_write_bps: list[DeviceLimit] = field(default_factory=list)
    device_read_iops: list[DeviceLimit] = field(default_factory=list)
    device_write_iops: list[DeviceLimit] = field(default_factory=list)
    #: 0 until create resolves it (containers.conf, else podman's 64 MB)
    shm_size: int = 0
    #: cgroup v2 files to write (--cgroup-conf)
    unified: dict[str, str] = field(default_factory=dict)

    NESTED = {name: DeviceLimit for name in ("blkio_weight_device", "device_read_bps", "device_write_bps",
                                              "device_read_iops", "device_write_iops")}
