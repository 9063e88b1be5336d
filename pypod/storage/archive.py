"""Unpacking image layers safely, with OCI whiteouts turned into overlayfs ones.

Every entry is created relative to an open directory fd, walking the path
one component at a time with O_NOFOLLOW: a symlink in the layer (or planted
by an earlier entry) can never redirect a write outside the target, and
`..` components are refused outright.
"""

from __future__ import annotations

import errno
import os
import stat
import tarfile

from ..errors import InvalidArgument

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
_CHUNK = 1 << 20


class UnsafeArchive(InvalidArgument):
    pass


def _parts(name: str) -> list[str]:
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise UnsafeArchive(f"archive entry {name!r} escapes the target directory")
    return parts


def _open_dir(root_fd: int, parts: list[str], create: bool = True) -> int:
    """An fd for root/parts..., refusing to pass through a symlink."""
    fd = os.dup(root_fd)
    try:
        for part in parts:
            try:
                nfd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                os.mkdir(part, 0o755, dir_fd=fd)
                nfd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            except OSError as e:
                if e.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise UnsafeArchive(f"archive path {'/'.join(parts)!r} passes through a symlink or file") from None
                raise
            os.close(fd)
            fd = nfd
        return fd
    except BaseException:
        os.close(fd)
        raise


def _remove_entry(dir_fd: int, name: str) -> None:
    """Clear the way for a new entry (a later layer entry replaces an earlier one)."""
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
        try:
            for entry in os.listdir(sub):
                _remove_entry(sub, entry)
        finally:
            os.close(sub)
        os.rmdir(name, dir_fd=dir_fd)
    else:
        os.unlink(name, dir_fd=dir_fd)


def _set_meta(dir_fd: int, name: str, m: tarfile.TarInfo) -> None:
    try:
        os.chown(name, m.uid, m.gid, dir_fd=dir_fd, follow_symlinks=False)
    except PermissionError:
        pass  # unprivileged: keep our own ownership
    if not m.issym():
        os.chmod(name, m.mode & 0o7777, dir_fd=dir_fd)
    try:
        os.utime(name, (m.mtime, m.mtime), dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        pass


def extract_layer(fileobj, dest: str) -> int:
    """Unpack a (possibly compressed) layer tar stream into dest; returns the
    bytes of file content written."""
    os.makedirs(dest, exist_ok=True)
    root_fd = os.open(dest, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    size = 0
    try:
        try:
            tar = tarfile.open(fileobj=fileobj, mode="r|*")
        except tarfile.TarError as e:
            raise InvalidArgument(f"not a tar archive: {e}") from None
        with tar:
            for m in tar:
                size += _extract_member(tar, m, root_fd)
    except tarfile.TarError as e:
        raise InvalidArgument(f"reading layer archive: {e}") from None
    finally:
        os.close(root_fd)
    return size


def _extract_member(tar: tarfile.TarFile, m: tarfile.TarInfo, root_fd: int) -> int:
    parts = _parts(m.name)
    if not parts:
        return 0  # the root itself
    *parent, base = parts
    pfd = _open_dir(root_fd, parent)
    try:
        if base == OPAQUE_MARKER:
            os.setxattr(f"/proc/self/fd/{pfd}", "trusted.overlay.opaque", b"y")
            return 0
        if base.startswith(WHITEOUT_PREFIX):
            name = base[len(WHITEOUT_PREFIX):]
            _remove_entry(pfd, name)
            os.mknod(name, stat.S_IFCHR | 0o000, os.makedev(0, 0), dir_fd=pfd)
            return 0
        if m.isdir():
            try:
                st = os.stat(base, dir_fd=pfd, follow_symlinks=False)
                if not stat.S_ISDIR(st.st_mode):
                    _remove_entry(pfd, base)
                    os.mkdir(base, 0o755, dir_fd=pfd)
            except FileNotFoundError:
                os.mkdir(base, 0o755, dir_fd=pfd)
            _set_meta(pfd, base, m)
            return 0
        _remove_entry(pfd, base)
        if m.isreg():
            src = tar.extractfile(m)
            fd = os.open(base, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=pfd)
            try:
                while True:
                    chunk = src.read(_CHUNK)
                    if not chunk:
                        break
                    os.write(fd, chunk)
            finally:
                os.close(fd)
            _set_meta(pfd, base, m)
            return m.size
        if m.issym():
            os.symlink(m.linkname, base, dir_fd=pfd)
            _set_meta(pfd, base, m)
            return 0
        if m.islnk():
            tparts = _parts(m.linkname)
            if not tparts:
                raise UnsafeArchive(f"hard link {m.name!r} has no target")
            tfd = _open_dir(root_fd, tparts[:-1], create=False)
            try:
                st = os.stat(tparts[-1], dir_fd=tfd, follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    raise UnsafeArchive(f"hard link {m.name!r} points at a directory")
                os.link(tparts[-1], base, src_dir_fd=tfd, dst_dir_fd=pfd, follow_symlinks=False)
            finally:
                os.close(tfd)
            return 0
        if m.ischr() or m.isblk() or m.isfifo():
            kind = stat.S_IFCHR if m.ischr() else stat.S_IFBLK if m.isblk() else stat.S_IFIFO
            os.mknod(base, kind | (m.mode & 0o7777), os.makedev(m.devmajor, m.devminor), dir_fd=pfd)
            _set_meta(pfd, base, m)
            return 0
        return 0
    finally:
        os.close(pfd)
