"""The settings of a container create body beyond the basics, in both of the
service's shapes: Docker's HostConfig (and Config.Healthcheck) and podman's
SpecGenerator.  Resources, restart policy, health check, namespaces, devices,
sysctls and process options land in the same typed parts of ContainerConfig
the CLI fills, checked by the same pypod/specgen rules, so a limit means the
same through every front door.

Each shape declares its fields for the route's validation (the *_FIELDS
dicts) and applies them to a ContainerConfig (apply_*).
"""

from __future__ import annotations

from ..engine.container import ContainerConfig
from ..errors import InvalidArgument
from ..specgen.numbers import INT64_MAX, INT64_MIN, UINT64_MAX
from .common import strdict, strlist
from .validate import Bool, Int, List, Map, Obj, Str, Strs

_SIZE = Int(-1, INT64_MAX)
_DOCKER_DEVICE_RATE = List(Obj({"Path": Str(4096), "Rate": Int(0, UINT64_MAX)}))
_NS_DURATION = Int(0, INT64_MAX)

#: HostConfig fields read here (Docker Engine API names)
DOCKER_HOST_FIELDS = {
    "Memory": _SIZE, "MemoryReservation": _SIZE, "MemorySwap": _SIZE, "MemorySwappiness": Int(-1, 100),
    "KernelMemory": _SIZE, "NanoCpus": Int(0, INT64_MAX), "CpuShares": Int(0, INT64_MAX),
    "CpuPeriod": Int(0, INT64_MAX), "CpuQuota": Int(-1, INT64_MAX), "CpuRealtimePeriod": Int(0, INT64_MAX),
    "CpuRealtimeRuntime": Int(0, INT64_MAX), "CpusetCpus": Str(256), "CpusetMems": Str(256),
    "PidsLimit": Int(-1, INT64_MAX), "BlkioWeight": Int(0, 1000),
    "BlkioWeightDevice": List(Obj({"Path": Str(4096), "Weight": Int(0, 1000)})),
    "BlkioDeviceReadBps": _DOCKER_DEVICE_RATE, "BlkioDeviceWriteBps": _DOCKER_DEVICE_RATE,
    "BlkioDeviceReadIOps": _DOCKER_DEVICE_RATE, "BlkioDeviceWriteIOps": _DOCKER_DEVICE_RATE,
    "OomKillDisable": Bool(), "OomScoreAdj": Int(-1000, 1000), "ShmSize": Int(0, INT64_MAX),
    "CgroupParent": Str(4096), "CgroupnsMode": Str(64, ("", "private", "host")),
    "IpcMode": Str(4096), "PidMode": Str(4096), "UTSMode": Str(4096), "UsernsMode": Str(4096),
    "Devices": List(Obj({"PathOnHost": Str(4096), "PathInContainer": Str(4096), "CgroupPermissions": Str(3)})),
    "DeviceCgroupRules": Strs(), "Sysctls": Map(Str()), "Init": Bool(), "GroupAdd": Strs(),
    "RestartPolicy": Obj({"Name": Str(64), "MaximumRetryCount": Int(0, INT64_MAX)}),
    "Annotations": Map(Str()),
}

#: Config fields read here
DOCKER_CONFIG_FIELDS = {
    "Healthcheck": Obj({"Test": Strs(), "Interval": _NS_DURATION, "Timeout": _NS_DURATION,
                        "StartPeriod": _NS_DURATION, "Retries": Int(0, INT64_MAX)}),
}

_NAMESPACE = Obj({"nsmode": Str(64), "value": Str(4096)})
_SPEC_DEVICE_LIMIT = Map(Obj({"major": Int(), "minor": Int(), "rate": Int(0, UINT64_MAX), "weight": Int(0, 1000)}))

