"""Reading and writing inside a directory that must not be left: a
container's root filesystem, a volume, the host directory a copy lands in.

Nothing here trusts a path string.  A path is resolved from an open fd on
the root, one component at a time with O_NOFOLLOW; a symlink met on the way
is read and its target resolved the same way, "/" meaning the root and ".."
at the root staying there, as the kernel resolves paths inside a chroot.  So
a symlink the container planted (even one swapped in while we work) or an
archive entry cannot lead a read or a write outside the root.

Three pieces, combined by callers:
  lookup()       a path inside a root -> (directory fd, final name)
  iter_tree()    the entries under a directory fd, never following links
  TreeWriter     creates entries under a root (from a walk or a tar stream)
and on top of them copy_tree(), write_tar() and extract_tar().
"""

from __future__ import annotations

import errno
import os
import stat
from collections import deque

from ..errors import InvalidArgument
from ..record import record

TYPE_CHECKING = False  # typing's import costs every command milliseconds
if TYPE_CHECKING:
    import tarfile
    from typing import BinaryIO, Iterator

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | getattr(os, "O_NOATIME", 0)
#: the kernel's own limit on symlinks followed in one lookup
MAX_SYMLINKS = 40
_CHUNK = 1 << 20


class UnsafePath(InvalidArgument):
    """A path or archive entry that would reach outside its root."""


def open_root(path: str) -> int:
    """An fd on a directory to use as a root (the path itself is the caller's
    to trust: a storage path, or a host path the user named)."""
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


def split_path(path: str) -> list[str]:
    return [p for p in path.split("/") if p not in ("", ".")]


