"""A container's mounts: checked and completed when it is created, made
ready each time it starts, and let go when it stops.

At create (resolve): --volumes-from copies another container's volumes and
binds, an image's VOLUMEs become anonymous volumes (or tmpfs), image mounts
are looked up, and the whole list is checked (absolute, unique
destinations; host paths that exist).  Named and anonymous volumes are then
claimed by engine/volumes.py.

At start (prepare): volumes backed by a filesystem are mounted, a fresh
volume is filled from the image's files at its destination (copy-up) and
takes that directory's owner, overlay (`:O`) and image mounts are mounted
under the container's userdata, and everything becomes OCI mount entries
for the runtime, parents before children.  At stop (release) all of that is
undone; each step tolerates finding its piece already gone.
"""

from __future__ import annotations

import os
import stat
from ..errors import InvalidArgument, NoSuchImage, PypodError
from ..storage.tree import remove_tree, walk
from .container import Mount

TYPE_CHECKING = False  # typing's import costs every command milliseconds
if TYPE_CHECKING:
    from .container import ContainerConfig
    from .engine import Engine
    from .lifecycle import Container

#: host directories `U` (chown to the container's user) must never touch
_PROTECTED = ("/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/opt",
              "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/var")
#: words of a mount's options that are pypod's, not the kernel's
_NOT_FOR_RUNTIME = ("z", "Z", "U", "O", "copy", "nocopy", "rw", "idmap")
READ_ONLY_TMPFS = ("/tmp", "/var/tmp", "/run")


# -- at create ---------------------------------------------------------------------


def resolve(engine: "Engine", cfg: "ContainerConfig", image_volumes: list[str] = ()) -> None:
    """Complete and check cfg.mounts for a new container (nothing is created
    here); image_volumes are the VOLUMEs of its image."""
    from ..specgen.volumes import parse_volumes_from

    dests = {m.destination for m in cfg.mounts}
    for spec in cfg.fs.volumes_from:
        name, opts = parse_volumes_from(spec)
        other = engine.container(name)
        for m in other.config.mounts:
            if m.type not in ("bind", "volume", "overlay") or m.destination in dests:
                continue
            options = [o for o in m.options if o not in ("ro", "rw")]
            if "ro" in opts or ("rw" not in opts and "ro" in m.options):
                options.insert(0, "ro")
            cfg.mounts.append(Mount(destination=m.destination, source=m.source, type=m.type, options=options))
            dests.add(m.destination)
    if cfg.fs.image_volume not in ("bind", "tmpfs", "ignore"):
        raise InvalidArgument(f"invalid image volume type \"{cfg.fs.image_volume}\": bind, tmpfs or ignore")
    if cfg.fs.image_volume != "ignore":
        for dest in image_volumes:
            dest = os.path.normpath(dest) if dest.startswith("/") else ""
            if not dest or dest in dests:
                continue
            if cfg.fs.image_volume == "tmpfs":
                cfg.mounts.append(Mount(destination=dest, source="tmpfs", type="tmpfs", options=["rw", "nosuid", "nodev"]))
            else:
                cfg.mounts.append(Mount(destination=dest, source="", type="volume"))
            dests.add(dest)
    seen: set[str] = set()
    for m in cfg.mounts:
        if m.type == "bind" and m.source and not m.source.startswith(("/", ".")):
            m.type = "volume"  # the library's Mount(dest, "name"): a bind of a name is a named volume, as with -v
        if not m.destination.startswith("/"):
            raise InvalidArgument(f"invalid container path \"{m.destination}\", must be an absolute path")
        m.destination = os.path.normpath(m.destination) if m.destination != "/" else "/"
        if m.destination in seen:
            raise InvalidArgument(f"\"{m.destination}\": duplicate mount destination")
        seen.add(m.destination)
        if m.type in ("bind", "overlay"):
            if not m.source.startswith("/"):
                raise InvalidArgument(f"invalid host path \"{m.source}\", must be an absolute path")
            if not os.path.exists(m.source):
                raise InvalidArgument(f"statfs {m.source}: no such file or directory")
            if m.type == "overlay" and not os.path.isdir(m.source):
                raise InvalidArgument(f"overlay mount source {m.source} must be a directory")
            if "U" in m.options and os.path.realpath(m.source) in _PROTECTED:
                raise InvalidArgument(f"chowning host path \"{m.source}\" is not allowed. "
                                      f"You can manually `chown -R` it")
        elif m.type == "image":
            try:
                m.source = engine.images.lookup(m.source).id
            except NoSuchImage as e:
                raise NoSuchImage(f"image mount {m.destination}: {e}") from None
        elif m.type not in ("volume", "tmpfs", "devpts"):
            raise InvalidArgument(f'invalid filesystem type "{m.type}"')


