"""Image layer tars: unpacking them safely, and writing them from a directory.

Unpacking never trusts a path string.  Every entry is reached from an open
fd on the target, one component at a time with O_NOFOLLOW, so a symlink that
the layer plants (or that an earlier entry left) cannot redirect a write:
a symlink met on the way is followed only when its target, read as a path
inside the layer, stays inside; absolute or escaping ones are refused.  A
realpath() check would race with the entries the archive itself creates;
dir fds do not.

OCI whiteouts become overlayfs ones as they are unpacked, because every
layer directory is used as an overlay lowerdir as is.
"""

from __future__ import annotations

import errno
import gzip
import os
import stat
import tarfile
from dataclasses import dataclass, field
from typing import BinaryIO

from ..errors import InvalidArgument

WHITEOUT_PREFIX = ".wh."
#: the aufs-era metadata prefix; only its opaque marker means anything to overlay
WHITEOUT_META_PREFIX = ".wh..wh."
OPAQUE_MARKER = ".wh..wh..opq"
#: overlayfs's opaque-directory marker: trusted.* for root's mounts, user.*
#: for a rootless one (mounted with userxattr: trusted.* is root's alone)
OPAQUE_XATTRS = ("trusted.overlay.opaque", "user.overlay.opaque")

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
#: the kernel's own limit on symlinks followed in one lookup
_MAX_SYMLINKS = 40
_CHUNK = 1 << 20


def decompression_errors() -> tuple[type[BaseException], ...]:
    """What reading a corrupt compressed stream may raise: gzip and bzip2
    say OSError or EOFError, zlib and lzma their own exceptions."""
    import lzma
    import zlib

    return (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError)


class UnsafeArchive(InvalidArgument):
    """An entry would land outside the target directory."""


@dataclass
class _Unpacker:
    root_fd: int
    #: directory mtimes, by (st_dev, st_ino), set last: creating their
    #: children would bump them
    dir_times: dict[tuple[int, int], int] = field(default_factory=dict)
    size: int = 0
    #: the directory entries last went into: (its parts, an fd on it).  A
    #: directory's files, or a deep chain whose every entry is the parent
    #: of the next, then cost one open each instead of a walk from the root.
    cached: tuple[tuple[str, ...], int] | None = None

    def parent_fd(self, parent: list[str]) -> int:
        key = tuple(parent)
        if self.cached is not None and self.cached[0] == key:
            return os.dup(self.cached[1])
        fd = _open_parent(self.root_fd, parent, create=True)
        self.remember(key, os.dup(fd))
        return fd

    def remember(self, key: tuple[str, ...], fd: int) -> None:
        self.forget()
        self.cached = (key, fd)

    def forget(self) -> None:
        """Something was removed: the cached directory may be gone from the tree."""
        if self.cached is not None:
            os.close(self.cached[1])
            self.cached = None


#: room kept free on the storage's filesystem: an archive may not take it
FREE_SPACE_RESERVE = 64 << 20
_ZEROS = bytes(_CHUNK)


class CheckedTarInfo(tarfile.TarInfo):
    """Remembers how the archive ended: tarfile takes a truncated or
    corrupt header after the first for a clean end, and would silently
    drop the rest of the archive (the rest of a layer, of an image)."""

    @classmethod
    def fromtarfile(cls, tar):
        try:
            return super().fromtarfile(tar)
        except tarfile.HeaderError as e:
            tar.pypod_end = e
            raise


def check_complete(tar: tarfile.TarFile, what: str = "archive") -> None:
    """After reading every member: refuse an archive that did not end with
    its end marker or at a block boundary (a truncated or damaged one)."""
    end = getattr(tar, "pypod_end", None)
    if end is None or isinstance(end, (tarfile.EOFHeaderError, tarfile.EmptyHeaderError)):
        return
    raise InvalidArgument(f"{what} is truncated or damaged after {tar.offset} bytes: {end}")