@record
class Resolved:
    """What lookup() found: `name` inside the directory `dir_fd`, or, when
    name is "", the directory itself.  The fd is the caller's to close."""

    dir_fd: int
    name: str
    #: the path inside the root after symlinks, for messages and for stat's
    #: linkTarget ("/" joined)
    path: str

    def lstat(self) -> os.stat_result:
        if not self.name:
            return os.fstat(self.dir_fd)
        return os.stat(self.name, dir_fd=self.dir_fd, follow_symlinks=False)

    def exists(self) -> bool:
        try:
            self.lstat()
            return True
        except FileNotFoundError:
            return False

    def open_dir(self) -> int:
        if not self.name:
            return os.dup(self.dir_fd)
        return os.open(self.name, _DIR_FLAGS, dir_fd=self.dir_fd)

    def close(self) -> None:
        if self.dir_fd >= 0:
            os.close(self.dir_fd)
            self.dir_fd = -1

    def __enter__(self) -> "Resolved":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def lookup(root_fd: int, path: str, follow_last: bool = True, create_dirs: bool = False) -> Resolved:
    """Resolve path inside the root with chroot semantics.

    Every component but the last must be (or lead by symlinks to) a
    directory; with create_dirs, missing ones are made (0755).  The last is
    followed when it is a symlink and follow_last is set; it may be missing
    (the caller looks).  A trailing "/" or "/." makes the last component a
    directory to enter, as for the kernel.
    """
    pending = deque(split_path(path))
    if path.endswith("/") or path.endswith("/.") or path in (".", ""):
        pending.append(".")  # the target must be entered: a directory
    stack = [os.dup(root_fd)]
    names: list[str] = []
    links = 0
    try:
        while pending:
            part = pending.popleft()
            if part in (".", ""):
                if not pending:
                    break  # "dir/" or "dir/.": the directory itself
                continue
            if part == "..":
                if len(stack) > 1:
                    os.close(stack.pop())
                    names.pop()
                continue
            cur = stack[-1]
            last = not pending
            if last and not follow_last:
                return _resolved(stack, part, names)
            try:
                st = os.stat(part, dir_fd=cur, follow_symlinks=False)
            except FileNotFoundError:
                if last:
                    return _resolved(stack, part, names)
                if not create_dirs:
                    raise FileNotFoundError(errno.ENOENT, "no such file or directory", "/" + "/".join([*names, part])) from None
                try:
                    os.mkdir(part, 0o755, dir_fd=cur)
                except FileExistsError:
                    pass
                st = os.stat(part, dir_fd=cur, follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                links += 1
                if links > MAX_SYMLINKS:
                    raise OSError(errno.ELOOP, "too many levels of symbolic links", "/" + "/".join([*names, part]))
                target = os.readlink(part, dir_fd=cur)
                if target.startswith("/"):
                    for fd in stack[1:]:
                        os.close(fd)
                    del stack[1:]
                    names.clear()
                pending.extendleft(reversed(target.split("/")))
                continue
            if last:
                return _resolved(stack, part, names)
            if not stat.S_ISDIR(st.st_mode):
                raise NotADirectoryError(errno.ENOTDIR, "not a directory", "/" + "/".join([*names, part]))
            # O_NOFOLLOW: swapped for a symlink since the stat, it fails here instead of leading out.
            stack.append(os.open(part, _DIR_FLAGS, dir_fd=cur))
            names.append(part)
        return _resolved(stack, "", names)
    except BaseException:
        for fd in stack:
            os.close(fd)
        raise


def _resolved(stack: list[int], name: str, names: list[str]) -> Resolved:
    fd = stack.pop()
    for other in stack:
        os.close(other)
    return Resolved(fd, name, "/" + "/".join([*names, name] if name else names))


# -- walking ------------------------------------------------------------------------


@record
class Entry:
    """One file of a tree, as a tar member would describe it."""

    #: path relative to the walk's start, "/"-separated, no leading "/"
    name: str
    st: os.stat_result
    linkname: str = ""
    #: set for a second name of an inode already seen (a hard link)
    hardlink_to: str = ""
    #: the directory fd holding it (valid only while the walk is at it)
    dir_fd: int = -1
    base: str = ""

    @property
    def kind(self) -> int:
        return stat.S_IFMT(self.st.st_mode)

    def open(self) -> int:
        return os.open(self.base, _FILE_FLAGS, dir_fd=self.dir_fd)


def iter_tree(dir_fd: int, prefix: str) -> Iterator[Entry]:
    """The entries under the directory dir_fd, depth first in name order,
    each named prefix/relative-path; symlinks are entries, never followed."""
    seen: dict[tuple[int, int], str] = {}
    yield from _walk(dir_fd, prefix, seen)


def _walk(dir_fd: int, prefix: str, seen: dict) -> Iterator[Entry]:
    with os.scandir(dir_fd) as it:
        names = sorted(e.name for e in it)
    for base in names:
        try:
            st = os.stat(base, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            continue  # gone meanwhile (a running container)
        name = f"{prefix}/{base}" if prefix else base
        e = Entry(name, st, dir_fd=dir_fd, base=base)
        kind = stat.S_IFMT(st.st_mode)
        if kind == stat.S_IFLNK:
            e.linkname = os.readlink(base, dir_fd=dir_fd)
        elif kind != stat.S_IFDIR and st.st_nlink > 1:
            key = (st.st_dev, st.st_ino)
            if key in seen:
                e.hardlink_to = seen[key]
            else:
                seen[key] = name
        yield e
        if kind == stat.S_IFDIR:
            try:
                sub = os.open(base, _DIR_FLAGS, dir_fd=dir_fd)
            except OSError:
                continue  # replaced by a non-directory meanwhile
            try:
                yield from _walk(sub, name, seen)
            finally:
                os.close(sub)


def entry_of(res: Resolved, name: str) -> Entry:
    """The Entry for a resolved path (the top of a walk)."""
    if res.name:
        st = os.stat(res.name, dir_fd=res.dir_fd, follow_symlinks=False)
        e = Entry(name, st, dir_fd=res.dir_fd, base=res.name)
        if stat.S_ISLNK(st.st_mode):
            e.linkname = os.readlink(res.name, dir_fd=res.dir_fd)
        return e
    return Entry(name, os.fstat(res.dir_fd), dir_fd=res.dir_fd, base=".")


def iter_path(res: Resolved, name: str) -> Iterator[Entry]:
    """The resolved path itself as `name` ("" for its contents only), and,
    for a directory, everything under it."""
    top = entry_of(res, name)
    if name:
        yield top
    if stat.S_ISDIR(top.st.st_mode):
        fd = res.open_dir()
        try:
            yield from iter_tree(fd, name)
        finally:
            os.close(fd)


# -- writing ------------------------------------------------------------------------


class TreeWriter:
    """Creates entries under a root fd, each parent resolved inside the root.

    owner: (uid, gid) every entry gets, or None to keep each entry's own.
    An entry replaces what is in its way, except that a directory is never
    replaced by a non-directory when no_replace_dir is set (Docker's
    noOverwriteDirNonDir).  Directory times are set at close(), after their
    contents are written.  scope, a resolved path inside the root, is where
    every entry must land: an entry that a symlink (one the archive planted,
    say) would carry elsewhere in the root is refused, as Docker refuses it.
    """

    def __init__(self, root_fd: int, owner: tuple[int, int] | None = None, no_replace_dir: bool = False, scope: str = "/"):
        self.root_fd = root_fd
        self.owner = owner
        self.no_replace_dir = no_replace_dir
        self.scope = scope
        self.bytes_written = 0
        #: the parent directory of the last entry, kept open: entries come grouped by directory
        self._parent_key: tuple = ()
        self._parent_fd = -1
        self._dir_times: list[tuple[str, float]] = []

    def _parent(self, parts: list[str]) -> int:
        key = tuple(parts[:-1])
        if key != self._parent_key or self._parent_fd < 0:
            self._drop_parent()
            with lookup(self.root_fd, "/".join(key) + "/", create_dirs=True) as res:
                if not within(res.path, self.scope):
                    raise UnsafePath(f"archive entry {'/'.join(parts)!r} leads outside the destination through a symlink")
                self._parent_fd = res.open_dir()
            self._parent_key = key
        return self._parent_fd

    def _drop_parent(self) -> None:
        if self._parent_fd >= 0:
            os.close(self._parent_fd)
        self._parent_fd = -1
        self._parent_key = ()

    def close(self) -> None:
        self._drop_parent()
        for name, mtime in reversed(self._dir_times):
            try:
                with lookup(self.root_fd, name, follow_last=False) as res:
                    if res.name and stat.S_ISDIR(res.lstat().st_mode):
                        os.utime(res.name, (mtime, mtime), dir_fd=res.dir_fd, follow_symlinks=False)
            except OSError:
                pass  # replaced or removed by a later entry
        self._dir_times.clear()

    def __enter__(self) -> "TreeWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def add(self, name: str, kind: int, mode: int, uid: int, gid: int, mtime: float, *, linkname: str = "",
            hardlink_to: str = "", rdev: int = 0, src_fd: int = -1, src_file: BinaryIO | None = None, size: int = 0) -> None:
        parts = entry_parts(name)
        if not parts:
            return  # the root itself: its attributes belong to whoever made it
        if self._parent_key[:len(parts)] == tuple(parts):
            self._drop_parent()  # this entry replaces a directory on the cached path
        pfd = self._parent(parts)
        base = parts[-1]
        try:
            old = os.stat(base, dir_fd=pfd, follow_symlinks=False)
        except FileNotFoundError:
            old = None
        if kind == stat.S_IFDIR:
            if old is None or not stat.S_ISDIR(old.st_mode):
                if old is not None:
                    os.unlink(base, dir_fd=pfd)
                os.mkdir(base, 0o700, dir_fd=pfd)
            self._attrs(pfd, base, kind, mode, uid, gid)
            self._dir_times.append(("/".join(parts), mtime))
            return
        if old is not None:
            if stat.S_ISDIR(old.st_mode):
                if self.no_replace_dir:
                    raise InvalidArgument(f"cannot overwrite directory {'/' + '/'.join(parts)!r} with non-directory")
                remove_tree(pfd, base)
            else:
                os.unlink(base, dir_fd=pfd)
        if hardlink_to:
            self._hardlink(hardlink_to, pfd, base)
            return
        if kind == stat.S_IFREG:
            fd = os.open(base, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=pfd)
            try:
                if src_fd >= 0:
                    self.bytes_written += _copy_fd(src_fd, fd, size)
                elif src_file is not None:
                    self.bytes_written += _copy_stream(src_file, fd)
            finally:
                os.close(fd)
        elif kind == stat.S_IFLNK:
            os.symlink(linkname, base, dir_fd=pfd)
        elif kind in (stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO):
            os.mknod(base, kind | 0o600, rdev, dir_fd=pfd)
        else:
            return  # sockets and the like do not travel
        self._attrs(pfd, base, kind, mode, uid, gid)
        try:
            os.utime(base, (mtime, mtime), dir_fd=pfd, follow_symlinks=False)
        except OSError:
            pass

    def _attrs(self, pfd: int, base: str, kind: int, mode: int, uid: int, gid: int) -> None:
        if self.owner is not None:
            uid, gid = self.owner
        try:
            os.chown(base, uid, gid, dir_fd=pfd, follow_symlinks=False)
        except PermissionError:
            pass  # unprivileged: the files stay ours
        if kind != stat.S_IFLNK:
            # after chown, which clears setuid and setgid
            os.chmod(base, stat.S_IMODE(mode), dir_fd=pfd)

    def _hardlink(self, target: str, pfd: int, base: str) -> None:
        tparts = entry_parts(target)
        if not tparts:
            raise UnsafePath(f"hard link {base!r} has no target")
        try:
            with lookup(self.root_fd, "/".join(tparts), follow_last=False) as res:
                if stat.S_ISDIR(res.lstat().st_mode):
                    raise UnsafePath(f"hard link to a directory: {target!r}")
                os.link(res.name, base, src_dir_fd=res.dir_fd, dst_dir_fd=pfd, follow_symlinks=False)
        except FileNotFoundError:
            raise UnsafePath(f"hard link {base!r} points at {target!r}, which the archive did not create") from None

    def add_entry(self, e: Entry, name: str, hardlink_to: str = "") -> None:
        """Copy one walked entry (from another root) here as name; a second
        name of an inode becomes a hard link to hardlink_to."""
        st = e.st
        kind = stat.S_IFMT(st.st_mode)
        if hardlink_to:
            self.add(name, kind, st.st_mode, st.st_uid, st.st_gid, st.st_mtime, hardlink_to=hardlink_to)
            return
        if kind == stat.S_IFREG:
            src = e.open()
            try:
                self.add(name, kind, st.st_mode, st.st_uid, st.st_gid, st.st_mtime, src_fd=src, size=st.st_size)
            finally:
                os.close(src)
        else:
            self.add(name, kind, st.st_mode, st.st_uid, st.st_gid, st.st_mtime, linkname=e.linkname, rdev=st.st_rdev)


def within(path: str, scope: str) -> bool:
    scope = scope.rstrip("/")
    return not scope or path == scope or path.startswith(scope + "/")


def entry_parts(name: str) -> list[str]:
    """An entry's path components.  A leading "/" is dropped (tar does so);
    ".." is refused: no well-formed copy needs it, and a hostile one uses it."""
    parts = split_path(name)
    if ".." in parts:
        raise UnsafePath(f"archive entry {name!r} points outside the destination")
    return parts


def remove_tree(dir_fd: int, name: str) -> None:
    """rm -rf of one entry, by fds (never following a symlink)."""
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(name, dir_fd=dir_fd)
        return
    sub = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    try:
        for child in os.listdir(sub):
            remove_tree(sub, child)
    finally:
        os.close(sub)
    os.rmdir(name, dir_fd=dir_fd)


def _copy_fd(src: int, dst: int, size: int) -> int:
    """In-kernel copy (copy_file_range, then sendfile), a read loop last."""
    done = 0
    try:
        while True:
            n = os.copy_file_range(src, dst, max(size - done, _CHUNK))
            if n == 0:
                return done
            done += n
    except OSError as e:
        if e.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP) or done:
            raise
    try:
        while True:
            n = os.sendfile(dst, src, None, _CHUNK)
            if n == 0:
                return done
            done += n
    except OSError as e:
        if e.errno not in (errno.EINVAL, errno.ENOSYS) or done:
            raise
    while chunk := os.read(src, _CHUNK):
        done += _write_all(dst, chunk)
    return done


