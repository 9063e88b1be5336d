"""What this host can honour: a container configuration asking for
something the host lacks (a MAC system, a kernel feature, a log backend) is
refused at create with one clear line, never run looking confined or
limited when it is not.  Also resolves the references a configuration
makes to other containers (namespaces to join, --requires) to their IDs."""

from __future__ import annotations

import os

from ..errors import InvalidArgument
from .container import ContainerConfig

CGROUP_ROOT = "/sys/fs/cgroup"


def apparmor_enabled() -> bool:
    try:
        with open("/sys/module/apparmor/parameters/enabled") as f:
            return f.read().strip() == "Y" and os.path.isdir("/sys/kernel/security/apparmor")
    except OSError:
        return False


def selinux_enabled() -> bool:
    return os.path.exists("/sys/fs/selinux/enforce")


def _cgroup_v2() -> bool:
    return os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers"))


def _cgroup_file(v1: str, v2: str) -> bool:
    """Whether the kernel offers a cgroup control file (v1 path under its
    controller, or the v2 name)."""
    if _cgroup_v2():
        return os.path.exists(os.path.join(CGROUP_ROOT, v2)) or _v2_controller(v2.split(".", 1)[0])
    return os.path.exists(os.path.join(CGROUP_ROOT, v1))


def _v2_controller(name: str) -> bool:
    try:
        with open(os.path.join(CGROUP_ROOT, "cgroup.controllers")) as f:
            return name in f.read().split()
    except OSError:
        return False


def check(engine, cfg: ContainerConfig) -> None:
    _check_security(cfg)
    _check_namespaces(engine, cfg)
    check_resources(engine, cfg)
    _check_process(engine, cfg)


def _check_security(cfg: ContainerConfig) -> None:
    from .security import UNCONFINED

    sec = cfg.security
    if sec.apparmor_profile and sec.apparmor_profile != UNCONFINED and not apparmor_enabled():
        raise InvalidArgument(f'apparmor profile "{sec.apparmor_profile}" specified, but Apparmor is not enabled on this system')
    labels = [o for o in sec.label_options if o not in ("disable", "nested")]
    if labels:
        if not selinux_enabled():
            raise InvalidArgument(f'SELinux label "{labels[0]}" specified, but SELinux is not enabled on this system')
        raise InvalidArgument(f'SELinux label "{labels[0]}": pypod does not apply SELinux labels')
    if not cfg.privileged and sec.seccomp_profile != UNCONFINED:
        # Read the profile now: a missing or broken one fails `create`, not a later `start`.
        from ..proto.seccomp import translate
        from .bundle import seccomp_profile

        profile = seccomp_profile(cfg)
        if profile is not None:
            translate(profile, (), "amd64")


def _resolve_container(engine, ref: str) -> str:
    return engine.container(ref).id


def _check_namespaces(engine, cfg: ContainerConfig) -> None:
    from ..proto.oci_namespaces import check_mode, check_sysctl

    ns = cfg.namespaces
    for kind, attr in (("ipc", "ipc"), ("pid", "pid"), ("uts", "uts"), ("cgroupns", "cgroupns")):
        mode = check_mode(kind, getattr(ns, attr))
        if mode.startswith("container:"):
            other = engine.container(mode[len("container:"):])
            if kind == "ipc" and other.config.namespaces.ipc != "shareable":
                # its /dev/shm lives in its own mount namespace, out of reach (Docker's rule too)
                raise InvalidArgument(f"cannot join the IPC namespace of container {other.name}: it is not shareable "
                                      "(create it with --ipc shareable)")
            mode = "container:" + other.id
        setattr(ns, attr, mode)
    if ns.userns.startswith("container:"):
        ns.userns = "container:" + _resolve_container(engine, ns.userns[len("container:"):])
    elif ns.userns.startswith("ns:"):
        if not ns.userns[3:].startswith("/"):
            raise InvalidArgument(f"invalid user namespace path {ns.userns[3:]!r}: must be absolute")
    elif ns.userns in ("keep-id", "nomap") or ns.userns.startswith(("keep-id:", "nomap:")):
        if os.geteuid() == 0:
            raise InvalidArgument(f"{ns.userns.split(':')[0]} is only supported in rootless mode")
    elif ns.userns.startswith("auto"):
        from .userns import auto_mapping

        ns.uid_map, ns.gid_map = auto_mapping(engine, cfg)
        ns.userns = "private"
    elif ns.userns in ("", "host", "private"):
        if ns.userns == "private" and not ns.uid_map:
            raise InvalidArgument("--userns private needs --uidmap (or use --userns auto)")
        if ns.userns == "host" and ns.uid_map:
            raise InvalidArgument("--userns host cannot be combined with --uidmap or --gidmap")
        if ns.uid_map:
            ns.userns = "private"
    else:
        raise InvalidArgument(f'invalid user namespace "{ns.userns}": use host, auto, container:ID, ns:PATH '
                              "(keep-id and nomap in rootless mode)")
    if ns.gid_map and not ns.uid_map:
        raise InvalidArgument("--gidmap needs --uidmap as well")
    for name in ns.sysctls:
        check_sysctl(name, ns, cfg.network)
    if cfg.process.init and ns.pid and ns.pid not in ("private",):
        raise InvalidArgument("cannot add init binary as PID 1 (PID namespace isn't private)")
    if ns.ipc == "host" and cfg.resources.shm_size and cfg.resources.shm_size != _default_shm():
        raise InvalidArgument("cannot set --shm-size when the container shares the host's IPC namespace")


