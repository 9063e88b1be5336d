"""Builds a container's OCI runtime spec (config.json) from its configuration.

Pure: every fact about the host (rlimits, devices, resolved user) comes in
as an argument, so the whole policy is unit-testable without processes.
Defaults follow podman's: its capability set, masked and read-only paths,
the standard mounts, and rlimits no higher than the caller may set.
"""

from __future__ import annotations

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#: podman's default_capabilities (containers.conf)
DEFAULT_CAPS = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_NET_BIND_SERVICE",
    "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT",
)

#: every capability, in the kernel's numbering (bit n of a capability mask)
ALL_CAPS = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
    "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
    "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
)

MASKED_PATHS = (
    "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
    "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/fs/selinux", "/sys/dev/block",
)
READONLY_PATHS = ("/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")

#: podman's default ulimits before clamping (containers.conf defaults)
DEFAULT_RLIMITS = {"RLIMIT_NOFILE": (1048576, 1048576), "RLIMIT_NPROC": (4194304, 4194304)}

RLIMIT_NAMES = {
    "core": "RLIMIT_CORE", "cpu": "RLIMIT_CPU", "data": "RLIMIT_DATA", "fsize": "RLIMIT_FSIZE",
    "locks": "RLIMIT_LOCKS", "memlock": "RLIMIT_MEMLOCK", "msgqueue": "RLIMIT_MSGQUEUE", "nice": "RLIMIT_NICE",
    "nofile": "RLIMIT_NOFILE", "nproc": "RLIMIT_NPROC", "rss": "RLIMIT_RSS", "rtprio": "RLIMIT_RTPRIO",
    "rttime": "RLIMIT_RTTIME", "sigpending": "RLIMIT_SIGPENDING", "stack": "RLIMIT_STACK", "as": "RLIMIT_AS",
}


def normalize_cap(name: str) -> str:
    from ..errors import InvalidArgument

    cap = name.strip().upper()
    if cap == "ALL":
        return cap
    if not cap.startswith("CAP_"):
        cap = "CAP_" + cap
    if cap not in ALL_CAPS:
        raise InvalidArgument(f"unknown capability {name!r}: invalid argument")
    return cap


def caps_from_mask(mask: int) -> list[str]:
    """Capability names of a mask such as /proc/self/status's CapBnd."""
    return [name for bit, name in enumerate(ALL_CAPS) if mask >> bit & 1]


def capability_set(privileged: bool, cap_add: list[str], cap_drop: list[str], bounding: list[str] | tuple = ALL_CAPS) -> list[str]:
    """The container's bounding set: podman's defaults, or when privileged
    every capability the caller itself holds (bounding), then adds and drops."""
    if privileged:
        caps = list(bounding)
    else:
        caps = list(DEFAULT_CAPS)
    adds = [normalize_cap(c) for c in cap_add]
    drops = [normalize_cap(c) for c in cap_drop]
    if "ALL" in adds:
        caps = list(bounding)
    else:
        caps += [c for c in adds if c not in caps]
    if "ALL" in drops:
        caps = [c for c in adds if c != "ALL"]
    else:
        caps = [c for c in caps if c not in drops or c in adds]
    return sorted(set(caps))


def process_capabilities(bounding: list[str], uid: int, cap_add: list[str] = ()) -> dict:
    """uid 0 holds its whole bounding set.  Other users hold only the
    capabilities added explicitly (--cap-add), in every set including the
    ambient one, so they survive the exec of the command, as in podman;
    they keep the bound, so setuid binaries can still raise the rest."""
    if uid == 0:
        return {"bounding": list(bounding), "effective": list(bounding), "permitted": list(bounding)}
    added = [c for c in (normalize_cap(c) for c in cap_add) if c in bounding]
    return {"bounding": list(bounding), "effective": list(added), "permitted": list(added),
            "inheritable": list(added), "ambient": list(added)}