#: SpecGenerator fields read here (podman's JSON names)
SPEC_FIELDS = {
    "resource_limits": Obj({
        "memory": Obj({"limit": _SIZE, "reservation": _SIZE, "swap": _SIZE, "kernel": _SIZE,
                       "swappiness": Int(-1, 100), "disableOOMKiller": Bool()}),
        "cpu": Obj({"shares": Int(0, UINT64_MAX), "quota": Int(INT64_MIN, INT64_MAX), "period": Int(0, UINT64_MAX),
                    "realtimeRuntime": Int(INT64_MIN, INT64_MAX), "realtimePeriod": Int(0, UINT64_MAX),
                    "cpus": Str(256), "mems": Str(256)}),
        "pids": Obj({"limit": Int(INT64_MIN, INT64_MAX)}),
        "blockIO": Obj({"weight": Int(0, 1000)}),
        "unified": Map(Str()),
    }),
    "weightDevice": _SPEC_DEVICE_LIMIT, "throttleReadBpsDevice": _SPEC_DEVICE_LIMIT,
    "throttleWriteBpsDevice": _SPEC_DEVICE_LIMIT, "throttleReadIOPSDevice": _SPEC_DEVICE_LIMIT,
    "throttleWriteIOPSDevice": _SPEC_DEVICE_LIMIT,
    "r_limits": List(Obj({"type": Str(64), "hard": Int(0, UINT64_MAX), "soft": Int(0, UINT64_MAX)})),
    "oom_score_adj": Int(-1000, 1000), "shm_size": Int(0, INT64_MAX),
    "cgroups_mode": Str(64), "cgroup_parent": Str(4096),
    "restart_policy": Str(64), "restart_tries": Int(0, INT64_MAX),
    "healthconfig": DOCKER_CONFIG_FIELDS["Healthcheck"], "health_check_on_failure_action": Int(0, 4),
    "pidns": _NAMESPACE, "utsns": _NAMESPACE, "ipcns": _NAMESPACE, "cgroupns": _NAMESPACE, "userns": _NAMESPACE,
    "idmappings": Obj({"UIDMap": List(Obj({"container_id": Int(0), "host_id": Int(0), "size": Int(0)})),
                       "GIDMap": List(Obj({"container_id": Int(0), "host_id": Int(0), "size": Int(0)}))}),
    "sysctl": Map(Str()), "devices": List(Obj({"path": Str(4096)})),
    "device_cgroup_rule": List(Obj({"allow": Bool(), "type": Str(1), "major": Int(-1), "minor": Int(-1),
                                    "access": Str(3)})),
    "init": Bool(), "init_path": Str(4096), "timezone": Str(256), "umask": Str(8), "annotations": Map(Str()),
    "groups": Strs(), "unsetenv": Strs(), "unsetenv_all": Bool(), "personality": Obj({"domain": Str(64)}),
    "systemd": Str(16), "sdnotifyMode": Str(16), "timeout": Int(0, INT64_MAX), "conmon_pid_file": Str(4096),
    "dependencyContainers": Strs(), "manage_password": Bool(), "httpproxy": Bool(),
}

#: libpod's HealthCheckOnFailureAction numbers (0 is its "invalid")
_ON_FAILURE = {1: "none", 2: "kill", 3: "restart", 4: "stop"}


# -- Docker ---------------------------------------------------------------------------


def apply_docker(cfg: ContainerConfig, body: dict, hc: dict) -> None:
    """Config.Healthcheck and HostConfig's settings onto cfg."""
    from ..specgen.security import parse_device

    _docker_resources(cfg, hc)
    ns = cfg.namespaces
    ns.ipc = _docker_ns(hc.get("IpcMode"))
    ns.pid = _docker_ns(hc.get("PidMode"))
    ns.uts = _docker_ns(hc.get("UTSMode"))
    ns.userns = _docker_ns(hc.get("UsernsMode"))
    ns.cgroupns = hc.get("CgroupnsMode") or ""
    ns.sysctls = strdict(hc.get("Sysctls"), "HostConfig.Sysctls")
    cfg.security.devices = [parse_device(":".join(p for p in (d.get("PathOnHost") or "", d.get("PathInContainer") or "",
                                                               d.get("CgroupPermissions") or "") if p))
                            for d in hc.get("Devices") or []]
    _cgroup_rules(cfg, strlist(hc.get("DeviceCgroupRules"), "HostConfig.DeviceCgroupRules"))
    cfg.process.init = bool(hc.get("Init"))
    cfg.process.annotations = strdict(hc.get("Annotations"), "HostConfig.Annotations")
    cfg.groups = strlist(hc.get("GroupAdd"), "HostConfig.GroupAdd")
    policy = hc.get("RestartPolicy") or {}
    _restart(cfg, policy.get("Name") or "", policy.get("MaximumRetryCount") or 0)
    _health(cfg, body.get("Healthcheck"))


