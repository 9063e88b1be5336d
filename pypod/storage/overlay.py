"""Per-container root filesystems: image layers stacked with kernel overlayfs.

mount(2) through ctypes, not the mount binary: this is on the hot path of
every `run`, where a fork and exec would cost more than the mount itself.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil

_MNT_DETACH = 2
#: the kernel copies at most a page of mount options
_MAX_OPTIONS = 4000

_libc = None


def _c():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.mount.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p)
        _libc.umount2.argtypes = (ctypes.c_char_p, ctypes.c_int)
    return _libc


def mount(source: str, target: str, fstype: str, flags: int = 0, data: str = "") -> None:
    if _c().mount(source.encode(), target.encode(), fstype.encode(), flags, data.encode()) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"mount {fstype} on {target}: {os.strerror(e)}")


def umount(target: str) -> None:
    """Unmount; not mounted is fine; busy falls back to a lazy detach."""
    if _c().umount2(target.encode(), 0) == 0:
        return
    e = ctypes.get_errno()
    if e in (errno.EINVAL, errno.ENOENT):
        return
    if e == errno.EBUSY and _c().umount2(target.encode(), _MNT_DETACH) == 0:
        return
    raise OSError(e, f"unmount {target}: {os.strerror(e)}")


class ContainerStorage:
    def __init__(self, storage_dir: str):
        self.dir = os.path.join(storage_dir, "overlay-containers")
        self.links = os.path.join(storage_dir, "l")

    def _paths(self, cid: str) -> tuple[str, str, str]:
        base = os.path.join(self.dir, cid)
        return os.path.join(base, "upper"), os.path.join(base, "work"), os.path.join(base, "merged")

    def create(self, cid: str, image) -> None:
        for p in self._paths(cid):
            os.makedirs(p, mode=0o755, exist_ok=True)

    def is_mounted(self, cid: str) -> bool:
        return os.path.ismount(self._paths(cid)[2])

    def mount(self, cid: str, image) -> str:
        upper, work, merged = self._paths(cid)
        if self.is_mounted(cid):
            return merged
        lowers = list(reversed(image.layer_dirs))  # overlayfs wants the top layer first
        opts = f"lowerdir={':'.join(lowers)},upperdir={upper},workdir={work}"
        if len(opts) > _MAX_OPTIONS:
            lowers = [self._short_link(d) for d in lowers]
            opts = f"lowerdir={':'.join(lowers)},upperdir={upper},workdir={work}"
        mount("overlay", merged, "overlay", 0, opts)
        return merged

    def _short_link(self, layer_dir: str) -> str:
        """A short name for a long layer path, as containers/storage's l/ links."""
        import hashlib

        os.makedirs(self.links, exist_ok=True)
        name = hashlib.sha256(layer_dir.encode()).hexdigest()[:16]
        link = os.path.join(self.links, name)
        if not os.path.islink(link):
            try:
                os.symlink(layer_dir, link)
            except FileExistsError:
                pass
        return link

    def unmount(self, cid: str) -> None:
        umount(self._paths(cid)[2])

    def remove(self, cid: str) -> None:
        self.unmount(cid)
        shutil.rmtree(os.path.join(self.dir, cid), ignore_errors=True)