def _copy_stream(src: BinaryIO, dst: int) -> int:
    done = 0
    while chunk := src.read(_CHUNK):
        done += _write_all(dst, chunk)
    return done


def _write_all(fd: int, data: bytes) -> int:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    return len(data)


# -- whole copies -----------------------------------------------------------------------


def copy_tree(entries: Iterator[Entry], writer: TreeWriter, rename: tuple[str, str] = ("", "")) -> None:
    """Write walked entries through writer; rename (old prefix, new prefix)
    puts the walk's top under another name."""
    old, new = rename
    for e in entries:
        link = _renamed(e.hardlink_to, old, new) if e.hardlink_to else ""
        writer.add_entry(e, _renamed(e.name, old, new), link)


def _renamed(name: str, old: str, new: str) -> str:
    if not old:
        return f"{new}/{name}" if new else name
    if name == old:
        return new
    if name.startswith(old + "/"):
        return new + name[len(old):]
    return name


def write_tar(entries: Iterator[Entry], out: BinaryIO) -> None:
    """Walked entries as a tar stream (PAX, no user names: they would come
    from the host's passwd, not the container's)."""
    import tarfile

    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        tar.copybufsize = _CHUNK
        for e in entries:
            info = tarinfo_of(e)
            if info is None:
                continue
            if info.isreg():
                fd = e.open()
                with os.fdopen(fd, "rb") as f:
                    # the size was read before: a file growing meanwhile is cut there, as tar does
                    tar.addfile(info, f)
            else:
                tar.addfile(info)


