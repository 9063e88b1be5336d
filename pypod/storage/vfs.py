"""The vfs storage driver (`--storage-driver vfs`): each container gets a
full copy of its image's layers, applied bottom first, with no overlay
mount.  Slower and bigger than overlay, and it works where overlayfs does
not (nested in another overlay, some network filesystems).

The unpacked layers hold overlayfs whiteouts (0/0 character devices and
opaque directories); applying a layer honours them the way overlayfs would.

Layout under the storage dir: vfs-containers/<id>/rootfs
"""

from __future__ import annotations

import os
import stat
import subprocess

from ..errors import InvalidArgument, PypodError
from .archive import OPAQUE_XATTRS, is_opaque
from .overlay import valid_id
from .tree import remove_tree, walk


class VfsContainerStorage:
    #: a container's directory holds the whole image, not just its changes
    full_copy = True

    def __init__(self, storage_dir: str):
        self.storage_dir = storage_dir
        self.dir = os.path.join(storage_dir, "vfs-containers")

    def _base(self, cid: str) -> str:
        if not valid_id(cid) or cid in (".", ".."):
            raise InvalidArgument(f"invalid container id {cid!r}")
        return os.path.join(self.dir, cid)

    def merged_dir(self, cid: str) -> str:
        return os.path.join(self._base(cid), "rootfs")

    def upper_dir(self, cid: str) -> str:
        """vfs keeps no separate writable layer: the whole copy is the container's."""
        return self.merged_dir(cid)

    def create(self, container_id: str, image) -> None:
        os.makedirs(self._base(container_id), mode=0o700, exist_ok=True)

    def is_mounted(self, container_id: str) -> bool:
        return os.path.isfile(os.path.join(self._base(container_id), "ready"))

    def mount(self, container_id: str, image, volatile: bool = False) -> str:
        """The container's copy of the image (made once, then kept until rm)."""
        base = self._base(container_id)
        rootfs = self.merged_dir(container_id)
        ready = os.path.join(base, "ready")
        if os.path.exists(ready):
            return rootfs
        self.create(container_id, image)
        remove_tree(rootfs, ignore_errors=True)  # half a copy from a crash
        os.mkdir(rootfs, 0o755)
        try:
            for layer in image.layer_dirs:
                apply_layer(layer, rootfs)
        except OSError as e:
            raise PypodError(f"copying the image into the vfs rootfs of {container_id}: {e}") from None
        with open(ready, "w"):
            pass
        return rootfs

    def unmount(self, container_id: str) -> None:
        """Nothing is mounted: the copy stays (its changes are the container's)."""

    def ids(self) -> list[str]:
        try:
            return sorted(n for n in os.listdir(self.dir) if valid_id(n))
        except FileNotFoundError:
            return []

    def remove(self, container_id: str) -> None:
        remove_tree(self._base(container_id), ignore_errors=True)


def _whiteouts(layer: str):
    """(relative path, is_opaque_dir) for each whiteout and opaque dir of a layer."""
    for dirpath, dirnames, filenames in walk(layer):
        rel_dir = os.path.relpath(dirpath, layer)
        for name in dirnames:
            path = os.path.join(dirpath, name)
            if is_opaque(path):
                yield os.path.normpath(os.path.join(rel_dir, name)), True
        for name in filenames:
            st = os.lstat(os.path.join(dirpath, name))
            if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                yield os.path.normpath(os.path.join(rel_dir, name)), False


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        remove_tree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def apply_layer(layer: str, rootfs: str) -> None:
    """Put one unpacked layer on top of rootfs as overlayfs would show it."""
    found = list(_whiteouts(layer))
    for rel, opaque in found:
        target = os.path.join(rootfs, rel)
        if opaque:
            if os.path.isdir(target) and not os.path.islink(target):
                for entry in os.listdir(target):
                    _remove(os.path.join(target, entry))
        else:
            _remove(target)
    # cp keeps hard links, modes, owners, times, devices and xattrs.
    proc = subprocess.run(["cp", "-a", "--no-target-directory", layer, rootfs], capture_output=True, text=True)
    if proc.returncode != 0:
        raise OSError(f"cp: {proc.stderr.strip()}")
    for rel, opaque in found:
        target = os.path.join(rootfs, rel)
        if opaque:
            for name in OPAQUE_XATTRS:
                try:
                    os.removexattr(target, name, follow_symlinks=False)
                except OSError:
                    pass
        elif os.path.lexists(target):
            os.unlink(target)  # the 0/0 device cp copied: a whiteout hides, it is not a file
