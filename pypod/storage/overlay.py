"""Per-container root filesystems: image layers stacked with kernel overlayfs.

mount(2) through ctypes, not the mount binary: this is on the hot path of
every `run`, where a fork and exec would cost more than the mount itself.

Layout under the storage dir:
  overlay-containers/<id>/{upper,work,merged}  one container's writable layer
  l/<short>                                    short names for layer dirs, used
                                               when the lowerdir list is too long
"""

from __future__ import annotations

import _thread
import ctypes
import errno
import os

from .. import private
from ..errors import InvalidArgument, PypodError
from ..lean import suppress
from .tree import remove_tree

MS_RDONLY = 0x1
MS_NODEV = 0x4
MNT_DETACH = 0x2
#: mount options that are mount(2) flags, not overlayfs options
MOUNT_FLAGS = {"ro": 0x1, "nosuid": 0x2, "nodev": 0x4, "noexec": 0x8, "sync": 0x10, "dirsync": 0x80,
               "noatime": 0x400, "nodiratime": 0x800, "relatime": 0x200000, "strictatime": 0x1000000}
#: the kernel copies at most one page of mount options, NUL included
_MAX_OPTIONS = os.sysconf("SC_PAGESIZE") - 1
_ID_FIRST = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_ID_CHARS = _ID_FIRST | frozenset("_.-")


def valid_id(cid: str) -> bool:
    """^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$ (the name of a container's
    directory here), checked without `re` and its imports."""
    return 0 < len(cid) <= 128 and cid[0] in _ID_FIRST and _ID_CHARS.issuperset(cid)

_libc = None
#: chdir is process-wide: the relative-lowerdir fallback must not race another thread's
_cwd_lock = _thread.allocate_lock()


def _c():
    global _libc
    if _libc is None:
        lib = ctypes.CDLL(None, use_errno=True)
        lib.mount.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p)
        lib.mount.restype = ctypes.c_int
        lib.umount2.argtypes = (ctypes.c_char_p, ctypes.c_int)
        lib.umount2.restype = ctypes.c_int
        _libc = lib
    return _libc


def mount(source: str, target: str, fstype: str, flags: int = 0, data: str = "") -> None:
    if _c().mount(os.fsencode(source), os.fsencode(target), fstype.encode(), flags, os.fsencode(data)) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"mount {fstype} on {target}: {os.strerror(e)}")


def umount(target: str) -> None:
    """Unmount; not mounted (or gone) is fine; busy falls back to a lazy detach,
    which the kernel finishes when the last user lets go."""
    path = os.fsencode(target)
    if _c().umount2(path, 0) == 0:
        return
    e = ctypes.get_errno()
    if e in (errno.EINVAL, errno.ENOENT):
        return
    if e == errno.EBUSY:
        if _c().umount2(path, MNT_DETACH) == 0:
            return
        e = ctypes.get_errno()
        if e in (errno.EINVAL, errno.ENOENT):
            return
    raise OSError(e, f"unmount {target}: {os.strerror(e)}")


def _is_mountpoint(path: str) -> bool:
    """A mount point, overlay's included: a different device from the parent,
    or (for a bind of the same fs) the same inode as the parent's."""
    try:
        st = os.lstat(path)
        parent = os.lstat(os.path.join(path, ".."))
    except OSError:
        return False
    return st.st_dev != parent.st_dev or st.st_ino == parent.st_ino


