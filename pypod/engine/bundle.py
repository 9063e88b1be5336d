"""What goes into a container's bundle besides the image: the user looked
up in its rootfs, its working directory, and the host's limits and devices
it may inherit.  (The generated /etc files: engine/namespaces.py.)"""

from __future__ import annotations

import os
TYPE_CHECKING = False  # typing's import would cost every command milliseconds
if TYPE_CHECKING:
    from .container import ContainerConfig



def lookup_user(rootfs: str, spec: str):
    from ..proto.passwd import get_user_group_info

    return get_user_group_info(rootfs, spec)


def make_workdir(rootfs: str, workdir: str, uid: int, gid: int) -> None:
    """podman creates a missing working directory, owned by the user."""
    from ..proto.passwd import secure_join

    from ..errors import InvalidArgument

    path = secure_join(rootfs, workdir)
    if os.path.isdir(path):
        return
    if os.path.lexists(path):
        raise InvalidArgument(f"workdir {workdir!r} exists in the container, but is not a directory")
    try:
        os.makedirs(path, mode=0o755, exist_ok=True)
        os.chown(path, uid, gid)
    except OSError as e:
        raise InvalidArgument(f"creating workdir {workdir!r}: {(e.strerror or str(e)).lower()}") from None


def host_bounding_caps() -> list[str]:
    """Our own bounding set: what --privileged can give (here, for one, it
    lacks CAP_SYS_RESOURCE; asking for it would make the runtime fail)."""
    from ..proto.oci_spec import ALL_CAPS, caps_from_mask

    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapBnd:"):
                    return caps_from_mask(int(line.split()[1], 16))
    except OSError:
        pass
    return list(ALL_CAPS)


def seccomp_profile(cfg: ContainerConfig) -> dict | None:
    """The seccomp profile the container is filtered with, parsed (None: no
    filter, for --privileged or seccomp=unconfined, as podman)."""
    from ..proto.seccomp import DEFAULT_PROFILE, load_profile
    from .security import UNCONFINED

    sec = cfg.security
    if cfg.privileged or sec.seccomp_profile == UNCONFINED:
        return None
    if sec.seccomp_profile_json:
        import json

        from ..errors import InvalidArgument

        try:
            return json.loads(sec.seccomp_profile_json)
        except ValueError as e:
            raise InvalidArgument(f"decoding seccomp profile failed: {e}") from None
    path = sec.seccomp_profile or DEFAULT_PROFILE
    if not sec.seccomp_profile and not os.path.exists(path):
        from ..errors import InvalidArgument

        raise InvalidArgument(f"the default seccomp profile {path} is missing (Debian's golang-github-containers-common "
                              "installs it): install it, or run with --security-opt seccomp=unconfined")
    return load_profile(path)


def host_arch_and_kernel() -> tuple[str, tuple[int, int]]:
    """(Go architecture name, (kernel major, minor)): what a seccomp
    profile's conditional rules are about."""
    from ..proto.seccomp import MACHINE_TO_GOARCH, kernel_version

    u = os.uname()
    return MACHINE_TO_GOARCH.get(u.machine, u.machine), kernel_version(u.release)


def hard_limits(all_kinds: bool = False) -> dict[str, int]:
    """Our own hard rlimits (finite ones only): the default ones the spec
    clamps, or with all_kinds every kind --ulimit can name."""
    import resource

    from ..proto.oci_spec import RLIMIT_NAMES

    out = {}
    for name in (RLIMIT_NAMES.values() if all_kinds else ("RLIMIT_NOFILE", "RLIMIT_NPROC")):
        if not hasattr(resource, name):
            continue
        hard = resource.getrlimit(getattr(resource, name))[1]
        if hard != resource.RLIM_INFINITY:
            out[name] = hard
    return out


def _device_entry(host_path: str, container_path: str) -> dict | None:
    """The OCI linux.devices entry for a character or block device; None for anything else."""
    import stat

    try:
        st = os.stat(host_path)
    except OSError:
        return None
    if not (stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)):
        return None
    return {
        "path": container_path,
        "type": "c" if stat.S_ISCHR(st.st_mode) else "b",
        "major": os.major(st.st_rdev),
        "minor": os.minor(st.st_rdev),
        "fileMode": stat.S_IMODE(st.st_mode),
        "uid": st.st_uid,
        "gid": st.st_gid,
    }


def _devices_under(root_dir: str):
    for root, dirs, files in os.walk(root_dir):
        dirs[:] = [d for d in dirs if d not in ("pts", "shm", "mqueue")]
        for name in files:
            yield os.path.join(root, name)


def host_devices() -> list[dict]:
    """--privileged gives the container the host's devices, as podman does."""
    devices = []
    for path in _devices_under("/dev"):
        if path in ("/dev/console", "/dev/ptmx", "/dev/tty") or os.path.islink(path):
            continue
        entry = _device_entry(path, path)
        if entry:
            devices.append(entry)
    return devices


