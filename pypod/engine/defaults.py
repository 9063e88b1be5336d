"""containers.conf's defaults applied to a new container's configuration.

They are resolved once, at create, as podman resolves them: a container
keeps the limits it was made with whatever the file says later, and
inspect shows what it got.  Whatever the user set explicitly wins.
"""

from __future__ import annotations

from ..errors import InvalidArgument
from .container import ContainerConfig
from .resources import DEFAULT_PIDS_LIMIT, DEFAULT_SHM_SIZE


def apply(cfg: ContainerConfig, conf: dict) -> None:
    """conf: the merged [containers] table (containers_conf.containers_table)."""
    from ..proto.oci_spec import parse_ulimit

    from .health import complete

    res, ns, proc, sec = cfg.resources, cfg.namespaces, cfg.process, cfg.security
    cfg.health = complete(cfg.health, None)  # an image's check was merged in already
    given = {name for name, _s, _h in cfg.ulimits}
    defaults = [_clamped(parse_ulimit(u)) for u in _strings(conf, "default_ulimits")]
    cfg.ulimits = [u for u in defaults if u[0] not in given] + list(cfg.ulimits)
    if res.pids_limit is None:
        res.pids_limit = _int(conf, "pids_limit", DEFAULT_PIDS_LIMIT)
    if res.pids_limit < 0:
        res.pids_limit = 0
    if not res.shm_size:
        from ..specgen.units import parse_size

        res.shm_size = parse_size(str(conf["shm_size"])) if conf.get("shm_size") else DEFAULT_SHM_SIZE
    if res.cgroups == "" and conf.get("cgroups"):
        res.cgroups = str(conf["cgroups"])
    res.cgroups = res.cgroups or "enabled"
    for key, attr in (("ipcns", "ipc"), ("pidns", "pid"), ("utsns", "uts"), ("cgroupns", "cgroupns")):
        if not getattr(ns, attr) and isinstance(conf.get(key), str):
            setattr(ns, attr, conf[key])
    sysctls = {}
    for item in _strings(conf, "default_sysctls"):
        key, sep, value = item.partition("=")
        if sep and not (key.startswith("net.") and cfg.network == "host"):
            sysctls[key.strip()] = value
    ns.sysctls = {**sysctls, **ns.sysctls}
    if not sec.seccomp_profile and not sec.seccomp_profile_json and conf.get("seccomp_profile"):
        sec.seccomp_profile = str(conf["seccomp_profile"])
    if proc.init and not proc.init_path and conf.get("init_path"):
        proc.init_path = str(conf["init_path"])
    if not proc.init and conf.get("init") is True:
        proc.init = True
    if not proc.timezone and conf.get("tz"):
        proc.timezone = str(conf["tz"])
    if not proc.umask:
        proc.umask = str(conf.get("umask") or "0022")
    for item in _strings(conf, "annotations"):
        key, _, value = item.partition("=")
        proc.annotations.setdefault(key, value)


def _clamped(ulimit: tuple[str, int, int]) -> tuple[str, int, int]:
    """A default no higher than our own hard limit: without
    CAP_SYS_RESOURCE the runtime could not raise it (explicit --ulimit
    values are checked, not clamped: the user asked for exactly those)."""
    from ..proto.oci_spec import RLIMIT_NAMES
    from .bundle import hard_limits

    name, soft, hard = ulimit
    cap = hard_limits(all_kinds=True).get(RLIMIT_NAMES[name])
    if cap is not None:
        hard = min(hard, cap)
        soft = min(soft, hard)
    return name, soft, hard


def _strings(conf: dict, key: str) -> list[str]:
    v = conf.get(key) or []
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise InvalidArgument(f"containers.conf: {key} must be a list of strings")
    return v


def _int(conf: dict, key: str, default: int) -> int:
    v = conf.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int):
        raise InvalidArgument(f"containers.conf: {key} must be an integer")
    return v