class ContainerStorage:
    def __init__(self, storage_dir: str, mount_options: str = "", mount_program: str = ""):
        self.storage_dir = storage_dir
        #: a FUSE overlay (fuse-overlayfs) instead of the kernel's: podman's overlay.mount_program
        self.mount_program = mount_program
        #: extra overlay mount options (--storage-opt overlay.mountopt=...)
        flags, data = 0, []
        for opt in filter(None, mount_options.split(",")):
            if opt in MOUNT_FLAGS:
                flags |= MOUNT_FLAGS[opt]
            else:
                data.append(opt)
        self.mount_flags = MS_NODEV | flags
        self.mount_options = ",".join(data)
        from .. import rootless

        #: a rootless overlay keeps its whiteout and opaque markers in user.* xattrs (trusted.* is root's)
        self.fs_options = "userxattr" if rootless.is_rootless() else ""
        self.dir = os.path.join(storage_dir, "overlay-containers")
        self.links = os.path.join(storage_dir, "l")
        self.empty_layer = os.path.join(storage_dir, "empty-layer")

    def _base(self, cid: str) -> str:
        # The id becomes a path: nothing in it may climb out of the storage dir.
        if not valid_id(cid) or cid in (".", ".."):
            raise InvalidArgument(f"invalid container id {cid!r}")
        return os.path.join(self.dir, cid)

    def _paths(self, cid: str) -> tuple[str, str, str]:
        base = self._base(cid)
        return os.path.join(base, "upper"), os.path.join(base, "work"), os.path.join(base, "merged")

    def merged_dir(self, cid: str) -> str:
        return self._paths(cid)[2]

    def upper_dir(self, cid: str) -> str:
        return self._paths(cid)[0]

    def _locked(self, cid: str) -> "_MountLock":
        """Serialises mount and unmount of one container across processes,
        so two callers never stack two overlays on one merged dir."""
        base = self._base(cid)
        private.makedirs(base)
        return _MountLock(os.path.join(base, "lock"))

    def create(self, container_id: str, image) -> None:
        """The container's upper, work and merged dirs (upper and work side by
        side: overlayfs needs them on one filesystem)."""
        private.makedirs(self._base(container_id))
        for p in self._paths(container_id):
            with suppress(FileExistsError):
                os.mkdir(p, 0o755)

    def is_mounted(self, container_id: str) -> bool:
        return _is_mountpoint(self._paths(container_id)[2])

    def mount(self, container_id: str, image, volatile: bool = False) -> str:
        """Mount the container's overlay (idempotent); returns the merged dir.

        volatile (a `--rm` container's, as podman mounts them): overlayfs
        skips every sync of the upper dir, the one at unmount included,
        which otherwise flushes the whole host filesystem (14 ms idle, a
        quarter second while others write).  Its writes may not survive a
        crash of the host, and a --rm container's layer does not outlive
        it anyway."""
        upper, work, merged = self._paths(container_id)
        with self._locked(container_id):
            if _is_mountpoint(merged):
                return merged
            self.create(container_id, image)
            # an earlier volatile mount leaves this marker, and the kernel
            # refuses any later mount of the layer while it is there
            remove_tree(os.path.join(work, "work", "incompat", "volatile"), ignore_errors=True)
            what = f"the rootfs of {container_id}"
            if volatile and self._volatile_ok is not False:
                try:
                    self.mount_layers(image.layer_dirs, merged, upper, work, what, extra="volatile")
                    ContainerStorage._volatile_ok = True
                    return merged
                except PypodError:
                    if self._volatile_ok:
                        raise
                    ContainerStorage._volatile_ok = False  # a kernel before 5.10: mount as always
            self.mount_layers(image.layer_dirs, merged, upper, work, what)
        return merged

    #: whether this kernel's overlayfs takes `volatile` (None: not tried yet)
    _volatile_ok: bool | None = None

    def mount_layers(self, layer_dirs: list[str], target: str, upper: str = "", work: str = "", what: str = "",
                     extra: str = "") -> None:
        """An overlay of layer_dirs (bottom first) on target; without an upper
        dir it is read-only (an image mounted for inspection or a --mount
        type=image)."""
        # overlayfs lists the top layer first; an image with no layers still needs one lowerdir,
        # and a read-only overlay two.
        # A layer an image holds twice (an empty RUN, a COPY repeated) is one dir here, and overlayfs
        # refuses a lowerdir twice (ELOOP); the upper copy alone gives the same tree, as it restates
        # everything the lower one held.
        lowers = list(dict.fromkeys(reversed(layer_dirs))) or [self._empty_layer()]
        if not upper and len(lowers) < 2:
            lowers.append(self._empty_layer(".ro"))  # not the same dir twice (ELOOP): an image of no layers
        tail = self._upper_options(upper, work) + (f",{extra}" if extra else "")
        opts = f"lowerdir={':'.join(lowers)}{tail}"
        try:
            if self.mount_program:
                self._mount_fuse(opts, target, self._flags(upper))
            elif len(opts) <= _MAX_OPTIONS:
                mount("overlay", target, "overlay", self._flags(upper), opts)
            else:
                self._mount_long(lowers, tail, self._flags(upper), target)
        except OSError as e:
            missing = [d for d in lowers if not os.path.isdir(d)]
            if missing:
                raise PypodError(f"mounting {what or target}: image layer {missing[0]} is missing") from None
            raise PypodError(f"mounting {what or target}: {e.strerror or e}") from None

    def _mount_fuse(self, opts: str, target: str, flags: int) -> None:
        """fuse-overlayfs mounts and goes to the background; it ends at the unmount."""
        import subprocess

        extra = [name for name, bit in MOUNT_FLAGS.items() if flags & bit and name != "relatime"]
        opts = ",".join(o for o in opts.split(",") if o != "userxattr")  # its own xattrs, no such option
        proc = subprocess.run([self.mount_program, "-o", ",".join([opts, *extra]), target], capture_output=True,
                              stdin=subprocess.DEVNULL, text=True)
        if proc.returncode != 0:
            raise OSError(errno.EIO, f"{os.path.basename(self.mount_program)}: "
                                     f"{proc.stderr.strip() or f'exit status {proc.returncode}'}")

    def _upper_options(self, upper: str, work: str) -> str:
        """A container's writable layer, and the options --storage-opt
        overlay.mountopt adds to container mounts."""
        own = f",{self.fs_options}" if self.fs_options else ""
        if not upper:
            return own
        return f",upperdir={upper},workdir={work}{own}" + (f",{self.mount_options}" if self.mount_options else "")

    def _flags(self, upper: str) -> int:
        return self.mount_flags if upper else MS_NODEV | MS_RDONLY

    def _mount_long(self, lowers: list[str], tail: str, flags: int, merged: str) -> None:
        """A lowerdir list over a page: short links under l/, as containers/storage
        does, and if even those are too long, the links relative to the storage dir."""
        names = [self._short_link(d) for d in lowers]
        opts = "lowerdir=" + ":".join(os.path.join(self.links, n) for n in names) + tail
        if len(opts) <= _MAX_OPTIONS:
            mount("overlay", merged, "overlay", flags, opts)
            return
        opts = "lowerdir=" + ":".join(f"l/{n}" for n in names) + tail
        if len(opts) > _MAX_OPTIONS:
            raise OSError(errno.E2BIG, f"too many image layers ({len(lowers)}) for one overlay mount")
        with _cwd_lock:
            # The kernel resolves relative lowerdirs against the caller's cwd.
            old = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                os.chdir(self.storage_dir)
                mount("overlay", merged, "overlay", flags, opts)
            finally:
                os.fchdir(old)
                os.close(old)

    def _short_link(self, layer_dir: str) -> str:
        """A short, stable name in l/ for a layer dir (a hash of its path, so
        every process picks the same one without a shared record)."""
        import base64
        import hashlib

        private.makedirs(self.links)
        name = base64.b32encode(hashlib.sha256(os.fsencode(layer_dir)).digest()).decode()[:12]
        link = os.path.join(self.links, name)
        try:
            if os.readlink(link) == layer_dir:
                return name
        except OSError:
            pass
        # Write beside and rename over: a reader never sees the link missing.
        tmp = f"{link}.{os.getpid()}.{_thread.get_ident()}"
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        os.symlink(layer_dir, tmp)
        os.replace(tmp, link)
        return name

    def _empty_layer(self, suffix: str = "") -> str:
        os.makedirs(self.empty_layer + suffix, mode=0o755, exist_ok=True)
        return self.empty_layer + suffix

    def unmount(self, container_id: str) -> None:
        """Unmount the container's overlay; not mounted is fine."""
        merged = self._paths(container_id)[2]
        if not os.path.isdir(self._base(container_id)):
            return
        with self._locked(container_id):
            # More than one overlay can be stacked here after a crash mid-mount: peel them all.
            for _ in range(8):
                if not _is_mountpoint(merged):
                    return
                try:
                    umount(merged)
                except OSError as e:
                    raise PypodError(f"unmounting the rootfs of {container_id}: {e.strerror or e}") from None

    def ids(self) -> list[str]:
        """The containers that have a writable layer here."""
        try:
            return sorted(n for n in os.listdir(self.dir) if valid_id(n) and n not in (".", ".."))
        except FileNotFoundError:
            return []

    def remove(self, container_id: str) -> None:
        """Unmount and delete the container's writable layer."""
        base = self._base(container_id)
        self.unmount(container_id)
        if _is_mountpoint(self._paths(container_id)[2]):
            # rmtree would descend into the mounted image and delete through it.
            raise PypodError(f"removing the rootfs of {container_id}: it is still mounted")
        remove_tree(base, ignore_errors=True)