def requested_devices(specs) -> list[dict]:
    """--device entries (engine.security.DeviceSpec) as OCI devices, each
    with the cgroup access it was given; a directory gives every device in it."""
    out = []
    for d in specs:
        if os.path.isdir(d.host_path):
            pairs = [(p, d.container_path + p[len(d.host_path.rstrip("/")):]) for p in _devices_under(d.host_path)]
        else:
            pairs = [(d.host_path, d.container_path)]
        for host, ctr in pairs:
            entry = _device_entry(host, ctr)
            if entry:
                out.append({**entry, "access": d.permissions})
    return out


def cgroup_v2() -> bool:
    return os.path.exists("/sys/fs/cgroup/cgroup.controllers")


def cgroups_path(engine_config, cfg: ContainerConfig) -> str:
    """Where the runtime puts the container's cgroup; "" for none."""
    if engine_config.cgroup_manager == "disabled" or cfg.resources.cgroups == "disabled":
        return ""
    parent = cfg.resources.cgroup_parent or engine_config.cgroup_parent
    return f"{parent.rstrip('/')}/pypod-{cfg.id}"


def joined_namespaces(engine, cfg: ContainerConfig) -> tuple[dict[str, str], str]:
    """(OCI namespace type -> path to join, /dev/shm to bind) for the modes
    that share another container's namespaces or name one by path."""
    from ..errors import InvalidState

    ns = cfg.namespaces
    joined: dict[str, str] = {}
    shm = "/dev/shm" if ns.ipc == "host" else ""
    if ns.ipc == "shareable":
        shm = mount_shareable_shm(shm_dir(engine, cfg.id), cfg.resources.shm_size)
    for oci_type, proc_name, mode in (("pid", "pid", ns.pid), ("ipc", "ipc", ns.ipc), ("uts", "uts", ns.uts),
                                      ("cgroup", "cgroup", ns.cgroupns), ("user", "user", ns.userns)):
        if mode.startswith("ns:"):
            joined[oci_type] = mode[3:]
        elif mode.startswith("container:"):
            other = engine.container(mode[len("container:"):])
            other.sync_cheap()
            if not other.state.pid or other.state.status.value not in ("running", "created", "paused"):
                raise InvalidState(f"cannot join the {proc_name} namespace of container {other.id}: it is not running: "
                                   "container state improper")
            joined[oci_type] = f"/proc/{other.state.pid}/ns/{proc_name}"
            if oci_type == "ipc":
                shm = shm_dir(engine, other.id)
    return joined, shm


def init_binary(cfg: ContainerConfig) -> str:
    """The host's init for --init: the one asked for, else catatonit where
    podman (or Debian's catatonit package) puts it."""
    if not cfg.process.init:
        return ""
    from ..errors import InvalidArgument

    on_path = [os.path.join(d, "catatonit") for d in os.environ.get("PATH", "").split(os.pathsep) if d]
    candidates = [cfg.process.init_path] if cfg.process.init_path else [
        "/usr/libexec/podman/catatonit", "/usr/libexec/catatonit/catatonit", *on_path]
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise InvalidArgument(f"container-init binary not found on the host: {candidates[0] or 'catatonit'}: "
                          "install catatonit or give --init-path")


ZONEINFO = "/usr/share/zoneinfo"


def zoneinfo_file(tz: str) -> str:
    """The host file behind a --tz value ("local": the host's own zone)."""
    from ..errors import InvalidArgument

    if tz == "local":
        return os.path.realpath("/etc/localtime")
    path = os.path.normpath(os.path.join(ZONEINFO, tz))
    if tz.startswith("/") or not path.startswith(ZONEINFO + "/") or not os.path.isfile(path):
        raise InvalidArgument(f"finding timezone: unknown time zone {tz}")
    return path


def write_localtime(userdata: str, tz: str) -> str:
    """A copy of the zone file in the container's directory, as podman makes,
    so a change on the host does not move the container's clock."""
    if not tz:
        return ""
    dest = os.path.join(userdata, "localtime")
    with open(zoneinfo_file(tz), "rb") as src, open(dest, "wb") as out:
        out.write(src.read())
    return dest


