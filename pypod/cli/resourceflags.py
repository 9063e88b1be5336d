"""The cgroup limit flags (--memory, --cpus, --blkio-weight, ...) as one
declaration shared by run/create, update, pod create/clone and container
clone, each taking the subset podman gives it.

Every flag defaults to None so that "not given" is visible:
resource_changes() returns only the Resources fields the user set, which
update and clone apply over an existing container's limits and create
over the defaults.
"""

from __future__ import annotations

from ..errors import InvalidArgument

#: name (argparse dest) -> (option strings, argparse keywords but the type)
_FLAGS: dict[str, tuple[tuple[str, ...], dict]] = {
    "memory": (("-m", "--memory"), {"metavar": "SIZE", "help": "memory limit (e.g. 64m)"}),
    "memory_reservation": (("--memory-reservation",), {"metavar": "SIZE", "help": "memory soft limit"}),
    "memory_swap": (("--memory-swap",), {"metavar": "SIZE", "help": "memory plus swap limit (-1: unlimited swap)"}),
    "memory_swappiness": (("--memory-swappiness",), {"metavar": "0-100", "help": "how readily pages are swapped out"}),
    "cpus": (("--cpus",), {"metavar": "N", "help": "CPUs that may be used (e.g. 1.5)"}),
    "cpu_shares": (("-c", "--cpu-shares"), {"metavar": "N", "help": "relative CPU weight (default 1024)"}),
    "cpu_period": (("--cpu-period",), {"metavar": "US", "help": "CFS period in microseconds"}),
    "cpu_quota": (("--cpu-quota",), {"metavar": "US", "help": "CFS quota in microseconds per period"}),
    "cpu_rt_period": (("--cpu-rt-period",), {"metavar": "US", "help": "realtime period in microseconds"}),
    "cpu_rt_runtime": (("--cpu-rt-runtime",), {"metavar": "US", "help": "realtime runtime in microseconds per period"}),
    "cpuset_cpus": (("--cpuset-cpus",), {"metavar": "LIST", "help": "CPUs to run on (0-3, 0,1)"}),
    "cpuset_mems": (("--cpuset-mems",), {"metavar": "LIST", "help": "memory nodes to allocate from"}),
    "pids_limit": (("--pids-limit",), {"metavar": "N", "help": "maximum processes (default 2048; 0 or -1: unlimited)"}),
    "blkio_weight": (("--blkio-weight",), {"metavar": "10-1000", "help": "relative block I/O weight"}),
    "blkio_weight_device": (("--blkio-weight-device",), {"action": "append", "metavar": "DEV:W", "help": "block I/O weight for one device"}),
    "device_read_bps": (("--device-read-bps",), {"action": "append", "metavar": "DEV:RATE", "help": "limit reads from a device (bytes/s, e.g. 1mb)"}),
    "device_write_bps": (("--device-write-bps",), {"action": "append", "metavar": "DEV:RATE", "help": "limit writes to a device (bytes/s)"}),
    "device_read_iops": (("--device-read-iops",), {"action": "append", "metavar": "DEV:N", "help": "limit read operations per second on a device"}),
    "device_write_iops": (("--device-write-iops",), {"action": "append", "metavar": "DEV:N", "help": "limit write operations per second on a device"}),
}

#: what run, create and update take
ALL = tuple(_FLAGS)
#: container clone: update's but the pids and IOPS limits (podman's set)
CLONE = tuple(n for n in ALL if n not in ("pids_limit", "device_read_iops", "device_write_iops"))
#: pod create and pod clone: the pod cgroup's limits
POD = ("memory", "memory_swap", "cpus", "cpu_shares", "cpuset_cpus", "cpuset_mems", "blkio_weight",
       "blkio_weight_device", "device_read_bps", "device_write_bps")

_DEVICE_KIND = {"blkio_weight_device": "weight", "device_read_bps": "bps", "device_write_bps": "bps",
                "device_read_iops": "iops", "device_write_iops": "iops"}


def _types() -> dict:
    from ..specgen.numbers import arg_type, uint_arg

    return {"memory_swappiness": arg_type("--memory-swappiness"), "cpu_shares": uint_arg("--cpu-shares"),
            "cpu_period": uint_arg("--cpu-period"), "cpu_quota": arg_type("--cpu-quota"),
            "cpu_rt_period": uint_arg("--cpu-rt-period"), "cpu_rt_runtime": arg_type("--cpu-rt-runtime"),
            "pids_limit": arg_type("--pids-limit"), "blkio_weight": arg_type("--blkio-weight", 0, 65535)}


def add_resource_flags(g, names: tuple[str, ...] = ALL) -> None:
    types = _types()
    for name in names:
        options, kw = _FLAGS[name]
        if name in types:
            kw = {**kw, "type": types[name]}
        g.add_argument(*options, dest=name, default=None, **kw)


def resource_changes(a, names: tuple[str, ...] = ALL) -> dict:
    """The Resources fields the given flags set (flags not given: absent)."""
    from ..specgen import resources as rs

    given = {n: getattr(a, n) for n in names if getattr(a, n, None) is not None}
    out: dict = {}
    if "cpus" in given:
        if "cpu_period" in given:
            raise InvalidArgument("--cpu-period and --cpus cannot be set together")
        if "cpu_quota" in given:
            raise InvalidArgument("--cpu-quota and --cpus cannot be set together")
        out["nano_cpus"], out["cpu_period"], out["cpu_quota"] = rs.parse_cpus(given.pop("cpus"))
    for name, value in given.items():
        if name in ("memory", "memory_reservation", "memory_swap"):
            out[name] = rs.parse_memory(value, name.replace("_", "-"))
        elif name in _DEVICE_KIND:
            out[name] = [rs.parse_device_limit(d, _DEVICE_KIND[name]) for d in value]
        else:
            out[name] = value
    return out