def parse_ulimit(spec: str) -> tuple[str, int, int]:
    """'nofile=1024:2048', 'nproc=512', '-1' for unlimited."""
    from ..errors import InvalidArgument

    name, sep, values = spec.partition("=")
    if not sep or name not in RLIMIT_NAMES or not values:
        raise InvalidArgument(f"invalid ulimit argument: {spec}")
    soft_s, _, hard_s = values.partition(":")
    try:
        soft = int(soft_s)
        hard = int(hard_s) if hard_s else soft
    except ValueError:
        raise InvalidArgument(f"invalid ulimit argument: {spec}") from None
    # -1 is unlimited; otherwise an int64, as podman parses them (runc takes no more)
    if not all(v == -1 or 0 <= v <= 2**63 - 1 for v in (soft, hard)):
        raise InvalidArgument(f"invalid ulimit argument: {spec}: value out of range")
    unlimited = 2**64 - 1
    soft = unlimited if soft == -1 else soft
    hard = unlimited if hard == -1 else hard
    if soft > hard:
        raise InvalidArgument(f"ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}")
    return name, soft, hard


def rlimits(ulimits: list[tuple[str, int, int]], hard_limits: dict[str, int]) -> list[dict]:
    """Defaults clamped to the caller's hard limits (without CAP_SYS_RESOURCE a
    runtime cannot raise them); explicit --ulimit values are kept as asked."""
    out: dict[str, tuple[int, int]] = {}
    for rtype, (soft, hard) in DEFAULT_RLIMITS.items():
        cap = hard_limits.get(rtype)
        if cap is not None:
            hard = min(hard, cap)
            soft = min(soft, hard)
        out[rtype] = (soft, hard)
    for name, soft, hard in ulimits:
        out[RLIMIT_NAMES[name]] = (soft, hard)
    return [{"type": t, "hard": h, "soft": s} for t, (s, h) in out.items()]


def build_env(image_env: list[str], user_env: list[str], tty: bool, hostname: str, home: str, secret_env: list[str],
              unset: list[str] = (), unset_all: bool = False) -> list[str]:
    """Image env, then pypod's additions, then the user's: later keys win,
    order kept.  unset names defaults (PATH, TERM, container, HOSTNAME,
    HOME, the image's) to leave out; unset_all leaves out every one, so
    only what the user (and secrets) set remains."""
    merged: dict[str, str] = {}
    base = [DEFAULT_PATH, *image_env]
    extra = ["container=podman", f"HOSTNAME={hostname}"] if hostname else ["container=podman"]
    if tty:
        extra.append("TERM=xterm")
    defaults = [] if unset_all else [*base, *extra]
    for item in defaults:
        k, _, v = item.partition("=")
        if k not in unset:
            merged.pop(k, None)
            merged[k] = v
    for item in [*secret_env, *user_env]:
        k, _, v = item.partition("=")
        merged.pop(k, None)
        merged[k] = v
    if "HOME" not in merged and not unset_all and "HOME" not in unset:
        merged["HOME"] = home or "/"
    return [f"{k}={v}" for k, v in merged.items()]


def merge_env(env: list[str], merges: list[str]) -> list[str]:
    """--env-merge NAME=VALUE over the finished environment: VALUE may use
    ${NAME} for a variable's default (the image's), e.g. PATH=/opt/bin:${PATH}."""
    if not merges:
        return list(env)  # what every run without --env-merge asks: no `re` for it
    import re

    from ..errors import InvalidArgument

    current = {k: v for k, _, v in (e.partition("=") for e in env)}
    out = list(env)
    for item in merges:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise InvalidArgument(f"invalid --env-merge {item!r}: must be NAME=VALUE")
        value = re.sub(r"\$\{(\w+)\}", lambda m: current.get(m.group(1), ""), value)
        out = [e for e in out if e.partition("=")[0] != name] + [f"{name}={value}"]
        current[name] = value
    return out