def anonymous_volumes(engine: "Engine", cfg: "ContainerConfig") -> list[str]:
    """The anonymous volumes among a container's mounts (`rm -v` removes them)."""
    names = [m.source for m in cfg.mounts if m.type == "volume" and m.source]
    return [n for n in names if _is_anonymous(engine, n)]


def _is_anonymous(engine: "Engine", name: str) -> bool:
    from ..errors import NoSuchVolume

    try:
        return engine.volumes.get(name).config.anonymous
    except NoSuchVolume:
        return False


# -- at start ----------------------------------------------------------------------


def prepare(ctr: "Container", rootfs: str, uid: int, gid: int) -> list[dict]:
    """Make every mount ready; returns the OCI mount entries, parents first.
    On failure, what was done is undone (release)."""
    try:
        return _prepare(ctr, rootfs, uid, gid)
    except BaseException:
        release(ctr)
        raise


def work_dir(ctr: "Container") -> str:
    """Where overlay and image mounts of the container are assembled."""
    return os.path.join(ctr.paths.userdata, "mounts")


def _prepare(ctr: "Container", rootfs: str, uid: int, gid: int) -> list[dict]:
    from ..storage.rootfs import open_root

    cfg = ctr.config
    out: list[dict] = []
    root_fd = open_root(rootfs)
    try:
        for i, m in enumerate(cfg.mounts):
            if m.type == "bind":
                if "U" in m.options:
                    _chown_tree(m.source, uid, gid)
                out.append(_bind(m.destination, m.source, m.options))
            elif m.type == "volume":
                vol = ctr.engine.volumes.use(m.source, ctr.id, lambda v: _fill_volume(v, m, root_fd, uid, gid))
                if "O" in m.options:
                    out.append(_overlay(ctr, i, m, vol.mountpoint))
                else:
                    out.append(_bind(m.destination, vol.mountpoint, m.options, volume=True))
            elif m.type == "overlay":
                out.append(_overlay(ctr, i, m, m.source))
            elif m.type == "image":
                out.append(_image(ctr, i, m))
            elif m.type == "tmpfs":
                out.append({"destination": m.destination, "type": "tmpfs", "source": "tmpfs", "options": list(m.options)})
            elif m.type == "devpts":
                out.append({"destination": m.destination, "type": "devpts", "source": "devpts", "options": list(m.options)})
    finally:
        os.close(root_fd)
    if cfg.read_only and cfg.fs.read_only_tmpfs:
        dests = {m["destination"] for m in out}
        for d in READ_ONLY_TMPFS:
            if d not in dests:
                out.append({"destination": d, "type": "tmpfs", "source": "tmpfs", "options": ["rw", "nosuid", "nodev"]})
    # Parents before children: a mount at /a/b must not be hidden by a later one at /a.
    return sorted(out, key=lambda m: m["destination"].rstrip("/").count("/"))


def runtime_options(options: list[str], volume: bool = False) -> list[str]:
    """A bind's options for the runtime: recursive and private unless asked
    otherwise; volumes nosuid and nodev as in podman."""
    opts = [o for o in options if o not in _NOT_FOR_RUNTIME and "=" not in o]
    if not any(o in ("bind", "rbind") for o in opts):
        opts.append("rbind")
    from ..specgen.volumes import PROPAGATIONS

    if not any(o in PROPAGATIONS for o in opts):
        opts.append("rprivate")
    if volume:
        if "suid" not in opts and "nosuid" not in opts:
            opts.append("nosuid")
        if "dev" not in opts and "nodev" not in opts:
            opts.append("nodev")
    return opts


def _bind(dest: str, source: str, options: list[str], volume: bool = False) -> dict:
    return {"destination": dest, "type": "bind", "source": source, "options": runtime_options(options, volume)}


