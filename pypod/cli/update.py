"""`pypod update`: new cgroup limits for a container (running or not)."""

from __future__ import annotations


def add_update_args(p) -> None:
    from ..specgen.numbers import arg_type, uint_arg

    many = {"action": "append", "default": None}
    p.add_argument("-m", "--memory", default=None, metavar="SIZE", help="memory limit (e.g. 64m)")
    p.add_argument("--memory-reservation", default=None, metavar="SIZE", help="memory soft limit")
    p.add_argument("--memory-swap", default=None, metavar="SIZE", help="memory plus swap limit (-1: unlimited swap)")
    p.add_argument("--memory-swappiness", type=arg_type("--memory-swappiness"), default=None, metavar="0-100",
                   help="how readily pages are swapped out")
    p.add_argument("--cpus", default=None, metavar="N", help="CPUs the container may use (e.g. 1.5)")
    p.add_argument("-c", "--cpu-shares", type=uint_arg("--cpu-shares"), default=None, metavar="N", help="relative CPU weight")
    p.add_argument("--cpu-period", type=uint_arg("--cpu-period"), default=None, metavar="US", help="CFS period in microseconds")
    p.add_argument("--cpu-quota", type=arg_type("--cpu-quota"), default=None, metavar="US", help="CFS quota per period")
    p.add_argument("--cpu-rt-period", type=uint_arg("--cpu-rt-period"), default=None, metavar="US", help="realtime period")
    p.add_argument("--cpu-rt-runtime", type=arg_type("--cpu-rt-runtime"), default=None, metavar="US", help="realtime runtime per period")
    p.add_argument("--cpuset-cpus", default=None, metavar="LIST", help="CPUs to run on (0-3, 0,1)")
    p.add_argument("--cpuset-mems", default=None, metavar="LIST", help="memory nodes to allocate from")
    p.add_argument("--pids-limit", type=arg_type("--pids-limit"), default=None, metavar="N", help="maximum processes (-1: unlimited)")
    p.add_argument("--blkio-weight", type=arg_type("--blkio-weight", 0, 65535), default=None, metavar="10-1000", help="relative block I/O weight")
    p.add_argument("--blkio-weight-device", **many, metavar="DEV:W", help="block I/O weight for one device")
    p.add_argument("--device-read-bps", **many, metavar="DEV:RATE", help="limit reads from a device (bytes/s)")
    p.add_argument("--device-write-bps", **many, metavar="DEV:RATE", help="limit writes to a device (bytes/s)")
    p.add_argument("--device-read-iops", **many, metavar="DEV:N", help="limit read operations per second on a device")
    p.add_argument("--device-write-iops", **many, metavar="DEV:N", help="limit write operations per second on a device")
    p.add_argument("container", metavar="CONTAINER")


def changes_from_args(a) -> dict:
    """The Resources fields the flags given set (flags not given: absent)."""
    from ..errors import InvalidArgument
    from ..specgen import resources as rs

    out: dict = {}
    for flag in ("memory", "memory_reservation", "memory_swap"):
        if getattr(a, flag) is not None:
            out[flag] = rs.parse_memory(getattr(a, flag), flag.replace("_", "-"))
    if a.cpus is not None:
        if a.cpu_period is not None or a.cpu_quota is not None:
            raise InvalidArgument("--cpus cannot be set together with --cpu-period or --cpu-quota")
        out["nano_cpus"], out["cpu_period"], out["cpu_quota"] = rs.parse_cpus(a.cpus)
    for flag in ("memory_swappiness", "cpu_shares", "cpu_period", "cpu_quota", "cpu_rt_period", "cpu_rt_runtime",
                 "cpuset_cpus", "cpuset_mems", "blkio_weight"):
        if getattr(a, flag) is not None:
            out[flag] = getattr(a, flag)
    if a.pids_limit is not None:
        out["pids_limit"] = max(a.pids_limit, 0)
    for flag, field, kind in (("blkio_weight_device", "blkio_weight_device", "weight"),
                              ("device_read_bps", "device_read_bps", "bps"), ("device_write_bps", "device_write_bps", "bps"),
                              ("device_read_iops", "device_read_iops", "iops"),
                              ("device_write_iops", "device_write_iops", "iops")):
        if getattr(a, flag) is not None:
            out[field] = [rs.parse_device_limit(d, kind) for d in getattr(a, flag)]
    return out


def cmd_update(engine, a) -> int:
    from ..engine.update import update_resources

    ctr = engine.container(a.container)
    update_resources(ctr, changes_from_args(a))
    print(ctr.id)
    return 0
