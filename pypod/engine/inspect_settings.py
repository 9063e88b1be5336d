"""What `inspect` shows of a container's settings (security, namespaces,
resources, process options, restart policy, health check), in podman's
field names and types; engine/inspect.py hands its result here to fill in."""

from __future__ import annotations


def _devices(items) -> list[dict]:
    return [{"Path": d.path, "Rate": d.value} for d in items]


def host_config(ctr) -> dict:
    cfg = ctr.config
    r, ns, sec, proc = cfg.resources, cfg.namespaces, cfg.security, cfg.process
    v2 = _cgroup_v2()
    return {
        "SecurityOpt": sec.security_opt(),
        "RestartPolicy": {"Name": cfg.restart.name, "MaximumRetryCount": cfg.restart.max_retries},
        "CgroupManager": ctr.engine.config.cgroup_manager,
        "CgroupMode": _mode(ns.cgroupns, "private" if v2 else "host"),
        "CgroupParent": r.cgroup_parent or ("" if r.cgroups == "disabled" else ctr.engine.config.cgroup_parent),
        "Cgroups": "default" if r.cgroups in ("", "enabled") else r.cgroups,
        "Cgroup": "",
        "ContainerIDFile": proc.cidfile,
        "GroupAdd": list(cfg.groups),
        "IpcMode": _mode(ns.ipc, "private"),
        "PidMode": _mode(ns.pid, "private"),
        "UTSMode": _mode(ns.uts, "private"),
        "UsernsMode": "" if not ns.userns or ns.userns == "host" else ns.userns,
        "Sysctls": dict(ns.sysctls),
        "OomScoreAdj": r.oom_score_adj or 0,
        "ShmSize": r.shm_size,
        "CpuShares": r.cpu_shares,
        "Memory": r.memory,
        "NanoCpus": r.nano_cpus,
        "BlkioWeight": r.blkio_weight,
        "BlkioWeightDevice": [{"Path": d.path, "Weight": d.value} for d in r.blkio_weight_device],
        "BlkioDeviceReadBps": _devices(r.device_read_bps),
        "BlkioDeviceWriteBps": _devices(r.device_write_bps),
        "BlkioDeviceReadIOps": _devices(r.device_read_iops),
        "BlkioDeviceWriteIOps": _devices(r.device_write_iops),
        "CpuPeriod": r.cpu_period,
        "CpuQuota": r.cpu_quota,
        "CpuRealtimePeriod": r.cpu_rt_period,
        "CpuRealtimeRuntime": r.cpu_rt_runtime,
        "CpusetCpus": r.cpuset_cpus,
        "CpusetMems": r.cpuset_mems,
        "Devices": [{"PathOnHost": d.host_path, "PathInContainer": d.container_path, "CgroupPermissions": d.permissions}
                    for d in sec.devices],
        "DeviceCgroupRules": list(sec.device_cgroup_rules),
        "DiskQuota": 0,
        "KernelMemory": r.kernel_memory,
        "MemoryReservation": r.memory_reservation,
        "MemorySwap": r.memory_swap,
        "MemorySwappiness": r.memory_swappiness,
        "OomKillDisable": r.oom_kill_disable,
        "Init": proc.init,
        "PidsLimit": r.pids_limit or 0,
        "Ulimits": _ulimits(cfg),
        "CpuCount": 0,
        "CpuPercent": 0,
        "IOMaximumIOps": 0,
        "IOMaximumBandwidth": 0,
        "CgroupConf": dict(r.unified) or None,
    }


def _mode(mode: str, default: str) -> str:
    return mode or default


def _cgroup_v2() -> bool:
    import os

    return os.path.exists("/sys/fs/cgroup/cgroup.controllers")


def _ulimits(cfg) -> list[dict]:
    """The rlimits the container gets: the defaults as clamped, then --ulimit."""
    from ..proto.oci_spec import rlimits
    from .bundle import hard_limits

    return [{"Name": r["type"], "Soft": r["soft"], "Hard": r["hard"]} for r in rlimits(cfg.ulimits, hard_limits())]


def add_settings(data: dict, ctr) -> None:
    """Fill an inspect document (engine/inspect.py's) with the settings'
    fields: HostConfig's, Config's, State.Health, the pid files."""
    from ..proto.oci_process import annotations
    from .health import read_results

    cfg = ctr.config
    proc = cfg.process
    data["HostConfig"].update(host_config(ctr))
    config = data["Config"]
    config["Annotations"] = annotations(cfg)
    if cfg.health.enabled:
        config["Healthcheck"] = cfg.health.docker_shape()
        config["HealthcheckOnFailureAction"] = cfg.health.on_failure
        health = read_results(ctr)
        data["State"]["Health"] = health
        data["State"]["Healthcheck"] = health  # podman 4.3 shows it under both names
    config["Timezone"] = proc.timezone
    config["Umask"] = proc.umask or "0022"
    config["Timeout"] = proc.timeout
    config["Passwd"] = proc.passwd
    config["sdNotifyMode"] = proc.sdnotify
    config["SystemdMode"] = proc.systemd == "always"
    data["PidFile"] = proc.pidfile
    if proc.conmon_pidfile:
        data["ConmonPidFile"] = proc.conmon_pidfile
    data["Dependencies"] = list(cfg.depends_on)
    data["State"]["Restarting"] = False

