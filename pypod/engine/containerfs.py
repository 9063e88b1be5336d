"""A container's filesystem from outside: copying in and out (`cp`, the
archive endpoints), what changed (`diff`), exporting it.  (The user's
`mount`/`unmount` are Container.mount and unmount: a count in its state.)

Where the files are: a running (or paused) container's filesystem is read
and written through /proc/PID/root, so its volumes, binds and tmpfs mounts
are where its processes see them.  A stopped one has its overlay mounted
for the copy (and unmounted after, unless something else holds it), and a
path under one of its volumes or binds goes to the host directory behind it
(the longest mount destination that holds the path, as podman resolves it).

Every path inside the container is resolved by storage/rootfs.py from a
directory fd with chroot semantics: no symlink or ".." the container holds
(or an archive carries) leads a read or a write outside its root.
"""

from __future__ import annotations

import os
import stat

from ..errors import InvalidArgument, NoSuchContainer, PypodError
from ..storage import rootfs
from .container import Status

TYPE_CHECKING = False  # typing's import costs every command milliseconds
if TYPE_CHECKING:
    from typing import BinaryIO

    from .lifecycle import Container

#: paths podman's diff leaves out: the engine's mounts, not the container's changes
ENGINE_PATHS = frozenset(("/dev", "/etc/hostname", "/etc/hosts", "/etc/resolv.conf", "/proc", "/run", "/run/notify",
                          "/run/.containerenv", "/run/secrets", "/sys", "/etc/mtab"))


class ContainerRoot:
    """The container's root filesystem, open for the duration of a `with`."""

    def __init__(self, ctr: "Container"):
        self.ctr = ctr
        self.live = False
        self.path = ""
        self._mounted_here = False
        self._fds: list[int] = []

    def __enter__(self) -> "ContainerRoot":
        ctr = self.ctr
        with ctr.locked():
            ctr.sync()
            if ctr.state.status in (Status.RUNNING, Status.PAUSED) and ctr.state.pid:
                self.live = True
                self.path = f"/proc/{ctr.state.pid}/root"
            elif ctr.config.rootfs:
                self.path = ctr.config.rootfs
            else:
                storage = ctr.engine.container_storage
                self._mounted_here = not storage.is_mounted(ctr.id)
                self.path = storage.mount(ctr.id, ctr.engine.images.lookup(ctr.config.image_id))
            try:
                self.fd = rootfs.open_root(self.path)
            except OSError as e:
                self._unmount()
                raise PypodError(f"opening the filesystem of container {ctr.name}: {e.strerror}") from None
        self._fds.append(self.fd)
        return self

    def __exit__(self, *exc) -> None:
        for fd in self._fds:
            os.close(fd)
        self._fds.clear()
        if self._mounted_here:
            with self.ctr.locked():
                try:
                    self.ctr.sync()
                except NoSuchContainer:
                    pass
                else:
                    self._unmount()

    def _unmount(self) -> None:
        """Unmount what we mounted, unless the container started meanwhile or the user mounted it."""
        ctr = self.ctr
        if not self._mounted_here or ctr.state.status in (Status.RUNNING, Status.PAUSED, Status.CREATED):
            return
        if ctr.state.user_mounts:
            return  # `pypod mount` holds it
        ctr.engine.container_storage.unmount(ctr.id)

    def locate(self, path: str) -> tuple[int, str, str]:
        """(root fd, path inside it, the container path of that root) for a
        container path: for a stopped container, a path under a volume or a
        bind lives in the host directory behind it."""
        if self.live:
            return self.fd, path, "/"
        norm = "/" + "/".join(rootfs.split_path(os.path.normpath("/" + path)))
        best = None
        for m in self.ctr.config.mounts:
            dest = m.destination.rstrip("/") or "/"
            if not (norm == dest or norm.startswith(dest + "/") or dest == "/"):
                continue
            source = self._mount_source(m)
            if source and (best is None or len(dest) > len(best[1])):
                best = (source, dest)
        if best is None:
            return self.fd, path, "/"
        source, dest = best
        fd = rootfs.open_root(source)
        self._fds.append(fd)
        rest = norm[len(dest):] if dest != "/" else norm
        if path.endswith("/."):
            rest += "/."
        elif path.endswith("/"):
            rest += "/"
        return fd, rest or "/", dest

    def _mount_source(self, m) -> str:
        if m.type in ("bind",) and os.path.isdir(m.source):
            return m.source
        if m.type == "volume" and "O" not in m.options:
            from ..errors import NoSuchVolume

            try:
                vol = self.ctr.engine.volumes.get(m.source)
            except NoSuchVolume:
                return ""
            if vol.needs_mount:
                from .volumes import is_mounted

                if not is_mounted(vol.mountpoint):
                    return ""  # its filesystem exists only while mounted
            return vol.mountpoint
        return ""

    def user(self) -> tuple[int, int]:
        """The container user's uid and gid, looked up in its own passwd."""
        from . import bundle

        try:
            u = bundle.lookup_user(self.path, self.ctr.config.user)
            return u.uid, u.gid
        except PypodError:
            return 0, 0