def _default_shm() -> int:
    from .resources import DEFAULT_SHM_SIZE

    return DEFAULT_SHM_SIZE


def check_resources(engine, cfg: ContainerConfig) -> None:
    """The limits cfg.resources asks for, against what this host can limit
    (also a pod's cgroup's, through a holder config)."""
    res = cfg.resources
    v2 = _cgroup_v2()
    limited = any((res.memory, res.memory_reservation, res.memory_swap not in (0,), res.cpu_shares, res.cpu_quota,
                   res.cpu_period, res.cpuset_cpus, res.cpuset_mems, res.blkio_weight, res.blkio_weight_device,
                   res.device_read_bps, res.device_write_bps, res.device_read_iops, res.device_write_iops,
                   res.oom_kill_disable, res.cpu_rt_runtime, res.unified))
    no_cgroups = res.cgroups == "disabled" or engine.config.cgroup_manager == "disabled"
    if res.cgroups == "disabled":
        runtime = engine.runtime.name
        if runtime != "crun":
            raise InvalidArgument(f"requested OCI runtime {runtime} is not compatible with NoCgroups: invalid argument")
        if res.cgroup_parent:
            raise InvalidArgument("cgroup parent cannot be set when cgroups are disabled")
    if res.cgroups == "split":
        raise InvalidArgument('--cgroups split needs the cgroup v2 unified hierarchy and the systemd cgroup manager; '
                              'this host runs cgroupfs' + ("" if v2 else " on cgroup v1"))
    from .. import rootless

    if res.cgroups != "disabled" and rootless.without_cgroups():
        return  # the limits go, with podman's warning (rootless.adjust_spec): what the kernel offers is moot
    if limited and no_cgroups:
        raise InvalidArgument("resource limits need a cgroup, but cgroups are disabled for this container")
    if res.unified and not v2:
        raise InvalidArgument("cannot use --cgroup-conf without cgroup v2")
    if (res.blkio_weight or res.blkio_weight_device) and not _cgroup_file("blkio/blkio.weight", "io.bfq.weight"):
        raise InvalidArgument("--blkio-weight: this kernel offers no Block I/O weight (blkio.weight is missing: "
                              "no BFQ scheduler), so the weight could not be applied")
    for items, v1_name in ((res.device_read_bps, "read_bps_device"), (res.device_write_bps, "write_bps_device"),
                           (res.device_read_iops, "read_iops_device"), (res.device_write_iops, "write_iops_device")):
        if items and not _cgroup_file(f"blkio/blkio.throttle.{v1_name}", "io.max"):
            raise InvalidArgument(f"block I/O throttling ({v1_name}) is not supported by this kernel's cgroups")
    if res.memory_swap > 0 and not _cgroup_file("memory/memory.memsw.limit_in_bytes", "memory.swap.max"):
        # podman's default swap (twice --memory) is not the user's ask: drop it quietly
        res.memory_swap = 0
    if res.memory_swappiness >= 0 and v2:
        raise InvalidArgument("--memory-swappiness is not supported on cgroup v2")
    if res.oom_kill_disable and v2:
        raise InvalidArgument("--oom-kill-disable is not supported on cgroup v2")
    if res.kernel_memory:
        import sys

        print("WARN: the --kernel-memory flag is no longer supported: the kernel and runtime ignore it", file=sys.stderr)
    if res.cpu_rt_runtime or res.cpu_rt_period:
        if v2:
            raise InvalidArgument("realtime CPU limits (--cpu-rt-*) are not supported on cgroup v2")
        if not os.path.exists(os.path.join(CGROUP_ROOT, "cpu", "cpu.rt_runtime_us")):
            raise InvalidArgument("realtime CPU limits need a kernel built with CONFIG_RT_GROUP_SCHED")
    _check_cpuset(res.cpuset_cpus, "cpus", "CPUs")
    _check_cpuset(res.cpuset_mems, "mems", "memory nodes")