def _docker_ns(mode) -> str:
    """Docker's namespace modes are pypod's ("" is the default)."""
    return mode or ""


#: Resources attribute, Docker's HostConfig key, libpod's resource_limits.memory key
_MEMORY_FIELDS = (
    ("memory", "Memory", "limit"),
    ("memory_reservation", "MemoryReservation", "reservation"),
    ("memory_swap", "MemorySwap", "swap"),
    ("kernel_memory", "KernelMemory", "kernel"),
)


def _memory(r, source: dict, api: int) -> None:
    """The memory limits from Docker's HostConfig (api 0) or libpod's
    resource_limits.memory (api 1), one table for both; an absent
    swappiness keeps the default."""
    for attr, *keys in _MEMORY_FIELDS:
        setattr(r, attr, source.get(keys[api]) or 0)
    swappiness = source.get(("MemorySwappiness", "swappiness")[api])
    if swappiness is not None:
        r.memory_swappiness = swappiness


def _docker_resources(cfg: ContainerConfig, hc: dict) -> None:
    from ..specgen import resources as rs

    r = cfg.resources
    _memory(r, hc, 0)
    r.oom_kill_disable = bool(hc.get("OomKillDisable"))
    r.oom_score_adj = hc.get("OomScoreAdj")
    nano = hc.get("NanoCpus") or 0
    if nano:
        if hc.get("CpuPeriod") or hc.get("CpuQuota"):
            raise InvalidArgument("conflicting options: Nano CPUs and CPU Period or CPU Quota cannot both be set")
        r.nano_cpus, r.cpu_period, r.cpu_quota = nano, rs.CPU_PERIOD, nano * rs.CPU_PERIOD // 1_000_000_000
    else:
        r.cpu_period, r.cpu_quota = hc.get("CpuPeriod") or 0, hc.get("CpuQuota") or 0
    r.cpu_shares = hc.get("CpuShares") or 0
    r.cpu_rt_period, r.cpu_rt_runtime = hc.get("CpuRealtimePeriod") or 0, hc.get("CpuRealtimeRuntime") or 0
    r.cpuset_cpus, r.cpuset_mems = hc.get("CpusetCpus") or "", hc.get("CpusetMems") or ""
    # Docker: 0 or null leaves the default, -1 is unlimited
    pids = hc.get("PidsLimit")
    r.pids_limit = None if not pids else 0 if pids < 0 else pids
    r.blkio_weight = hc.get("BlkioWeight") or 0
    r.blkio_weight_device = [rs.parse_device_limit(f"{d.get('Path')}:{d.get('Weight')}", "weight")
                             for d in hc.get("BlkioWeightDevice") or []]
    for key, attr, kind in (("BlkioDeviceReadBps", "device_read_bps", "bps"), ("BlkioDeviceWriteBps", "device_write_bps", "bps"),
                            ("BlkioDeviceReadIOps", "device_read_iops", "iops"),
                            ("BlkioDeviceWriteIOps", "device_write_iops", "iops")):
        setattr(r, attr, [rs.parse_device_limit(f"{d.get('Path')}:{d.get('Rate')}", kind) for d in hc.get(key) or []])
    r.shm_size = hc.get("ShmSize") or 0
    r.cgroup_parent = hc.get("CgroupParent") or ""
    rs.finish(r, swap_given=bool(r.memory_swap))


# -- podman's SpecGenerator --------------------------------------------------------------