def rootless_mount_program(storage_dir: str) -> str:
    """"" when the kernel mounts overlay in a user namespace (with userxattr,
    Linux 5.11 on), else fuse-overlayfs, as containers/storage chooses; the
    kernel's answer is probed once and kept in the storage dir."""
    marker = os.path.join(storage_dir, "native-overlay")
    try:
        with open(marker) as f:
            native = f.read().strip() == "true"
    except OSError:
        native = _probe_native(storage_dir)
        try:
            private.write_file(marker, "true" if native else "false")
        except OSError:
            pass
    if native:
        return ""
    import shutil

    program = shutil.which("fuse-overlayfs")
    if not program:
        raise PypodError("this kernel cannot mount overlay in a user namespace and fuse-overlayfs is not installed "
                         "(package fuse-overlayfs), or use --storage-driver vfs")
    return program


def _probe_native(storage_dir: str) -> bool:
    import tempfile

    private.makedirs(storage_dir)
    d = tempfile.mkdtemp(prefix="probe-", dir=storage_dir)
    try:
        for sub in ("lower", "upper", "work", "merged"):
            os.mkdir(os.path.join(d, sub))
        try:
            mount("overlay", os.path.join(d, "merged"), "overlay", MS_NODEV,
                  f"lowerdir={d}/lower,upperdir={d}/upper,workdir={d}/work,userxattr")
        except OSError:
            return False
        umount(os.path.join(d, "merged"))
        return True
    finally:
        remove_tree(d, ignore_errors=True)


class _MountLock:
    """ContainerStorage._locked()'s `with` block: an exclusive flock on the
    container's lock file (a class, not contextlib's decorator: contextlib
    would cost every run its imports of collections and functools)."""

    def __init__(self, path: str):
        self.path = path
        self.fd = -1

    def __enter__(self) -> None:
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd

    def __exit__(self, *exc) -> None:
        os.close(self.fd)
        self.fd = -1