def _parse_set(text: str) -> set[int]:
    out: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        if not lo.isdigit() or (sep and not hi.isdigit()):
            raise ValueError(part)
        out.update(range(int(lo), int(hi if sep else lo) + 1))
    return out


def _check_cpuset(requested: str, kind: str, what: str) -> None:
    if not requested:
        return
    try:
        want = _parse_set(requested)
    except ValueError:
        raise InvalidArgument(f"invalid cpuset-{kind} {requested!r}") from None
    path = {"cpus": "/sys/devices/system/cpu/online", "mems": "/sys/devices/system/node/online"}[kind]
    try:
        with open(path) as f:
            available_text = f.read().strip()
    except OSError:
        available_text = "0"
    available = _parse_set(available_text)
    if not want <= available:
        raise InvalidArgument(f"requested {what} are not available - requested {requested}, available: {available_text}")


def _check_process(engine, cfg: ContainerConfig) -> None:
    from .bundle import hard_limits, init_binary, zoneinfo_file

    proc = cfg.process
    if proc.timezone:
        zoneinfo_file(proc.timezone)
    if proc.init:
        init_binary(cfg)
    if proc.systemd not in ("true", "false", "always"):
        raise InvalidArgument(f"invalid value {proc.systemd!r} for --systemd: use true, false or always")
    if proc.sdnotify not in ("container", "conmon", "ignore"):
        raise InvalidArgument(f"invalid value {proc.sdnotify!r} for --sdnotify: use container, conmon or ignore")
    if proc.umask:
        from ..proto.oci_process import umask_value

        umask_value(proc.umask)
    if proc.personality:
        _check_personality(engine, proc.personality)
    proc.requires = [_resolve_container(engine, r) for r in proc.requires]
    from .depends import dependencies

    cfg.depends_on = list(dict.fromkeys([*cfg.depends_on, *dependencies(cfg)]))
    from .bundle import _host_passwd_line

    for who in proc.hostusers:
        _host_passwd_line(who)
    for d in proc.chrootdirs:
        if not d.startswith("/"):
            raise InvalidArgument(f"--chrootdirs {d!r} must be an absolute path")
    limits = hard_limits(all_kinds=True)
    from ..proto.oci_spec import RLIMIT_NAMES

    for name, soft, hard in cfg.ulimits:
        cap = limits.get(RLIMIT_NAMES[name])
        if cap is not None and hard > cap and os.geteuid() == 0 and not _has_cap_sys_resource():
            raise InvalidArgument(f"ulimit {name}={soft}:{hard}: the hard limit is above this host's {cap}, and raising "
                                  "it needs CAP_SYS_RESOURCE, which this process lacks")
    _check_log(cfg)


_PERSONALITIES = ("LINUX", "LINUX32")


def _check_personality(engine, domain: str) -> None:
    if domain not in _PERSONALITIES:
        raise InvalidArgument(f"invalid personality {domain!r}: use LINUX or LINUX32")
    rt = engine.runtime
    if rt.name == "runc" and _runc_version(rt.path) < (1, 2):
        raise InvalidArgument(f"--personality: the OCI runtime runc {'.'.join(map(str, _runc_version(rt.path)))} does not "
                              "apply linux.personality (runc 1.2 or crun does)")


def _runc_version(path: str) -> tuple[int, int]:
    import re
    import subprocess

    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return (0, 0)
    m = re.search(r"version (\d+)\.(\d+)", out)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def _has_cap_sys_resource() -> bool:
    from .bundle import host_bounding_caps

    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> 24 & 1)
    except OSError:
        pass
    return "CAP_SYS_RESOURCE" in host_bounding_caps()


def _check_log(cfg: ContainerConfig) -> None:
    if cfg.log_driver == "journald" and not os.path.exists("/run/systemd/journal/socket"):
        raise InvalidArgument("the journald log driver needs systemd-journald, which is not running on this host "
                              "(no /run/systemd/journal/socket)")
    if cfg.log_driver == "passthrough" and cfg.tty:
        raise InvalidArgument("the passthrough log driver cannot be used with a TTY (-t)")
