"""What goes into a container's bundle besides the image: the user looked
up in its rootfs, its working directory, and the host's limits and devices
it may inherit.  (The generated /etc files: engine/namespaces.py.)"""

from __future__ import annotations

import os



def lookup_user(rootfs: str, spec: str):
    from ..proto.passwd import get_user_group_info

    return get_user_group_info(rootfs, spec)


def make_workdir(rootfs: str, workdir: str, uid: int, gid: int) -> None:
    """podman creates a missing working directory, owned by the user."""
    from ..proto.passwd import secure_join

    path = secure_join(rootfs, workdir)
    if not os.path.isdir(path):
        os.makedirs(path, mode=0o755, exist_ok=True)
        os.chown(path, uid, gid)


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
