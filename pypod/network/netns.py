"""Network namespaces that outlive their processes: a new namespace bind-
mounted on a file under RUNROOT/netns, as podman does under /run/netns.

pypod makes the namespace before the runtime creates the container, so
netavark can wire it first and the container joins it by path.  A thread
unshares it (a thread's namespace is its own: the process stays where it
was), mounts /proc/thread-self/ns/net on the file, and ends; the mount
keeps the namespace alive until remove() unmounts it.
"""

from __future__ import annotations

import ctypes
import os
import threading

CLONE_NEWNET = 0x40000000
MS_BIND = 0x1000

_libc = None


def _unshare_net() -> None:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    if _libc.unshare(CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"creating a network namespace: {os.strerror(e)}")


def create(path: str) -> None:
    """A new network namespace mounted on path (made, or reused if a crash left
    the file without its mount)."""
    from ..storage.overlay import mount

    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o444)
    os.close(fd)
    errors: list[BaseException] = []

    def make() -> None:
        try:
            _unshare_net()
            mount("/proc/thread-self/ns/net", path, "none", MS_BIND)
        except BaseException as e:  # handed to the caller's thread
            errors.append(e)

    t = threading.Thread(target=make, name="netns")
    t.start()
    t.join()
    if errors:
        try:
            os.unlink(path)
        except OSError:
            pass
        raise errors[0]


def is_mounted(path: str) -> bool:
    """True when path holds a namespace (nsfs), not just the empty file."""
    try:
        return os.stat(path).st_dev != os.stat(os.path.dirname(path)).st_dev
    except OSError:
        return False


def remove(path: str) -> None:
    """Unmount and delete; gone or never mounted is fine."""
    from ..storage.overlay import umount

    umount(path)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
