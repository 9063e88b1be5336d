"""Resource limits as users give them (`--memory 64m`, `--cpus 1.5`,
`--device-read-bps /dev/sda:1mb`) and the rules podman checks them by,
shared by the CLI and the REST service."""

from __future__ import annotations

import os
import stat

from ..engine.resources import DeviceLimit, Resources
from ..errors import InvalidArgument
from .units import parse_size

#: the CFS period podman uses with --cpus
CPU_PERIOD = 100_000


def parse_memory(text: str, flag: str) -> int:
    """A size, or -1 (unlimited) where podman allows it."""
    if text.strip() == "-1":
        return -1
    try:
        return parse_size(text)
    except InvalidArgument as e:
        raise InvalidArgument(f"invalid value for {flag}: {e}") from None


def parse_cpus(text: str) -> tuple[int, int, int]:
    """--cpus N as (NanoCpus, CFS period, CFS quota)."""
    try:
        cpus = float(text)
    except ValueError:
        raise InvalidArgument(f'invalid argument "{text}" for "--cpus" flag: strconv.ParseFloat: parsing "{text}": invalid syntax') from None
    if cpus < 0:
        raise InvalidArgument(f"invalid --cpus value {text}: must be positive")
    return int(cpus * 1e9), CPU_PERIOD, int(cpus * CPU_PERIOD)


def block_device_numbers(path: str) -> tuple[int, int]:
    try:
        st = os.stat(path)
    except OSError as e:
        raise InvalidArgument(f"could not parse throttle device at {path}: {e.strerror.lower()}") from None
    if not stat.S_ISBLK(st.st_mode):
        raise InvalidArgument(f"{path} is not a block device")
    return os.major(st.st_rdev), os.minor(st.st_rdev)


def parse_device_limit(spec: str, kind: str) -> DeviceLimit:
    """PATH:RATE for kind "bps" (a size per second), "iops" (a count) and
    "weight" (10 to 1000)."""
    path, sep, value = spec.rpartition(":")
    if not sep or not path or not value:
        raise InvalidArgument(f"bad format: {spec}")
    if kind == "bps":
        try:
            n = parse_size(value)
        except InvalidArgument:
            raise InvalidArgument(f"invalid rate for device: {spec}. The correct format is <device-path>:<number>[<unit>]. "
                                  "Number must be a positive integer. Unit is optional and can be kb, mb, or gb") from None
    else:
        if not value.isdigit():
            what = "weight" if kind == "weight" else "rate"
            raise InvalidArgument(f"invalid {what} for device: {spec}. The correct format is <device-path>:<number>. "
                                  "Number must be a positive integer")
        n = int(value)
        if kind == "weight" and not 10 <= n <= 1000:
            raise InvalidArgument(f"invalid weight for device: {spec}: must be between 10 and 1000")
    major, minor = block_device_numbers(path)
    return DeviceLimit(path=path, major=major, minor=minor, value=n)


def parse_cgroup_conf(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidArgument(f"cgroup-conf {item!r}: must be in the format KEY=VALUE")
        out[key] = value
    return out


def finish(r: Resources, swap_given: bool) -> Resources:
    """podman's checks, and its default swap (twice the memory limit when
    --memory-swap is not given)."""
    if r.memory and r.memory_reservation and r.memory < r.memory_reservation:
        raise InvalidArgument("minimum memory limit cannot be less than memory reservation limit, see usage")
    if r.memory and 0 < r.memory < 6 * 1024 * 1024:
        raise InvalidArgument("minimum memory limit allowed is 6MB")
    if swap_given and r.memory_swap not in (0, -1):
        if not r.memory:
            raise InvalidArgument("you should always set a memory limit when using a memoryswap limit, see usage")
        if r.memory_swap < r.memory:
            raise InvalidArgument("minimum memoryswap limit should be larger than memory limit, see usage")
    if not swap_given and r.memory > 0 and not r.memory_swap:
        r.memory_swap = 2 * r.memory
    if not (r.memory_swappiness == -1 or 0 <= r.memory_swappiness <= 100):
        raise InvalidArgument(f"invalid value: {r.memory_swappiness}, valid memory swappiness range is 0-100")
    if r.cpu_period and not 1000 <= r.cpu_period <= 1_000_000:
        raise InvalidArgument("CPU cfs period cannot be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)")
    if r.cpu_quota and 0 < r.cpu_quota < 1000:
        raise InvalidArgument("CPU cfs quota cannot be less than 1ms (i.e. 1000)")
    if r.cpu_shares and r.cpu_shares < 2:
        raise InvalidArgument(f"invalid --cpu-shares {r.cpu_shares}: the minimum allowed cpu-shares is 2")
    if r.blkio_weight and not 10 <= r.blkio_weight <= 1000:
        raise InvalidArgument("range of blkio weight is from 10 to 1000")
    if r.oom_score_adj is not None and not -1000 <= r.oom_score_adj <= 1000:
        raise InvalidArgument(f"invalid --oom-score-adj {r.oom_score_adj}: must be between -1000 and 1000")
    if r.pids_limit is not None and r.pids_limit < 0:
        r.pids_limit = 0
    if r.shm_size < 0:
        raise InvalidArgument(f"invalid --shm-size {r.shm_size}")
    if r.cgroups not in ("", "enabled", "disabled", "no-conmon", "split"):
        raise InvalidArgument(f'invalid cgroup mode "{r.cgroups}": choose enabled, disabled, no-conmon or split')
    if r.cgroup_parent:
        if ".." in r.cgroup_parent.split("/"):
            raise InvalidArgument(f"invalid cgroup parent {r.cgroup_parent!r}")
        r.cgroup_parent = "/" + r.cgroup_parent.strip("/")
    return r
