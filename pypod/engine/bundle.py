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


def hard_limits() -> dict[str, int]:
    import resource

    out = {}
    for name in ("RLIMIT_NOFILE", "RLIMIT_NPROC"):
        hard = resource.getrlimit(getattr(resource, name))[1]
        if hard != resource.RLIM_INFINITY:
            out[name] = hard
    return out


def host_devices() -> list[dict]:
    """--privileged gives the container the host's devices, as podman does."""
    import stat

    devices = []
    for root, dirs, files in os.walk("/dev"):
        dirs[:] = [d for d in dirs if d not in ("pts", "shm", "mqueue")]
        for name in files:
            path = os.path.join(root, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                if path in ("/dev/console", "/dev/ptmx", "/dev/tty"):
                    continue
                devices.append({
                    "path": path,
                    "type": "c" if stat.S_ISCHR(st.st_mode) else "b",
                    "major": os.major(st.st_rdev),
                    "minor": os.minor(st.st_rdev),
                    "fileMode": stat.S_IMODE(st.st_mode),
                    "uid": st.st_uid,
                    "gid": st.st_gid,
                })
    return devices