def open_stream(fileobj: BinaryIO, compressed: bool = True) -> tarfile.TarFile:
    """A tar stream whose end check_complete() can judge: plain, or with
    compressed=True gzip, bzip2 or xz found by magic."""
    return tarfile.open(fileobj=fileobj, mode="r|*" if compressed else "r|", tarinfo=CheckedTarInfo)


def _parts(name: str) -> list[str]:
    """The components of an entry name.  A leading '/' is dropped, as tar
    itself does, so absolute names land inside the target; '..' is refused
    because no well-formed layer needs it."""
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchive(f"archive entry {name!r} escapes the target directory")
    return parts


def _open_parent(root_fd: int, parts: list[str], create: bool) -> int:
    """An fd on the directory root/parts, creating missing directories when
    asked.  Symlinks on the way are followed only while they stay inside."""
    fds = [os.dup(root_fd)]
    pending = list(parts)
    followed = 0
    try:
        while pending:
            part = pending.pop(0)
            if part in ("", "."):
                continue
            if part == "..":
                if len(fds) == 1:
                    raise UnsafeArchive(f"archive path {'/'.join(parts)!r} leads outside the target directory")
                os.close(fds.pop())
                continue
            cur = fds[-1]
            try:
                fds.append(os.open(part, _DIR_FLAGS, dir_fd=cur))
                continue
            except FileNotFoundError:
                if not create:
                    raise
                try:
                    os.mkdir(part, 0o755, dir_fd=cur)
                except FileExistsError:
                    pass  # created meanwhile by someone else: look at what it is, below
                else:
                    fds.append(os.open(part, _DIR_FLAGS, dir_fd=cur))
                    continue
            except OSError as e:
                if e.errno not in (errno.ELOOP, errno.ENOTDIR):
                    raise
            st = os.stat(part, dir_fd=cur, follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                fds.append(os.open(part, _DIR_FLAGS, dir_fd=cur))
                continue
            if not stat.S_ISLNK(st.st_mode):
                raise UnsafeArchive(f"archive path {'/'.join(parts)!r} passes through a non-directory {part!r}")
            followed += 1
            if followed > _MAX_SYMLINKS:
                raise UnsafeArchive(f"archive path {'/'.join(parts)!r}: too many levels of symbolic links")
            target = os.readlink(part, dir_fd=cur)
            if target.startswith("/"):
                # From the host, an absolute target is outside the target directory.
                raise UnsafeArchive(f"archive path {'/'.join(parts)!r} passes through symlink {part!r} -> {target!r}, outside the target")
            pending[:0] = target.split("/")
        return fds.pop()
    finally:
        for fd in fds:
            os.close(fd)


def _remove_entry(u: _Unpacker, dir_fd: int, name: str) -> None:
    """Clear the way for a new entry (a later entry replaces an earlier one,
    a whole tree however deep)."""
    from .tree import remove_tree_at

    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    u.forget()
    remove_tree_at(dir_fd, name)


def _set_owner_mode(dir_fd: int, name: str, m: tarfile.TarInfo) -> None:
    try:
        os.chown(name, m.uid, m.gid, dir_fd=dir_fd, follow_symlinks=False)
    except PermissionError:
        pass  # unprivileged: the files stay ours
    except OSError as e:
        if e.errno != 22 or not _in_user_namespace():
            raise
        # an owner the rootless user namespace does not map: podman's words, and what to do
        raise InvalidArgument(f"potentially insufficient UIDs or GIDs available in user namespace (requested "
                              f"{m.uid}:{m.gid} for /{m.name.lstrip('./')}): Check /etc/subuid and /etc/subgid if "
                              f"configured locally: lchown /{m.name.lstrip('./')}: invalid argument") from None
    if not m.issym():
        # After chown: chown clears setuid/setgid bits, chmod puts them back.
        os.chmod(name, m.mode & 0o7777, dir_fd=dir_fd)


def _set_mtime(dir_fd: int, name: str, mtime: float) -> None:
    try:
        os.utime(name, (mtime, mtime), dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        pass  # a time we cannot set is not worth failing a layer for


def extract_layer(fileobj: BinaryIO, dest: str, compressed: bool = True) -> int:
    """Unpack a layer tar stream into dest: plain, or with compressed=True
    gzip, bzip2 or xz found by magic.  Returns the bytes of regular-file
    content written."""
    os.makedirs(dest, exist_ok=True)
    u = _Unpacker(os.open(dest, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC))
    try:
        try:
            tar = open_stream(fileobj, compressed)
        except tarfile.TarError as e:
            raise InvalidArgument(f"not a tar archive: {e}") from None
        with tar:
            for m in tar:
                _extract_member(u, tar, m)
            check_complete(tar, "layer archive")
        u.forget()
        _apply_dir_times(u.root_fd, u.dir_times)
    except (tarfile.TarError, *decompression_errors()) as e:
        if isinstance(e, InvalidArgument):
            raise
        # zlib/lzma errors arrive as OSError, EOFError or ValueError subclasses.
        raise InvalidArgument(f"reading layer archive: {e}") from None
    finally:
        u.forget()
        os.close(u.root_fd)
    return u.size


def _extract_member(u: _Unpacker, tar: tarfile.TarFile, m: tarfile.TarInfo) -> None:
    parts = _parts(m.name)
    if not parts:
        return  # the root: its attributes belong to whoever made the target
    *parent, base = parts
    if any(p.startswith(WHITEOUT_META_PREFIX) for p in parent) or (
            base.startswith(WHITEOUT_META_PREFIX) and base != OPAQUE_MARKER):
        return  # aufs bookkeeping (.wh..wh.plnk/...): nothing a container should see
    pfd = u.parent_fd(parent)
    try:
        if base == OPAQUE_MARKER:
            os.setxattr(f"/proc/self/fd/{pfd}", opaque_xattr(), b"y")
            return
        if base.startswith(WHITEOUT_PREFIX):
            name = base[len(WHITEOUT_PREFIX):]
            if not name or name in (".", ".."):
                raise UnsafeArchive(f"archive entry {m.name!r} is a malformed whiteout")
            _remove_entry(u, pfd, name)
            os.mknod(name, stat.S_IFCHR | 0o000, os.makedev(0, 0), dir_fd=pfd)
            return
        if m.isdir():
            try:
                st = os.stat(base, dir_fd=pfd, follow_symlinks=False)
            except FileNotFoundError:
                os.mkdir(base, 0o755, dir_fd=pfd)
            else:
                if not stat.S_ISDIR(st.st_mode):
                    _remove_entry(u, pfd, base)
                    os.mkdir(base, 0o755, dir_fd=pfd)
            _set_owner_mode(pfd, base, m)
            dfd = os.open(base, _DIR_FLAGS, dir_fd=pfd)
            dst = os.fstat(dfd)
            u.dir_times[(dst.st_dev, dst.st_ino)] = m.mtime
            u.remember(tuple(parts), dfd)
            return
        _remove_entry(u, pfd, base)
        if m.isreg():
            _write_regular(u, tar, m, pfd, base)
            _set_owner_mode(pfd, base, m)
            _set_mtime(pfd, base, m.mtime)
        elif m.issym():
            os.symlink(m.linkname, base, dir_fd=pfd)
            _set_owner_mode(pfd, base, m)
            _set_mtime(pfd, base, m.mtime)
        elif m.islnk():
            _hardlink(u.root_fd, m, pfd, base)
        elif m.ischr() or m.isblk() or m.isfifo():
            kind = stat.S_IFCHR if m.ischr() else stat.S_IFBLK if m.isblk() else stat.S_IFIFO
            try:
                os.mknod(base, kind | (m.mode & 0o7777), os.makedev(m.devmajor, m.devminor), dir_fd=pfd)
            except PermissionError:
                if kind == stat.S_IFIFO or not _in_user_namespace():
                    raise
                return  # as containers/storage: no device can be made in a user namespace; runc binds the standard ones
            _set_owner_mode(pfd, base, m)
            _set_mtime(pfd, base, m.mtime)
        # Anything else (GNU sparse leftovers, unknown types) has no place in a rootfs.
    finally:
        os.close(pfd)


def _write_regular(u: _Unpacker, tar: tarfile.TarFile, m: tarfile.TarInfo, pfd: int, base: str) -> None:
    """A file's content, holes kept as holes: a GNU sparse member is
    written from its map (a 10 KB archive of a 10 GB sparse file stays
    10 KB on disk), and runs of zeros are skipped, not written.  What an
    archive may still fill is bounded by the free space of the storage."""
    data = sum(n for _off, n in m.sparse) if m.sparse else m.size
    vfs = os.statvfs(u.root_fd)
    free = vfs.f_bavail * vfs.f_frsize - FREE_SPACE_RESERVE
    if data > free:
        raise InvalidArgument(f"archive entry {m.name!r} would expand to {data} bytes, more than the storage has free "
                              f"({max(free, 0)} bytes): refusing the archive")
    src = tar.extractfile(m)
    fd = os.open(base, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=pfd)
    try:
        if m.sparse:
            # Stream mode cannot seek the buffered reader; its raw reader
            # maps file offsets to the archive and only moves forward.
            raw = getattr(src, "raw", src)
            for off, n in m.sparse:
                if n:
                    raw.seek(off)
                    _copy_holes(raw, fd, off, n, m.name)
        else:
            _copy_holes(src, fd, 0, m.size, m.name)
        os.ftruncate(fd, m.size)
    finally:
        os.close(fd)
    u.size += m.size


def _copy_holes(src, fd: int, pos: int, n: int, name: str) -> None:
    while n > 0:
        chunk = src.read(min(n, _CHUNK))
        if not chunk:
            raise InvalidArgument(f"archive entry {name!r} is truncated")
        if chunk != _ZEROS[:len(chunk)]:
            view = memoryview(chunk)
            while view:
                done = os.pwrite(fd, view, pos)
                view, pos = view[done:], pos + done
        else:
            pos += len(chunk)
        n -= len(chunk)


def _apply_dir_times(root_fd: int, times: dict[tuple[int, int], int]) -> None:
    """Give directories their archive mtimes, once nothing more is created
    in them: one walk of the tree through dir fds (never a symlink), going
    down and back up by "..", so its depth costs neither recursion nor
    path length."""
    if not times:
        return
    fd = os.dup(root_fd)
    path: list[str] = []
    pending = [_subdirs(fd)]
    try:
        while True:
            if pending[-1]:
                name = pending[-1].pop()
                try:
                    nfd = os.open(name, _DIR_FLAGS, dir_fd=fd)
                except OSError:
                    continue
                os.close(fd)
                fd = nfd
                path.append(name)
                pending.append(_subdirs(fd))
                continue
            pending.pop()
            if not path:
                return
            st = os.fstat(fd)
            mtime = times.get((st.st_dev, st.st_ino))
            if mtime is not None:
                try:
                    os.utime(fd, (mtime, mtime))
                except OSError:
                    pass
            up = os.open("..", _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = up
            path.pop()
    finally:
        os.close(fd)


def _subdirs(fd: int) -> list[str]:
    with os.scandir(fd) as it:
        return [e.name for e in it if e.is_dir(follow_symlinks=False)]


def _hardlink(root_fd: int, m: tarfile.TarInfo, pfd: int, base: str) -> None:
    tparts = _parts(m.linkname)
    if not tparts:
        raise UnsafeArchive(f"hard link {m.name!r} has no target")
    try:
        tfd = _open_parent(root_fd, tparts[:-1], create=False)
    except FileNotFoundError:
        raise UnsafeArchive(f"hard link {m.name!r} points at {m.linkname!r}, which the layer does not hold") from None
    try:
        try:
            st = os.stat(tparts[-1], dir_fd=tfd, follow_symlinks=False)
        except FileNotFoundError:
            raise UnsafeArchive(f"hard link {m.name!r} points at {m.linkname!r}, which the layer does not hold") from None
        if stat.S_ISDIR(st.st_mode):
            raise UnsafeArchive(f"hard link {m.name!r} points at a directory")
        # follow_symlinks=False: a link to a symlink is a second name for the symlink itself.
        os.link(tparts[-1], base, src_dir_fd=tfd, dst_dir_fd=pfd, follow_symlinks=False)
    finally:
        os.close(tfd)


# -- writing ----------------------------------------------------------------------


def create_tar(src_dir: str, dest: BinaryIO, *, whiteouts: bool = False, compress: bool = False, skip=None) -> None:
    """Write src_dir as a tar stream to dest (which need not be seekable).

    Deterministic for a given tree: entries sorted, no user or group names
    (they would come from the host's passwd), integer mtimes, gzip without a
    timestamp.  With whiteouts=True, overlayfs markers (0/0 character
    devices, opaque xattrs) are written back as OCI .wh. entries, which is
    what turns a container's upper dir into a layer.  skip(relative path,
    full path, lstat) leaves an entry (and all under it) out.
    """
    gz = gzip.GzipFile(fileobj=dest, mode="wb", mtime=0) if compress else None
    try:
        with tarfile.open(fileobj=gz or dest, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            _add_tree(tar, src_dir, "", whiteouts, {}, skip)
    finally:
        if gz is not None:
            gz.close()


def _tarinfo(name: str, st: os.stat_result) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mode = stat.S_IMODE(st.st_mode)
    info.uid, info.gid = st.st_uid, st.st_gid
    info.uname = info.gname = ""
    info.mtime = int(st.st_mtime)
    return info


def _add_tree(tar: tarfile.TarFile, path: str, prefix: str, whiteouts: bool, inodes: dict, skip=None) -> None:
    with os.scandir(path) as it:
        entries = sorted(it, key=lambda e: e.name)
    for entry in entries:
        name = f"{prefix}{entry.name}"
        st = entry.stat(follow_symlinks=False)
        if skip is not None and skip(name, entry.path, st):
            continue
        mode = st.st_mode
        if whiteouts and stat.S_ISCHR(mode) and st.st_rdev == 0:
            info = _tarinfo(f"{prefix}{WHITEOUT_PREFIX}{entry.name}", st)
            info.mode = 0o644
            tar.addfile(info)
            continue
        info = _tarinfo(name, st)
        if stat.S_ISDIR(mode):
            info.type = tarfile.DIRTYPE
            info.name = name + "/"
            tar.addfile(info)
            if whiteouts and is_opaque(entry.path):
                marker = _tarinfo(f"{name}/{OPAQUE_MARKER}", st)
                marker.mode = 0o644
                marker.type = tarfile.REGTYPE
                tar.addfile(marker)
            _add_tree(tar, entry.path, name + "/", whiteouts, inodes, skip)
        elif stat.S_ISREG(mode):
            key = (st.st_dev, st.st_ino)
            if st.st_nlink > 1 and key in inodes:
                info.type = tarfile.LNKTYPE
                info.linkname = inodes[key]
                tar.addfile(info)
                continue
            if st.st_nlink > 1:
                inodes[key] = name
            info.size = st.st_size
            with open(entry.path, "rb") as f:
                tar.addfile(info, f)
        elif stat.S_ISLNK(mode):
            info.type = tarfile.SYMTYPE
            info.linkname = os.readlink(entry.path)
            tar.addfile(info)
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            info.type = tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE
            info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
            tar.addfile(info)
        elif stat.S_ISFIFO(mode):
            info.type = tarfile.FIFOTYPE
            tar.addfile(info)
        # Sockets cannot be archived; tar skips them too.


def opaque_xattr() -> str:
    return OPAQUE_XATTRS[1] if _in_user_namespace() else OPAQUE_XATTRS[0]


def _in_user_namespace() -> bool:
    from .. import rootless

    return rootless.is_rootless()


def is_opaque(path: str) -> bool:
    """An overlay directory that hides what the layers below hold in it."""
    for name in OPAQUE_XATTRS:
        try:
            if os.getxattr(path, name, follow_symlinks=False) == b"y":
                return True
        except OSError:
            pass
    return False
