"""A container's Resources as the OCI spec's `linux.resources`.

The runtime writes them to the cgroup files (v1 or v2, converting as it
must); this module only says what was asked, leaving out what was not, so
the runtime keeps the kernel's defaults for those.  Pure.
"""

from __future__ import annotations


def _present(d: dict) -> dict:
    return {k: v for k, v in d.items() if v not in (None, 0, "", [], {})}


def _device_limits(items, key: str) -> list[dict]:
    return [{"major": d.major, "minor": d.minor, key: d.value} for d in items]


def linux_resources(r, device_rules: list[dict]) -> dict:
    """r: engine.resources.Resources; device_rules: the device cgroup's
    rules, deny-all first (see device_cgroup_rules)."""
    out: dict = {"devices": list(device_rules)}
    memory = _present({
        "limit": r.memory,
        "reservation": r.memory_reservation,
        "swap": r.memory_swap,
        "kernel": r.kernel_memory,
    })
    if r.memory_swappiness >= 0:
        memory["swappiness"] = r.memory_swappiness
    if r.oom_kill_disable:
        memory["disableOOMKiller"] = True
    if memory:
        out["memory"] = memory
    cpu = _present({
        "shares": r.cpu_shares,
        "quota": r.cpu_quota,
        "period": r.cpu_period,
        "realtimeRuntime": r.cpu_rt_runtime,
        "realtimePeriod": r.cpu_rt_period,
        "cpus": r.cpuset_cpus,
        "mems": r.cpuset_mems,
    })
    if cpu:
        out["cpu"] = cpu
    if (r.pids_limit or 0) > 0:
        out["pids"] = {"limit": r.pids_limit}
    block = _present({
        "weight": r.blkio_weight,
        "weightDevice": _device_limits(r.blkio_weight_device, "weight"),
        "throttleReadBpsDevice": _device_limits(r.device_read_bps, "rate"),
        "throttleWriteBpsDevice": _device_limits(r.device_write_bps, "rate"),
        "throttleReadIOPSDevice": _device_limits(r.device_read_iops, "rate"),
        "throttleWriteIOPSDevice": _device_limits(r.device_write_iops, "rate"),
    })
    if block:
        out["blockIO"] = block
    if r.unified:
        out["unified"] = dict(r.unified)
    return out


def parse_cgroup_rule(rule: str) -> dict:
    """'c 1:3 rwm', 'b *:* r', 'a' as the OCI device cgroup rule (allow)."""
    from ..errors import InvalidArgument

    parts = rule.split()
    bad = InvalidArgument(f'invalid device cgroup rule requires type, major:Minor, and access rules: "{rule}"')
    if parts == ["a"]:
        return {"allow": True, "access": "rwm"}
    if len(parts) != 3 or parts[0] not in ("a", "b", "c"):
        raise bad
    major_s, sep, minor_s = parts[1].partition(":")
    if not sep or not parts[2] or any(ch not in "rwm" for ch in parts[2]):
        raise bad
    out: dict = {"allow": True, "type": parts[0]}
    for key, text in (("major", major_s), ("minor", minor_s)):
        if text != "*":
            if not text.isdigit():
                raise bad
            out[key] = int(text)
    out["access"] = parts[2]
    return out


def device_cgroup_rules(privileged: bool, devices: list[dict], extra_rules: list[str]) -> list[dict]:
    """Deny everything (the runtime adds the standard devices), then allow
    the devices given to the container and the explicit rules."""
    rules = [{"allow": privileged, "access": "rwm"}]
    for d in devices:
        rules.append({"allow": True, "type": d["type"], "major": d["major"], "minor": d["minor"],
                      "access": d.get("access", "rwm")})
    rules += [parse_cgroup_rule(r) for r in extra_rules]
    return rules
