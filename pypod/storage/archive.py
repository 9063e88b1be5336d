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
import shutil
import stat
import tarfile
from dataclasses import dataclass, field
from typing import BinaryIO

from ..errors import InvalidArgument

WHITEOUT_PREFIX = ".wh."
#: the aufs-era metadata prefix; only its opaque marker means anything to overlay
WHITEOUT_META_PREFIX = ".wh..wh."
OPAQUE_MARKER = ".wh..wh..opq"
OVERLAY_OPAQUE_XATTR = "trusted.overlay.opaque"

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
#: the kernel's own limit on symlinks followed in one lookup
_MAX_SYMLINKS = 40
_CHUNK = 1 << 20


class UnsafeArchive(InvalidArgument):
    """An entry would land outside the target directory."""


@dataclass
class _Unpacker:
    root_fd: int
    #: directory mtimes are set last: creating their children would bump them
    dir_times: list[tuple[list[str], int]] = field(default_factory=list)
    size: int = 0


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


def _remove_entry(dir_fd: int, name: str) -> None:
    """Clear the way for a new entry (a later entry replaces an earlier one)."""
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        sub = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
        try:
            for entry in os.listdir(sub):
                _remove_entry(sub, entry)
        finally:
            os.close(sub)
        os.rmdir(name, dir_fd=dir_fd)
    else:
        os.unlink(name, dir_fd=dir_fd)


def _set_owner_mode(dir_fd: int, name: str, m: tarfile.TarInfo) -> None:
    try:
        os.chown(name, m.uid, m.gid, dir_fd=dir_fd, follow_symlinks=False)
    except PermissionError:
        pass  # unprivileged: the files stay ours
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
            tar = tarfile.open(fileobj=fileobj, mode="r|*" if compressed else "r|")
        except tarfile.TarError as e:
            raise InvalidArgument(f"not a tar archive: {e}") from None
        with tar:
            for m in tar:
                _extract_member(u, tar, m)
        for parts, mtime in reversed(u.dir_times):
            try:
                pfd = _open_parent(u.root_fd, parts[:-1], create=False)
            except (OSError, UnsafeArchive):
                continue  # replaced by a later entry
            try:
                if stat.S_ISDIR(os.stat(parts[-1], dir_fd=pfd, follow_symlinks=False).st_mode):
                    _set_mtime(pfd, parts[-1], mtime)
            except OSError:
                pass
            finally:
                os.close(pfd)
    except (tarfile.TarError, EOFError, OSError, ValueError) as e:
        if isinstance(e, InvalidArgument):
            raise
        # zlib/lzma errors arrive as OSError, EOFError or ValueError subclasses.
        raise InvalidArgument(f"reading layer archive: {e}") from None
    finally:
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
    pfd = _open_parent(u.root_fd, parent, create=True)
    try:
        if base == OPAQUE_MARKER:
            os.setxattr(f"/proc/self/fd/{pfd}", OVERLAY_OPAQUE_XATTR, b"y")
            return
        if base.startswith(WHITEOUT_PREFIX):
            name = base[len(WHITEOUT_PREFIX):]
            if not name or name in (".", ".."):
                raise UnsafeArchive(f"archive entry {m.name!r} is a malformed whiteout")
            _remove_entry(pfd, name)
            os.mknod(name, stat.S_IFCHR | 0o000, os.makedev(0, 0), dir_fd=pfd)
            return
        if m.isdir():
            try:
                st = os.stat(base, dir_fd=pfd, follow_symlinks=False)
            except FileNotFoundError:
                os.mkdir(base, 0o755, dir_fd=pfd)
            else:
                if not stat.S_ISDIR(st.st_mode):
                    _remove_entry(pfd, base)
                    os.mkdir(base, 0o755, dir_fd=pfd)
            _set_owner_mode(pfd, base, m)
            u.dir_times.append((parts, m.mtime))
            return
        _remove_entry(pfd, base)
        if m.isreg():
            src = tar.extractfile(m)
            fd = os.open(base, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=pfd)
            with open(fd, "wb", closefd=True) as out:
                shutil.copyfileobj(src, out, _CHUNK)
            _set_owner_mode(pfd, base, m)
            _set_mtime(pfd, base, m.mtime)
            u.size += m.size
        elif m.issym():
            os.symlink(m.linkname, base, dir_fd=pfd)
            _set_owner_mode(pfd, base, m)
            _set_mtime(pfd, base, m.mtime)
        elif m.islnk():
            _hardlink(u.root_fd, m, pfd, base)
        elif m.ischr() or m.isblk() or m.isfifo():
            kind = stat.S_IFCHR if m.ischr() else stat.S_IFBLK if m.isblk() else stat.S_IFIFO
            os.mknod(base, kind | (m.mode & 0o7777), os.makedev(m.devmajor, m.devminor), dir_fd=pfd)
            _set_owner_mode(pfd, base, m)
            _set_mtime(pfd, base, m.mtime)
        # Anything else (GNU sparse leftovers, unknown types) has no place in a rootfs.
    finally:
        os.close(pfd)


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


def create_tar(src_dir: str, dest: BinaryIO, *, whiteouts: bool = False, compress: bool = False) -> None:
    """Write src_dir as a tar stream to dest (which need not be seekable).

    Deterministic for a given tree: entries sorted, no user or group names
    (they would come from the host's passwd), integer mtimes, gzip without a
    timestamp.  With whiteouts=True, overlayfs markers (0/0 character
    devices, opaque xattrs) are written back as OCI .wh. entries, which is
    what turns a container's upper dir into a layer.
    """
    gz = gzip.GzipFile(fileobj=dest, mode="wb", mtime=0) if compress else None
    try:
        with tarfile.open(fileobj=gz or dest, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            _add_tree(tar, src_dir, "", whiteouts, {})
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


def _add_tree(tar: tarfile.TarFile, path: str, prefix: str, whiteouts: bool, inodes: dict) -> None:
    with os.scandir(path) as it:
        entries = sorted(it, key=lambda e: e.name)
    for entry in entries:
        name = f"{prefix}{entry.name}"
        st = entry.stat(follow_symlinks=False)
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
            if whiteouts and _is_opaque(entry.path):
                marker = _tarinfo(f"{name}/{OPAQUE_MARKER}", st)
                marker.mode = 0o644
                marker.type = tarfile.REGTYPE
                tar.addfile(marker)
            _add_tree(tar, entry.path, name + "/", whiteouts, inodes)
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


def _is_opaque(path: str) -> bool:
    try:
        return os.getxattr(path, OVERLAY_OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False