def apply_spec(cfg: ContainerConfig, spec: dict) -> None:
    """A SpecGenerator's settings onto cfg."""
    from ..specgen.security import parse_device

    _spec_resources(cfg, spec)
    ns = cfg.namespaces
    ns.pid = _spec_ns(spec.get("pidns"), "pidns")
    ns.uts = _spec_ns(spec.get("utsns"), "utsns")
    ns.ipc = _spec_ns(spec.get("ipcns"), "ipcns")
    ns.cgroupns = _spec_ns(spec.get("cgroupns"), "cgroupns")
    ns.userns = _spec_ns(spec.get("userns"), "userns")
    ns.sysctls = strdict(spec.get("sysctl"), "sysctl")
    _id_maps(cfg, spec.get("idmappings") or {})
    cfg.security.devices = [parse_device(d.get("path") or "") for d in spec.get("devices") or []]
    _cgroup_rules(cfg, [_cgroup_rule_text(r) for r in spec.get("device_cgroup_rule") or []])
    proc = cfg.process
    proc.init = bool(spec.get("init"))
    proc.init_path = spec.get("init_path") or ""
    proc.timezone = spec.get("timezone") or ""
    proc.umask = spec.get("umask") or ""
    proc.annotations = strdict(spec.get("annotations"), "annotations")
    proc.unsetenv = strlist(spec.get("unsetenv"), "unsetenv")
    proc.unsetenv_all = bool(spec.get("unsetenv_all"))
    proc.personality = (spec.get("personality") or {}).get("domain") or ""
    proc.systemd = spec.get("systemd") or "true"
    proc.sdnotify = spec.get("sdnotifyMode") or "container"
    proc.timeout = spec.get("timeout") or 0
    proc.conmon_pidfile = spec.get("conmon_pid_file") or ""
    proc.requires = strlist(spec.get("dependencyContainers"), "dependencyContainers")
    if spec.get("manage_password") is not None:
        proc.passwd = bool(spec["manage_password"])
    if spec.get("httpproxy"):
        from ..specgen.env import proxy_env

        # the service's own proxy variables, under the body's own
        cfg.env = [*proxy_env(), *cfg.env]
    cfg.groups = strlist(spec.get("groups"), "groups")
    _restart(cfg, spec.get("restart_policy") or "", spec.get("restart_tries") or 0)
    action = spec.get("health_check_on_failure_action")
    _health(cfg, spec.get("healthconfig"), _ON_FAILURE.get(action or 1, "none"))


def _spec_ns(ns, key: str) -> str:
    """A SpecGenerator Namespace ({nsmode, value}) as pypod's mode text."""
    if not ns:
        return ""
    mode, value = ns.get("nsmode") or "", ns.get("value") or ""
    if mode in ("", "default"):
        return ""
    if mode == "path":
        return f"ns:{value}"
    if mode == "from_container":
        return f"container:{value}"
    if mode == "auto" and value:
        return f"auto:{value}"
    if mode in ("host", "private", "shareable", "none", "auto", "nomap", "keep-id"):
        return mode
    raise InvalidArgument(f"{key}: namespace mode {mode!r} is not supported")


def _id_maps(cfg: ContainerConfig, maps: dict) -> None:
    from ..engine.namespace_config import IDMap

    ns = cfg.namespaces
    ns.uid_map = [IDMap(m.get("container_id", 0), m.get("host_id", 0), m.get("size", 0)) for m in maps.get("UIDMap") or []]
    ns.gid_map = [IDMap(m.get("container_id", 0), m.get("host_id", 0), m.get("size", 0)) for m in maps.get("GIDMap") or []]
    if ns.uid_map and not ns.gid_map:
        ns.gid_map = list(ns.uid_map)
    if any(m.size <= 0 for m in (*ns.uid_map, *ns.gid_map)):
        raise InvalidArgument("idmappings: every mapping needs a size of at least 1")


def _cgroup_rule_text(rule: dict) -> str:
    """A SpecGenerator device cgroup rule as the text --device-cgroup-rule takes."""
    if rule.get("allow") is False:
        raise InvalidArgument("device_cgroup_rule: only allow rules can be given")
    num = lambda n: "*" if n is None or n < 0 else str(n)  # noqa: E731
    return f"{rule.get('type') or 'a'} {num(rule.get('major'))}:{num(rule.get('minor'))} {rule.get('access') or 'rwm'}"


