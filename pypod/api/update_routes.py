"""`update` over the REST service: Docker's POST /containers/{id}/update
(HostConfig's resource names) and libpod's (OCI linux.resources), both
through engine/update.py as the CLI's `pypod update`."""

from __future__ import annotations

from .common import with_engine
from .create_settings import DOCKER_HOST_FIELDS, SPEC_FIELDS
from .http import Request, Response, Router
from .validate import Obj, validated

_DOCKER_UPDATE = Obj({k: DOCKER_HOST_FIELDS[k] for k in (
    "Memory", "MemoryReservation", "MemorySwap", "NanoCpus", "CpuShares", "CpuPeriod", "CpuQuota", "CpuRealtimePeriod",
    "CpuRealtimeRuntime", "CpusetCpus", "CpusetMems", "PidsLimit", "BlkioWeight", "BlkioWeightDevice",
    "BlkioDeviceReadBps", "BlkioDeviceWriteBps", "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps", "RestartPolicy")})
_LIBPOD_UPDATE = SPEC_FIELDS["resource_limits"]


def docker_changes(body: dict) -> dict:
    """The Resources fields a Docker update body sets (absent or zero: unchanged, as Docker)."""
    from ..specgen import resources as rs

    out: dict = {}
    for key, field in (("Memory", "memory"), ("MemoryReservation", "memory_reservation"), ("MemorySwap", "memory_swap"),
                       ("CpuShares", "cpu_shares"), ("CpuPeriod", "cpu_period"), ("CpuQuota", "cpu_quota"),
                       ("CpuRealtimePeriod", "cpu_rt_period"), ("CpuRealtimeRuntime", "cpu_rt_runtime"),
                       ("CpusetCpus", "cpuset_cpus"), ("CpusetMems", "cpuset_mems"), ("BlkioWeight", "blkio_weight")):
        if body.get(key):
            out[field] = body[key]
    if body.get("NanoCpus"):
        nano = body["NanoCpus"]
        out.update(nano_cpus=nano, cpu_period=rs.CPU_PERIOD, cpu_quota=nano * rs.CPU_PERIOD // 1_000_000_000)
    if body.get("PidsLimit"):
        out["pids_limit"] = max(body["PidsLimit"], 0)
    if body.get("BlkioWeightDevice"):
        out["blkio_weight_device"] = [rs.parse_device_limit(f"{d.get('Path')}:{d.get('Weight')}", "weight")
                                      for d in body["BlkioWeightDevice"]]
    for key, field, kind in (("BlkioDeviceReadBps", "device_read_bps", "bps"), ("BlkioDeviceWriteBps", "device_write_bps", "bps"),
                             ("BlkioDeviceReadIOps", "device_read_iops", "iops"),
                             ("BlkioDeviceWriteIOps", "device_write_iops", "iops")):
        if body.get(key):
            out[field] = [rs.parse_device_limit(f"{d.get('Path')}:{d.get('Rate')}", kind) for d in body[key]]
    return out


def libpod_changes(res: dict) -> dict:
    """The Resources fields an OCI linux.resources body sets."""
    out: dict = {}
    mem, cpu = res.get("memory") or {}, res.get("cpu") or {}
    for src, key, field in ((mem, "limit", "memory"), (mem, "reservation", "memory_reservation"), (mem, "swap", "memory_swap"),
                            (mem, "swappiness", "memory_swappiness"), (cpu, "shares", "cpu_shares"),
                            (cpu, "quota", "cpu_quota"), (cpu, "period", "cpu_period"),
                            (cpu, "realtimeRuntime", "cpu_rt_runtime"), (cpu, "realtimePeriod", "cpu_rt_period"),
                            (cpu, "cpus", "cpuset_cpus"), (cpu, "mems", "cpuset_mems")):
        if src.get(key) is not None:
            out[field] = src[key]
    if (res.get("pids") or {}).get("limit") is not None:
        out["pids_limit"] = max(res["pids"]["limit"], 0)
    if (res.get("blockIO") or {}).get("weight") is not None:
        out["blkio_weight"] = res["blockIO"]["weight"]
    return out


@validated(body=_DOCKER_UPDATE)
@with_engine
def docker_update(req: Request, eng) -> Response:
    from ..engine.update import update_resources

    from ..specgen.process import parse_restart

    body = req.json() or {}
    policy = body.get("RestartPolicy") or {}
    restart = None
    if policy.get("Name"):
        restart = parse_restart(policy["Name"])
        if policy.get("MaximumRetryCount"):
            restart.max_retries = policy["MaximumRetryCount"]
    update_resources(eng.container(req.params["id"]), docker_changes(body), restart)
    return Response(200, {"Warnings": []})


@validated(body=_LIBPOD_UPDATE)
@with_engine
def libpod_update(req: Request, eng) -> Response:
    from ..engine.update import update_resources

    ctr = eng.container(req.params["id"])
    update_resources(ctr, libpod_changes(req.json() or {}))
    return Response(201, ctr.id)


def register(router: Router) -> None:
    router.add("POST", "/containers/{id}/update", docker_update)
    router.add("POST", "/libpod/containers/{id}/update", libpod_update)