def _fill_volume(vol, m: Mount, root_fd: int, uid: int, gid: int) -> None:
    """A volume's first use: the image's files at the destination are copied
    in (unless nocopy), and its root takes the owner and mode of that
    directory (else the container user's).  Runs under the volume's lock."""
    from ..storage import rootfs

    st = None
    res = None
    try:
        res = rootfs.lookup(root_fd, m.destination)
        if res.exists():
            st = res.lstat()
        if st is not None and stat.S_ISDIR(st.st_mode) and vol.state.needs_copy_up and "nocopy" not in m.options:
            if not os.listdir(vol.mountpoint):
                vroot = rootfs.open_root(vol.mountpoint)
                try:
                    with rootfs.TreeWriter(vroot) as writer:
                        rootfs.copy_tree(rootfs.iter_path(res, ""), writer)
                finally:
                    os.close(vroot)
                vol.state.needs_copy_up = False
    except (FileNotFoundError, NotADirectoryError):
        st = None  # the image has nothing there: nothing to copy
    finally:
        if res is not None:
            res.close()
    if vol.state.needs_chown:
        if st is not None and stat.S_ISDIR(st.st_mode):
            os.chown(vol.mountpoint, st.st_uid, st.st_gid)
            os.chmod(vol.mountpoint, stat.S_IMODE(st.st_mode))
        else:
            os.chown(vol.mountpoint, uid, gid)
        vol.state.needs_chown = False
    if "U" in m.options:
        _chown_tree(vol.mountpoint, uid, gid)


def _chown_tree(path: str, uid: int, gid: int) -> None:
    os.lchown(path, uid, gid)
    for dirpath, dirnames, filenames in walk(path):
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), uid, gid)


def _overlay(ctr: "Container", i: int, m: Mount, lower: str) -> dict:
    """`:O`: the source under a writable overlay whose changes are thrown
    away at stop (or kept in upperdir= when the user names one)."""
    from ..storage.overlay import _is_mountpoint, mount

    base = os.path.join(work_dir(ctr), str(i))
    merge = os.path.join(base, "merge")
    given = dict(o.split("=", 1) for o in m.options if o.startswith(("upperdir=", "workdir=")))
    upper = given.get("upperdir") or os.path.join(base, "upper")
    work = given.get("workdir") or os.path.join(base, "work")
    for d in (merge, upper, work):
        os.makedirs(d, mode=0o755, exist_ok=True)
    if not _is_mountpoint(merge):
        try:
            mount("overlay", merge, "overlay", 0, f"lowerdir={lower},upperdir={upper},workdir={work}")
        except OSError as e:
            raise PypodError(f"mounting overlay {lower} for {m.destination}: {e.strerror}") from None
    return _bind(m.destination, merge, [o for o in m.options if not o.startswith(("upperdir=", "workdir="))])


def _image(ctr: "Container", i: int, m: Mount) -> dict:
    from ..storage.overlay import _is_mountpoint

    image = ctr.engine.images.lookup(m.source)
    base = os.path.join(work_dir(ctr), str(i))
    merge = os.path.join(base, "merge")
    rw = "rw" in m.options
    upper, work = (os.path.join(base, "upper"), os.path.join(base, "work")) if rw else ("", "")
    for d in filter(None, (merge, upper, work)):
        os.makedirs(d, mode=0o755, exist_ok=True)
    if not _is_mountpoint(merge):
        ctr.engine.container_storage.mount_layers(image.layer_dirs, merge, upper, work, f"image {m.source[:12]} for {m.destination}")
    return _bind(m.destination, merge, [] if rw else ["ro"])


# -- at stop -----------------------------------------------------------------------


def release(ctr: "Container") -> None:
    """Undo prepare: let go of volumes, unmount and delete the assembled mounts."""
    from ..storage.overlay import _is_mountpoint, umount

    for m in ctr.config.mounts:
        if m.type == "volume" and m.source:
            ctr.engine.volumes.unmount_for(m.source, ctr.id)
    base = work_dir(ctr)
    if not os.path.isdir(base):
        return
    for name in os.listdir(base):
        merge = os.path.join(base, name, "merge")
        for _ in range(8):
            if not _is_mountpoint(merge):
                break
            try:
                umount(merge)
            except OSError as e:
                raise PypodError(f"unmounting {merge}: {e.strerror}") from None
        if _is_mountpoint(merge):
            raise PypodError(f"{merge} is still mounted")
    remove_tree(base, ignore_errors=True)  # an overlay's upper dir nests as deep as its user made it