def standard_mounts(privileged: bool, network: str, proc_opts: list[str] = (), shm: dict | None = None) -> list[dict]:
    """shm: the /dev/shm mount (None: none, for --ipc none)."""
    sys_opts = ["nosuid", "noexec", "nodev"] + ([] if privileged else ["ro"])
    mounts = [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev", *proc_opts]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
    ]
    if shm is not None:
        mounts.append(shm)
    if network == "host" and not privileged:
        # sysfs of the host's network namespace cannot be mounted from inside
        # a new user of it; a read-only bind of the host's /sys works.
        mounts.append({"destination": "/sys", "type": "bind", "source": "/sys", "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]})
    else:
        mounts.append({"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": sys_opts})
        mounts.append({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                       "options": ["rprivate", "nosuid", "noexec", "nodev", "relatime"] + ([] if privileged else ["ro"])})
    return mounts


def shm_mount(size: int, source: str = "") -> dict:
    """/dev/shm: a tmpfs of the given size, or a bind of another IPC
    namespace's (the host's, another container's)."""
    if source:
        return {"destination": "/dev/shm", "type": "bind", "source": source, "options": ["rbind", "nosuid", "noexec", "nodev"]}
    return {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
            "options": ["nosuid", "noexec", "nodev", "mode=1777", f"size={size}"]}


def build_spec(
    cfg,
    *,
    rootfs: str,
    args: list[str],
    env: list[str],
    cwd: str,
    uid: int,
    gid: int,
    additional_gids: list[int],
    hard_limits: dict[str, int],
    etc_files: dict[str, str],
    host_devices: list[dict] = (),
    devices: list[dict] = (),
    cgroups_path: str = "",
    bounding: list[str] | tuple = ALL_CAPS,
    seccomp_profile: dict | None = None,
    goarch: str = "amd64",
    kernel: tuple[int, int] = (99, 0),
    hostname: str = "",
    joined_namespaces: dict[str, str] | None = None,
    cgroupns_private: bool = False,
    cgroup_v2: bool = False,
    shm_source: str = "",
    init_binary: str = "",
    localtime: str = "",
    mounts: list[dict] | None = None,
    namespace_paths: dict[str, str] | None = None,
) -> dict:
    """The OCI spec for cfg (an engine ContainerConfig).

    etc_files maps container paths (/etc/hosts, /etc/resolv.conf,
    /etc/hostname) to the host files pypod generated for them.
    seccomp_profile is the parsed profile to filter with (None: no filter);
    goarch and kernel are the host's, for the profile's conditional rules.
    devices are the --device entries resolved (bundle.requested_devices);
    joined_namespaces maps OCI namespace types to the paths to join;
    cgroupns_private is the default cgroupns mode (private on cgroup v2);
    shm_source is the /dev/shm to bind for a shared IPC namespace;
    init_binary and localtime are host files to mount (--init, --tz).
    mounts are the user's mounts as OCI entries, made ready by
    engine/mounts.py (when None, cfg.mounts are taken as plain binds).
    namespace_paths maps namespace types (network, ipc, uts, pid, cgroup)
    to namespaces to join: a network namespace pypod made, another
    container's, a pod's infra container's.
    """
    from . import oci_namespaces, oci_process
    from .oci_resources import device_cgroup_rules, linux_resources

    sec, ns, res, proc = cfg.security, cfg.namespaces, cfg.resources, cfg.process
    caps = capability_set(cfg.privileged, cfg.cap_add, cfg.cap_drop, bounding)
    if mounts is None:
        mounts = []
        for m in cfg.mounts:
            opts = list(m.options)
            if m.type == "bind" and not any(o in ("bind", "rbind") for o in opts):
                opts.append("rbind")
            mounts.append({"destination": m.destination, "type": m.type, "source": m.source, "options": opts})
    user_mounts = mounts
    shm = None if ns.ipc == "none" else shm_mount(res.shm_size or 65536000, shm_source)
    mounts = standard_mounts(cfg.privileged, cfg.network, sec.proc_opts, shm)
    for dest, src in etc_files.items():
        mounts.append({"destination": dest, "type": "bind", "source": src, "options": ["bind", "rprivate"]})
        # --chrootdirs: a chroot inside the container gets the same files
        for chroot in proc.chrootdirs:
            mounts.append({"destination": chroot.rstrip("/") + dest, "type": "bind", "source": src,
                           "options": ["bind", "rprivate"]})
    if localtime:
        mounts.append({"destination": "/etc/localtime", "type": "bind", "source": localtime, "options": ["bind", "rprivate", "ro"]})
    if oci_process.systemd_mode(proc.systemd, args):
        mounts += oci_process.systemd_mounts(cgroup_v2)
    if init_binary:
        mounts.append(oci_process.init_mount(init_binary))
        args = oci_process.init_args(args)
    # A user's mount over a standard one replaces it, as in podman.
    user_dests = {m["destination"] for m in user_mounts}
    mounts = [m for m in mounts if m["destination"] not in user_dests] + list(user_mounts)

    all_devices = [*host_devices, *devices]
    linux: dict = {
        "namespaces": oci_namespaces.namespace_list(ns, cfg.network, cgroupns_private, joined_namespaces or {},
                                                    namespace_paths or {}),
        "resources": linux_resources(res, device_cgroup_rules(cfg.privileged, list(devices), sec.device_cgroup_rules)),
    }
    if ns.uid_map:
        linux["uidMappings"] = oci_namespaces.id_mappings(ns.uid_map)
        linux["gidMappings"] = oci_namespaces.id_mappings(ns.gid_map or ns.uid_map)
    if ns.sysctls:
        linux["sysctl"] = dict(ns.sysctls)
    if cgroups_path:
        linux["cgroupsPath"] = cgroups_path
    if not cfg.privileged:
        linux["maskedPaths"], linux["readonlyPaths"] = masked_paths(sec.mask, sec.unmask)
    if seccomp_profile is not None and not cfg.privileged:
        from .seccomp import translate

        linux["seccomp"] = translate(seccomp_profile, caps, goarch, kernel)
    if all_devices:
        linux["devices"] = [{k: v for k, v in d.items() if k != "access"} for d in all_devices]
    if proc.personality:
        linux["personality"] = {"domain": proc.personality}

    user = {"uid": uid, "gid": gid, "umask": oci_process.umask_value(proc.umask or "0022")}
    if additional_gids:
        user["additionalGids"] = list(additional_gids)
    process = {
        "terminal": bool(cfg.tty),
        "user": user,
        "args": list(args),
        "env": list(env),
        "cwd": cwd or "/",
        "capabilities": process_capabilities(caps, uid, cfg.cap_add),
        "rlimits": rlimits(cfg.ulimits, hard_limits),
        "noNewPrivileges": bool(sec.no_new_privileges),
    }
    if res.oom_score_adj is not None:
        process["oomScoreAdj"] = res.oom_score_adj
    if sec.apparmor_profile and sec.apparmor_profile != "unconfined":
        process["apparmorProfile"] = sec.apparmor_profile
    stop_signal = cfg.stop_signal
    spec = {
        "ociVersion": "1.0.2-dev",
        "process": process,
        "root": {"path": rootfs, "readonly": bool(cfg.read_only)},
        "mounts": mounts,
        "annotations": {"io.container.manager": "pypod", **oci_process.annotations(cfg),
                        "org.opencontainers.image.stopSignal": str(stop_signal)},
        "linux": linux,
    }
    if any(n["type"] == "uts" and "path" not in n for n in linux["namespaces"]):
        spec["hostname"] = hostname or cfg.hostname
    return spec


def masked_paths(mask: list[str], unmask: list[str]) -> tuple[list[str], list[str]]:
    """(maskedPaths, readonlyPaths): the defaults plus mask, less unmask
    ("ALL" leaves every default path alone, masked and read-only alike)."""
    if "ALL" in unmask:
        masked, readonly = [], []
    else:
        masked = [p for p in MASKED_PATHS if p not in unmask]
        readonly = [p for p in READONLY_PATHS if p not in unmask]
    masked += [p for p in mask if p not in masked]
    return masked, readonly