# -- stat ------------------------------------------------------------------------------


def _go_mode(mode: int) -> int:
    """A stat mode as Go's os.FileMode bits (what Docker's path stat carries)."""
    bits = stat.S_IMODE(mode) & 0o777
    kind = stat.S_IFMT(mode)
    bits |= {stat.S_IFDIR: 1 << 31, stat.S_IFLNK: 1 << 27, stat.S_IFIFO: 1 << 25, stat.S_IFSOCK: 1 << 24,
             stat.S_IFBLK: 1 << 26, stat.S_IFCHR: (1 << 26) | (1 << 21)}.get(kind, 0)
    if mode & stat.S_ISUID:
        bits |= 1 << 23
    if mode & stat.S_ISGID:
        bits |= 1 << 22
    if mode & stat.S_ISVTX:
        bits |= 1 << 20
    return bits


def path_stat(ctr: "Container", path: str, resolved_target: bool = False) -> dict:
    """Docker's ContainerPathStat of a path (the last symlink not followed):
    name, size, mode (Go bits), mtime, linkTarget.  resolved_target: libpod's
    linkTarget, the path with every symlink resolved even when it is none
    (podman's remote cp copies from and to that path)."""
    from ..proto.humanize import rfc3339

    _check_path(path)
    with ContainerRoot(ctr) as root:
        fd, inner, base = root.locate(path)
        try:
            res = rootfs.lookup(fd, inner, follow_last=False)
        except (FileNotFoundError, NotADirectoryError):
            raise _not_found(ctr, path) from None
        with res:
            try:
                st = res.lstat()
            except FileNotFoundError:
                raise _not_found(ctr, path) from None
            link = ""
            is_dir = stat.S_ISDIR(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                try:
                    with rootfs.lookup(fd, inner) as target:
                        link = _join(base, target.path)
                        is_dir = target.exists() and stat.S_ISDIR(target.lstat().st_mode)
                except OSError:
                    link = os.readlink(res.name, dir_fd=res.dir_fd)
            elif resolved_target:
                link = _join(base, res.path)
            name = os.path.basename(path.rstrip("/")) or "/"
            # isDir (of what a link leads to) is libpod's; Docker's clients ignore it
            return {"name": name, "size": st.st_size, "mode": _go_mode(st.st_mode), "mtime": rfc3339(st.st_mtime),
                    "linkTarget": link, "isDir": is_dir}


def _join(base: str, inner: str) -> str:
    return inner if base == "/" else base.rstrip("/") + ("" if inner == "/" else inner)


def _check_path(path: str) -> None:
    if not path.startswith("/"):
        raise InvalidArgument(f"the path {path!r} must be absolute inside the container")
    if "\0" in path:
        raise InvalidArgument("a path may not hold a NUL byte")
    # what no filesystem can hold (ENAMETOOLONG), refused before a lookup
    if len(path.encode()) >= 4096 or any(len(part.encode()) > 255 for part in path.split("/")):
        shown = path if len(path) <= 64 else path[:61] + "..."
        raise InvalidArgument(f"{shown}: file name too long")


def _not_found(ctr: "Container", path: str) -> PypodError:
    from ..errors import NoSuchPath

    return NoSuchPath(f"\"{path}\" could not be found on container {ctr.name}: no such file or directory")


# -- copying out -------------------------------------------------------------------------


def _source(ctr: "Container", root: ContainerRoot, path: str, follow: bool):
    """Resolve a source path: (Resolved, the entry name for archives)."""
    _check_path(path)
    fd, inner, _base = root.locate(path)
    try:
        res = rootfs.lookup(fd, inner, follow_last=follow)
    except (FileNotFoundError, NotADirectoryError):
        raise _not_found(ctr, path) from None
    if not res.exists():
        res.close()
        raise _not_found(ctr, path)
    return res


def archive_out(ctr: "Container", path: str, out: "BinaryIO", follow: bool = False) -> None:
    """A tar of path, rebased on its base name (Docker's GET archive: the
    last symlink is archived as a link unless path ends in / or /.)."""
    with ContainerRoot(ctr) as root:
        res = _source(ctr, root, path, follow)
        with res:
            name = os.path.basename(path) if not path.endswith("/") else os.path.basename(path.rstrip("/"))
            rootfs.write_tar(rootfs.iter_path(res, name or "."), out)


def copy_out(ctr: "Container", path: str, dest: str) -> None:
    """`cp CTR:PATH DEST` with docker's rules: a directory lands as DEST when
    DEST does not exist, inside it as its base name when it does, and only
    its contents when PATH ends in /.; a file becomes DEST or DEST/name.
    Files are owned by the caller (podman's cp)."""
    with ContainerRoot(ctr) as root:
        res = _source(ctr, root, path, follow=True)
        with res:
            src_dir = stat.S_ISDIR(res.lstat().st_mode)
            base = os.path.basename(path.rstrip("/")) or os.path.basename(res.path) or "root"
            target_dir, name = _host_target(dest, src_dir, contents=path.endswith("/.") or path == "/", base=base)
            dfd = rootfs.open_root(target_dir)
            try:
                with rootfs.TreeWriter(dfd, owner=(os.getuid(), os.getgid())) as writer:
                    rootfs.copy_tree(rootfs.iter_path(res, "."), writer, (".", name))
            finally:
                os.close(dfd)


def _host_target(dest: str, src_dir: bool, contents: bool, base: str) -> tuple[str, str]:
    """(existing host directory, name inside it) for a copy to dest."""
    trailing = dest.endswith("/")
    dest = os.path.abspath(dest)
    if os.path.isdir(dest):
        if src_dir and contents:
            return os.path.realpath(dest), ""
        return os.path.realpath(dest), base
    if os.path.lexists(dest):
        if src_dir:
            raise InvalidArgument("destination must be a directory when copying a directory")
        return os.path.realpath(os.path.dirname(dest)), os.path.basename(dest)
    parent = os.path.dirname(dest)
    if trailing or not os.path.isdir(parent):
        raise _host_missing(dest + ("/" if trailing else ""))
    return os.path.realpath(parent), os.path.basename(dest)


def _host_missing(path: str) -> PypodError:
    from ..errors import NoSuchPath

    return NoSuchPath(f"\"{path}\" could not be found on the host: no such file or directory")


# -- copying in --------------------------------------------------------------------------


def copy_in(ctr: "Container", src: str, path: str, chown: bool = True, overwrite: bool = False) -> None:
    """`cp SRC CTR:PATH`, the same rules the other way; with chown (podman's
    --archive, the default) files take the container user's uid and gid."""
    _check_path(path)
    src_abs = os.path.abspath(src)
    if not os.path.lexists(src_abs):
        raise _host_missing(src)
    real = os.path.realpath(src_abs)
    if not os.path.exists(real):
        raise _host_missing(src)
    src_dir = os.path.isdir(real)
    contents = src.endswith("/.")
    with ContainerRoot(ctr) as root:
        fd, inner, base = root.locate(path)
        target, name = _container_target(ctr, fd, inner, path, src_dir, contents, os.path.basename(real))
        owner = root.user() if chown else None
        sfd = rootfs.open_root(os.path.dirname(real) or "/")
        try:
            with rootfs.lookup(sfd, os.path.basename(real) or ".", follow_last=False) as sres:
                _write_in(fd, target, base, owner, overwrite,
                          lambda w, prefix: rootfs.copy_tree(rootfs.iter_path(sres, "."), w, (".", _under(prefix, name))))
        finally:
            os.close(sfd)


def archive_in(ctr: "Container", path: str, stream: "BinaryIO", chown: bool = False, overwrite: bool = True) -> None:
    """Unpack a tar stream into the directory path (Docker's PUT archive,
    `cp - CTR:DIR`); entries keep their owners unless chown."""
    _check_path(path)
    with ContainerRoot(ctr) as root:
        fd, inner, base = root.locate(path)
        try:
            res = rootfs.lookup(fd, inner)
        except (FileNotFoundError, NotADirectoryError):
            raise _not_found(ctr, path) from None
        with res:
            if not res.exists():
                raise _not_found(ctr, path)
            if not stat.S_ISDIR(res.lstat().st_mode):
                raise InvalidArgument("destination must be a directory when copying from stdin")
            target = res.path
        owner = root.user() if chown else None
        _write_in(fd, target, base, owner, overwrite, lambda w, prefix: rootfs.extract_tar(stream, w, prefix.lstrip("/")))


def _under(prefix: str, name: str) -> str:
    p = prefix.strip("/")
    if not name:
        return p
    return f"{p}/{name}" if p else name


def _write_in(fd: int, target: str, base: str, owner, overwrite: bool, write) -> None:
    try:
        with rootfs.TreeWriter(fd, owner=owner, no_replace_dir=not overwrite, scope=target) as writer:
            write(writer, target)
    except OSError as e:
        where = _join(base, target)
        raise PypodError(f"copying into {where}: {e.strerror or e}") from None


def _container_target(ctr, fd: int, inner: str, path: str, src_dir: bool, contents: bool, base: str) -> tuple[str, str]:
    """(resolved directory inside the root, name inside it) for a copy to path."""
    trailing = path.endswith("/")
    try:
        res = rootfs.lookup(fd, inner)
    except (FileNotFoundError, NotADirectoryError):
        raise _not_found(ctr, path) from None
    with res:
        if res.exists():
            if stat.S_ISDIR(res.lstat().st_mode):
                return res.path, "" if (src_dir and contents) else base
            if src_dir:
                raise InvalidArgument("destination must be a directory when copying a directory")
            return os.path.dirname(res.path) or "/", os.path.basename(res.path)
        if trailing:
            raise _not_found(ctr, path)
        return os.path.dirname(res.path) or "/", res.name


# -- changes and export ------------------------------------------------------------------


def changes(ctr: "Container") -> list[tuple[str, str]]:
    """podman diff: (kind, path) with kind A, C or D, from the container's
    writable layer against its image (on vfs: its copy against the image),
    sorted by path."""
    from ..storage import changes as tree

    if ctr.config.rootfs:
        raise InvalidArgument(f"container {ctr.name} runs on a plain directory (--rootfs): it has no layers to compare")
    image = ctr.engine.images.lookup(ctr.config.image_id)
    storage = ctr.engine.container_storage
    upper = storage.upper_dir(ctr.id)
    if not os.path.isdir(upper):
        return []
    if getattr(storage, "full_copy", False):
        found = tree.entries_changes(tree.tree_entries(upper), tree.union_entries(image.layer_dirs))
    else:
        found = tree.layer_changes(upper, image.layer_dirs)
    return [(k, p) for k, p in found if p not in ENGINE_PATHS]


def image_changes(engine, ref: str, other: str = "") -> list[tuple[str, str]]:
    """An image's top layer against the layers below it, or the whole image
    against another one when other is named."""
    from ..storage import changes as tree

    image = engine.images.lookup(ref)
    if other:
        base = engine.images.lookup(other)
        return tree.entries_changes(tree.union_entries(image.layer_dirs), tree.union_entries(base.layer_dirs))
    dirs = image.layer_dirs
    return tree.layer_changes(dirs[-1], dirs[:-1]) if dirs else []


def export(ctr: "Container", out: "BinaryIO") -> None:
    """The container's root filesystem as one tar (its image and its
    changes; no volumes or mounts)."""
    _export(ctr, out)
    ctr.engine.events.container(ctr, "export")


def _export(ctr: "Container", out: "BinaryIO") -> None:
    if ctr.config.rootfs:
        path = ctr.config.rootfs
        fd = rootfs.open_root(path)
        try:
            with rootfs.lookup(fd, "/") as res:
                rootfs.write_tar(rootfs.iter_path(res, ""), out)
        finally:
            os.close(fd)
        return
    with storage_mounted(ctr) as merged:
        fd = rootfs.open_root(merged)
        try:
            with rootfs.lookup(fd, "/") as res:
                rootfs.write_tar(rootfs.iter_path(res, ""), out)
        finally:
            os.close(fd)


class storage_mounted:
    """The overlay mounted on the host (not the live root: export must not
    see the container's volumes), unmounted after if we mounted it."""

    def __init__(self, ctr: "Container"):
        self.ctr = ctr
        self.mounted_here = False

    def __enter__(self) -> str:
        ctr = self.ctr
        storage = ctr.engine.container_storage
        with ctr.locked():
            ctr.sync()
            self.mounted_here = not storage.is_mounted(ctr.id)
            return storage.mount(ctr.id, ctr.engine.images.lookup(ctr.config.image_id))

    def __exit__(self, *exc) -> None:
        if not self.mounted_here:
            return
        ctr = self.ctr
        with ctr.locked():
            ctr.sync()
            if ctr.state.status not in (Status.RUNNING, Status.PAUSED, Status.CREATED) and not ctr.state.user_mounts:
                ctr.engine.container_storage.unmount(ctr.id)