def tarinfo_of(e: Entry) -> tarfile.TarInfo | None:
    import tarfile

    st = e.st
    kind = stat.S_IFMT(st.st_mode)
    info = tarfile.TarInfo(e.name)
    info.mode = stat.S_IMODE(st.st_mode)
    info.uid, info.gid = st.st_uid, st.st_gid
    info.uname = info.gname = ""
    info.mtime = int(st.st_mtime)
    if e.hardlink_to:
        info.type, info.linkname = tarfile.LNKTYPE, e.hardlink_to
    elif kind == stat.S_IFDIR:
        info.type = tarfile.DIRTYPE
    elif kind == stat.S_IFREG:
        info.size = st.st_size
    elif kind == stat.S_IFLNK:
        info.type, info.linkname = tarfile.SYMTYPE, e.linkname
    elif kind in (stat.S_IFCHR, stat.S_IFBLK):
        info.type = tarfile.CHRTYPE if kind == stat.S_IFCHR else tarfile.BLKTYPE
        info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
    elif kind == stat.S_IFIFO:
        info.type = tarfile.FIFOTYPE
    else:
        return None  # sockets cannot be archived
    return info


#: tar's type flags (DIRTYPE, SYMTYPE, CHRTYPE, BLKTYPE, FIFOTYPE) as file kinds
_TAR_KINDS = {b"5": stat.S_IFDIR, b"2": stat.S_IFLNK, b"3": stat.S_IFCHR, b"4": stat.S_IFBLK, b"6": stat.S_IFIFO}