def container_spec(ctr, rootfs: str, user, extra_gids: list[int], env: list[str], plan,
                   user_mounts: list[dict] | None = None) -> dict:
    """The OCI spec of a container about to be created in the runtime:
    its configuration plus the facts of this host (caps, limits, devices,
    architecture, namespaces to join, files to mount).  user_mounts: the
    user's mounts made ready by engine/mounts.py (None: cfg.mounts as binds);
    plan: engine/namespaces.py's Plan (the network's and the pod's
    namespaces, the /etc files, the hostname)."""
    from ..proto.oci_spec import build_spec

    eng, cfg = ctr.engine, ctr.config
    goarch, kernel = host_arch_and_kernel()
    joined, shm_source = joined_namespaces(eng, cfg)
    v2 = cgroup_v2()
    return build_spec(
        cfg,
        rootfs=rootfs,
        args=cfg.args,
        env=env,
        cwd=cfg.workdir or "/",
        uid=user.uid,
        gid=user.gid,
        additional_gids=extra_gids,
        hard_limits=hard_limits(),
        etc_files=plan.etc_files,
        host_devices=host_devices() if cfg.privileged else [],
        devices=requested_devices(cfg.security.devices),
        bounding=host_bounding_caps(),
        cgroups_path=cgroups_path(eng.config, cfg),
        seccomp_profile=seccomp_profile(cfg),
        goarch=goarch,
        kernel=kernel,
        hostname=plan.hostname,
        joined_namespaces=joined,
        namespace_paths=plan.paths,
        cgroupns_private=v2,
        cgroup_v2=v2,
        shm_source=shm_source,
        init_binary=init_binary(cfg),
        localtime=write_localtime(ctr.paths.userdata, cfg.process.timezone),
        mounts=user_mounts,
    )


def write_pid_files(ctr) -> None:
    """--pidfile and --conmon-pidfile: the container's and conmon's PIDs."""
    proc = ctr.config.process
    for path, pid in ((proc.pidfile, ctr.state.pid), (proc.conmon_pidfile, ctr.state.conmon_pid)):
        if path:
            tmp = f"{path}.{os.getpid()}.tmp"
            with open(tmp, "w") as f:
                f.write(f"{pid}\n")
            os.replace(tmp, path)


def notify_ready(ctr) -> None:
    """--sdnotify conmon: tell our service manager the container is up, on
    its behalf (with conmon as the main process)."""
    import socket

    path = os.environ.get("NOTIFY_SOCKET", "")
    if ctr.config.process.sdnotify != "conmon" or not path:
        return
    addr = "\0" + path[1:] if path.startswith("@") else path
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.sendto(f"MAINPID={ctr.state.conmon_pid}\nREADY=1\n".encode(), addr)
    except OSError:
        pass  # the manager went away: nothing to tell


def shm_dir(engine, ctr_id: str) -> str:
    """Where a shareable IPC namespace's /dev/shm lives on the host, so
    the containers that join it can mount the same one."""
    return os.path.join(engine.config.runroot, "containers", ctr_id, "shm")


def mount_shareable_shm(path: str, size: int) -> str:
    from ..storage.overlay import _is_mountpoint, mount

    from .. import private

    private.makedirs(path)
    if not _is_mountpoint(path):
        ms_nosuid, ms_nodev, ms_noexec = 0x2, 0x4, 0x8
        mount("shm", path, "tmpfs", ms_nosuid | ms_nodev | ms_noexec, f"mode=1777,size={size or 65536000}")
    return path


def unmount_shareable_shm(engine, ctr_id: str) -> None:
    from ..storage.overlay import umount

    path = shm_dir(engine, ctr_id)
    if os.path.isdir(path):
        umount(path)


def write_passwd(ctr, rootfs: str, uid: int, gid: int) -> str:
    """A copy of the image's /etc/passwd with the lines the container needs
    added (podman's --passwd, --passwd-entry, --hostuser): an entry for a
    numeric --user the image does not know, and host users asked for.
    Returns the file to mount at /etc/passwd, or "" when none is needed."""
    from ..proto.passwd import _read_in_root, parse_passwd

    proc = ctr.config.process
    text = _read_in_root(rootfs, "/etc/passwd") or ""
    known = parse_passwd(text)
    names = {u.name for u in known}
    extra = []
    for who in proc.hostusers:
        line = _host_passwd_line(who)
        if line.split(":", 1)[0] not in names:
            extra.append(line)
    user = ctr.config.user.partition(":")[0]
    if proc.passwd and user and not any(u.uid == uid for u in known):
        name = user if not user.isdigit() else user
        template = proc.passwd_entry or "$USERNAME:*:$UID:$GID:$NAME:$HOME:/bin/sh"
        extra.append(template.replace("$USERNAME", name).replace("$UID", str(uid)).replace("$GID", str(gid))
                     .replace("$NAME", "container user").replace("$HOME", ctr.config.workdir or "/"))
    if not extra:
        return ""
    path = os.path.join(ctr.paths.userdata, "passwd")
    with open(path, "w") as f:
        f.write(text + ("" if not text or text.endswith("\n") else "\n") + "\n".join(extra) + "\n")
    os.chmod(path, 0o644)
    return path


def _host_passwd_line(who: str) -> str:
    import pwd

    from ..errors import InvalidArgument

    try:
        pw = pwd.getpwuid(int(who)) if who.isdigit() else pwd.getpwnam(who)
    except KeyError:
        raise InvalidArgument(f"--hostuser {who}: no such user on the host") from None
    return f"{pw.pw_name}:x:{pw.pw_uid}:{pw.pw_gid}:{pw.pw_gecos}:{pw.pw_dir}:{pw.pw_shell}"