def _spec_resources(cfg: ContainerConfig, spec: dict) -> None:
    from ..specgen import resources as rs

    limits = spec.get("resource_limits") or {}
    mem, cpu = limits.get("memory") or {}, limits.get("cpu") or {}
    r = cfg.resources
    _memory(r, mem, 1)
    r.oom_kill_disable = bool(mem.get("disableOOMKiller"))
    r.cpu_shares = cpu.get("shares") or 0
    r.cpu_quota, r.cpu_period = cpu.get("quota") or 0, cpu.get("period") or 0
    if r.cpu_quota > 0 and r.cpu_period:
        r.nano_cpus = r.cpu_quota * 1_000_000_000 // r.cpu_period  # what --cpus became on the client
    r.cpu_rt_runtime, r.cpu_rt_period = cpu.get("realtimeRuntime") or 0, cpu.get("realtimePeriod") or 0
    r.cpuset_cpus, r.cpuset_mems = cpu.get("cpus") or "", cpu.get("mems") or ""
    pids = (limits.get("pids") or {}).get("limit")
    r.pids_limit = None if pids is None else max(pids, 0)
    r.blkio_weight = (limits.get("blockIO") or {}).get("weight") or 0
    r.unified = strdict(limits.get("unified"), "resource_limits.unified")
    r.blkio_weight_device = _spec_devices(spec.get("weightDevice"), "weight", "weight")
    r.device_read_bps = _spec_devices(spec.get("throttleReadBpsDevice"), "rate", "bps")
    r.device_write_bps = _spec_devices(spec.get("throttleWriteBpsDevice"), "rate", "bps")
    r.device_read_iops = _spec_devices(spec.get("throttleReadIOPSDevice"), "rate", "iops")
    r.device_write_iops = _spec_devices(spec.get("throttleWriteIOPSDevice"), "rate", "iops")
    if spec.get("oom_score_adj") is not None:
        r.oom_score_adj = spec["oom_score_adj"]
    r.shm_size = spec.get("shm_size") or 0
    r.cgroups = spec.get("cgroups_mode") or ""
    r.cgroup_parent = spec.get("cgroup_parent") or ""
    rs.finish(r, swap_given=bool(r.memory_swap))
    cfg.ulimits = [_rlimit(x) for x in spec.get("r_limits") or []]


def _spec_devices(devices: dict | None, key: str, kind: str) -> list:
    """podman's per-device maps (path -> {rate|weight}); the client leaves
    major and minor zero for the server to resolve, as this does."""
    from ..specgen.resources import parse_device_limit

    return [parse_device_limit(f"{path}:{d.get(key) or 0}", kind) for path, d in (devices or {}).items()]


def _rlimit(x: dict) -> tuple[str, int, int]:
    from ..proto.oci_spec import parse_ulimit

    name = str(x.get("type") or "")
    return parse_ulimit(f"{name.removeprefix('RLIMIT_').lower()}={x.get('soft', 0)}:{x.get('hard', 0)}")


# -- shared ------------------------------------------------------------------------------


def _cgroup_rules(cfg: ContainerConfig, rules: list[str]) -> None:
    from ..proto.oci_resources import parse_cgroup_rule

    for rule in rules:
        parse_cgroup_rule(rule)
    cfg.security.device_cgroup_rules = rules


def _restart(cfg: ContainerConfig, name: str, retries: int) -> None:
    from ..specgen.process import check_restart, parse_restart

    if not name:
        return
    cfg.restart = parse_restart(name)
    if retries:
        if cfg.restart.name != "on-failure":
            raise InvalidArgument("restart policy retries can only be specified with on-failure restart policy")
        cfg.restart.max_retries = retries
    check_restart(cfg.restart, cfg.auto_remove)


def _health(cfg: ContainerConfig, check: dict | None, on_failure: str = "none") -> None:
    """Docker's HealthConfig (durations in nanoseconds, zero = the image's
    or the default) as the CLI's --health-* flags make it."""
    from ..engine.health import HealthConfig
    from ..specgen.process import check_health

    if not check:
        return
    test = strlist(check.get("Test"), "Healthcheck.Test")
    if test and test[0] not in ("CMD", "CMD-SHELL", "NONE"):
        # a bare command, as podman takes it (Cockpit's Create dialog sends one)
        test = ["CMD", *test]
    cfg.health = check_health(HealthConfig(
        test=test, interval=(check.get("Interval") or 0) / 1e9, timeout=(check.get("Timeout") or 0) / 1e9,
        start_period=(check.get("StartPeriod") or 0) / 1e9, retries=check.get("Retries") or 0, on_failure=on_failure))