def extract_tar(src: BinaryIO, writer: TreeWriter, prefix: str = "", rename: tuple[str, str] = ("", "")) -> int:
    """Unpack a tar stream (plain or compressed) through writer, every entry
    under prefix; returns the number of entries.  Entries naming ".." are
    refused; symlinks (planted by earlier entries or already there) are
    followed only inside the writer's root."""
    import tarfile

    try:
        tar = tarfile.open(fileobj=src, mode="r|*")
    except tarfile.TarError as e:
        raise InvalidArgument(f"not a tar archive: {e}") from None
    count = 0
    try:
        with tar:
            for m in tar:
                name = _renamed("/".join(entry_parts(m.name)), *rename)
                name = f"{prefix}/{name}" if prefix else name
                link = ""
                if m.islnk():
                    link = _renamed("/".join(entry_parts(m.linkname)), *rename)
                    link = f"{prefix}/{link}" if prefix else link
                    writer.add(name, stat.S_IFREG, m.mode, m.uid, m.gid, m.mtime, hardlink_to=link)
                elif m.isreg():
                    writer.add(name, stat.S_IFREG, m.mode, m.uid, m.gid, m.mtime, src_file=tar.extractfile(m), size=m.size)
                elif m.type in _TAR_KINDS:
                    kind = _TAR_KINDS[m.type]
                    rdev = os.makedev(m.devmajor, m.devminor) if kind in (stat.S_IFCHR, stat.S_IFBLK) else 0
                    writer.add(name, kind, m.mode, m.uid, m.gid, m.mtime, linkname=m.linkname, rdev=rdev)
                else:
                    continue  # GNU sparse leftovers, unknown types
                count += 1
    except (tarfile.TarError, EOFError, ValueError) as e:
        # zlib/lzma errors arrive as EOFError or ValueError; NUL bytes in names as ValueError
        raise InvalidArgument(f"reading tar archive: {e}") from None
    return count
