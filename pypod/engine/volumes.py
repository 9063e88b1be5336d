"""Volumes: named and anonymous, with the local driver.

A volume is a directory, <root>/volumes/<name>/_data, that outlives the
containers using it.  The local driver can also back it with a filesystem
(`--opt type=tmpfs`, `type=none,o=bind,device=/path`, `type=ext4,device=/dev/x`),
mounted on _data while at least one running container uses it: the state
records which containers hold it mounted, so a cleanup that runs twice (a
crash, conmon's exit command beside a foreground `run`) never unmounts it
under another container.

Records live in their own table of the engine's database; a per-volume lock
(under the run root) orders removal against containers being created with
the volume, so a volume is never removed under a container that just
claimed it.  Crash consistency: create makes the directory before the
record (a leftover directory without a record is cleared by the next create
of that name); remove deletes the data before the record (a record whose
data is half gone is still listed and `volume rm` finishes it).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from ..errors import InvalidArgument, NoSuchVolume, PypodError, VolumeExists, VolumeInUse
from ..failpoints import failpoint
from ..record import asdict, field, fields, record
from ..storage.tree import remove_tree
from .locks import FileLock

TYPE_CHECKING = False  # typing's import costs every command milliseconds
if TYPE_CHECKING:
    from typing import Iterator

    from .container import ContainerConfig
    from .engine import Engine

_SCHEMA = """
CREATE TABLE IF NOT EXISTS volumes (
    name TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    state TEXT NOT NULL,
    created REAL NOT NULL
);
"""

#: driver options the local driver understands (keys compared lower-case)
_LOCAL_KEYS = ("type", "device", "o", "uid", "gid", "copy", "nocopy")
#: mount(2) flags that `o=` may hold; everything else is filesystem data
_FLAG_BITS = {
    "ro": 0x1, "rw": 0, "nosuid": 0x2, "suid": 0, "nodev": 0x4, "dev": 0, "noexec": 0x8, "exec": 0,
    "sync": 0x10, "async": 0, "noatime": 0x400, "nodiratime": 0x800, "relatime": 0x200000,
    "bind": 0x1000, "rbind": 0x1000 | 0x4000,
}


@record
class VolumeConfig:
    name: str
    driver: str = "local"
    labels: dict[str, str] = field(default_factory=dict)
    #: the driver options as given (type, device, o, UID, GID, ...)
    options: dict[str, str] = field(default_factory=dict)
    anonymous: bool = False
    created: float = 0.0
    #: owner of a fresh _data (o=uid=,gid= or UID=/GID=); -1: the container's user
    uid: int = -1
    gid: int = -1


@record
class VolumeState:
    #: fill from the image on first use (cleared once filled, or by nocopy)
    needs_copy_up: bool = True
    #: take the owner of the path it is mounted over on first use
    needs_chown: bool = True
    #: containers that hold its filesystem mounted (volumes with type= or device=)
    mounted_by: list[str] = field(default_factory=list)


def _from_dict(cls, d: dict):
    known = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in d.items() if k in known})


class Volume:
    def __init__(self, volumes: "Volumes", config: VolumeConfig, state: VolumeState):
        self._volumes = volumes
        self.config = config
        self.state = state

    def __repr__(self) -> str:
        return f"<Volume {self.name}>"

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def dir(self) -> str:
        return os.path.join(self._volumes.dir, self.name)

    @property
    def mountpoint(self) -> str:
        return os.path.join(self.dir, "_data")

    @property
    def needs_mount(self) -> bool:
        """Backed by a filesystem mounted on use, not just a directory."""
        keys = {k.lower() for k in self.config.options}
        return "type" in keys or "device" in keys

    def option(self, key: str) -> str | None:
        for k, v in self.config.options.items():
            if k.lower() == key:
                return v
        return None

    def inspect(self) -> dict:
        """podman volume inspect's shape."""
        from ..proto.humanize import rfc3339

        c, s = self.config, self.state
        d = {
            "Name": c.name, "Driver": c.driver, "Mountpoint": self.mountpoint, "CreatedAt": rfc3339(c.created),
            "Labels": dict(c.labels), "Scope": "local", "Options": dict(c.options),
        }
        if c.uid >= 0:
            d["UID"] = c.uid
        if c.gid >= 0:
            d["GID"] = c.gid
        if c.anonymous:
            d["Anonymous"] = True
        d["MountCount"] = len(s.mounted_by)
        if s.needs_copy_up:
            d["NeedsCopyUp"] = True
        if s.needs_chown:
            d["NeedsChown"] = True
        return d

    def size(self) -> int:
        """Bytes of content (apparent sizes), as `system df` counts it."""
        return tree_size(self.mountpoint)


def is_mounted(path: str) -> bool:
    """Whether something is mounted on path, from the mount table: a bind
    mount from the same filesystem looks like a plain directory to stat."""
    target = os.path.realpath(path)
    try:
        with open("/proc/self/mountinfo", "rb") as f:
            for line in f:
                point = line.split(b" ", 5)[4]
                if b"\\" in point:
                    point = point.decode("unicode_escape").encode("latin-1")
                if point == os.fsencode(target):
                    return True
    except OSError:
        pass
    return False


def tree_size(path: str) -> int:
    total = 0
    stack = [path]
    while stack:
        try:
            with os.scandir(stack.pop()) as it:
                for e in it:
                    try:
                        if e.is_dir(follow_symlinks=False):
                            stack.append(e.path)
                        else:
                            total += e.stat(follow_symlinks=False).st_size
                    except OSError:
                        continue
        except OSError:
            continue
    return total


def validate_volume_name(name: str) -> None:
    from .naming import validate_name

    try:
        validate_name(name, what="volume")
    except InvalidArgument:
        raise InvalidArgument("running volume create option: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: invalid argument") from None


def parse_local_options(options: dict[str, str]) -> tuple[int, int, bool]:
    """Check the local driver's options; (uid, gid, copy-up wanted).
    Bad input is refused here, before anything exists."""
    from ..specgen.units import parse_size

    uid = gid = -1
    copy = True
    lower = {k.lower(): (k, v) for k, v in options.items()}
    for key, (orig, value) in lower.items():
        if key not in _LOCAL_KEYS:
            raise InvalidArgument(f"invalid mount option {orig} for driver 'local': invalid argument")
        if key in ("uid", "gid"):
            uid, gid = (_id(value, orig), gid) if key == "uid" else (uid, _id(value, orig))
        elif key == "nocopy":
            copy = False
        elif key == "copy":
            copy = value.lower() not in ("false", "0", "no")
    fstype = lower.get("type", ("", ""))[1]
    device = lower.get("device", ("", ""))[1]
    if device and not fstype:
        raise InvalidArgument("a volume with a device needs its filesystem type (--opt type=...): invalid argument")
    for item in filter(None, lower.get("o", ("", ""))[1].split(",")):
        k, _, v = item.partition("=")
        if k == "uid":
            uid = _id(v, "o=uid")
        elif k == "gid":
            gid = _id(v, "o=gid")
        elif k == "size":
            if fstype != "tmpfs":
                raise InvalidArgument("volume option size is only supported for tmpfs volumes: invalid argument")
            if parse_size(v) <= 0:
                raise InvalidArgument(f"invalid size \"{v}\" for volume option size: invalid argument")
        elif k == "mode" and (not v or any(c not in "01234567" for c in v)):
            raise InvalidArgument(f"invalid mode \"{v}\" for volume option mode: invalid argument")
    if fstype == "none" or fstype == "bind":
        if not device.startswith("/") or not os.path.exists(device):
            raise InvalidArgument(f"bind volume device \"{device}\" must be an existing absolute path: no such file or directory")
    return uid, gid, copy


def _id(value: str, what: str) -> int:
    if not value.isdigit():
        raise InvalidArgument(f"invalid {what} value \"{value}\": must be a number: invalid argument")
    return int(value)


def mount_args(vol: Volume) -> tuple[str, str, int, str]:
    """(source, fstype, flags, data) for mount(2) of a volume's filesystem."""
    fstype = vol.option("type") or ""
    device = vol.option("device") or ""
    flags = 0
    data = []
    uid, gid = vol.config.uid, vol.config.gid
    for item in filter(None, (vol.option("o") or "").split(",")):
        k = item.partition("=")[0]
        if item in _FLAG_BITS:
            flags |= _FLAG_BITS[item]
        elif k in ("uid", "gid") and fstype != "tmpfs":
            continue  # applied by chown, not by the filesystem
        else:
            data.append(item)
    if fstype in ("none", "bind"):
        flags |= _FLAG_BITS["bind"]
        fstype = ""
    if fstype == "tmpfs":
        device = device or "tmpfs"
        if uid >= 0 and not any(d.startswith("uid=") for d in data):
            data.append(f"uid={uid}")
        if gid >= 0 and not any(d.startswith("gid=") for d in data):
            data.append(f"gid={gid}")
    return device, fstype, flags, ",".join(data)


class Volumes:
    """The engine's volumes (engine.volumes)."""

    def __init__(self, engine: "Engine"):
        from ..sqlitedb import ensure_tables

        self.engine = engine
        self.dir = engine.config.volumes_dir  # --volumepath
        self._db = engine.store.db
        ensure_tables(self._db, _SCHEMA, "volumes")

    # -- records -----------------------------------------------------------------

    def _row(self, name: str):
        return self._db.execute("SELECT config, state FROM volumes WHERE name = ?", (name,)).fetchone()

    def get(self, name: str) -> Volume:
        row = self._row(name) if name else None
        if not row:
            raise NoSuchVolume(f'no volume with name "{name}" found: no such volume')
        return Volume(self, _from_dict(VolumeConfig, json.loads(row[0])), _from_dict(VolumeState, json.loads(row[1])))

    def exists(self, name: str) -> bool:
        return bool(name) and self._row(name) is not None

    def list(self) -> list[Volume]:
        rows = self._db.execute("SELECT config, state FROM volumes ORDER BY created, name").fetchall()
        return [Volume(self, _from_dict(VolumeConfig, json.loads(c)), _from_dict(VolumeState, json.loads(s))) for c, s in rows]

    def save_state(self, vol: Volume) -> None:
        self._db.execute("UPDATE volumes SET state = ? WHERE name = ?", (json.dumps(asdict(vol.state)), vol.name))

    def lock(self, name: str) -> FileLock:
        d = self.engine.config.locks_dir
        os.makedirs(d, mode=0o700, exist_ok=True)
        # names run to 253 characters: keep the file name within NAME_MAX
        return FileLock(os.path.join(d, f"volume-{name[:200]}" + (f"-{len(name)}" if len(name) > 200 else "") + ".lock"))

    def users(self, name: str) -> list[str]:
        """IDs of the containers whose config mounts the volume (running or not)."""
        rows = self._db.execute(
            "SELECT c.id FROM containers c, json_each(c.config, '$.mounts') m "
            "WHERE json_extract(m.value, '$.type') = 'volume' AND json_extract(m.value, '$.source') = ? ORDER BY c.created",
            (name,),
        ).fetchall()
        return list(dict.fromkeys(r[0] for r in rows))

    def in_use(self) -> set[str]:
        rows = self._db.execute(
            "SELECT DISTINCT json_extract(m.value, '$.source') FROM containers c, json_each(c.config, '$.mounts') m "
            "WHERE json_extract(m.value, '$.type') = 'volume'"
        ).fetchall()
        return {r[0] for r in rows}

    # -- create ------------------------------------------------------------------

    def create(self, name: str = "", *, driver: str = "local", labels: dict | None = None, options: dict | None = None,
               anonymous: bool = False, exist_ok: bool = False) -> Volume:
        from .naming import new_id

        driver = driver or "local"
        if driver != "local":
            raise InvalidArgument(f"volume {name or '(new)'} uses volume plugin {driver} but it could not be retrieved: "
                                  f"no volume plugin with name {driver} available: required plugin missing")
        options = {str(k): str(v) for k, v in (options or {}).items()}
        labels = {str(k): str(v) for k, v in (labels or {}).items()}
        uid, gid, copy = parse_local_options(options)
        if name:
            validate_volume_name(name)
        else:
            name = new_id()
        with self.lock(name):
            if self.exists(name):
                if exist_ok:
                    return self.get(name)
                raise VolumeExists(f"volume with name {name} already exists: volume already exists")
            cfg = VolumeConfig(name=name, driver=driver, labels=labels, options=options, anonymous=anonymous,
                               created=time.time(), uid=uid, gid=gid)
            state = VolumeState(needs_copy_up=copy, needs_chown=uid < 0 and gid < 0)
            vol = Volume(self, cfg, state)
            # A directory without a record is what a crashed create or rm left: start afresh.
            remove_tree(vol.dir, ignore_errors=True)
            os.makedirs(vol.dir, mode=0o700, exist_ok=True)
            os.mkdir(vol.mountpoint, 0o755)
            if uid >= 0 or gid >= 0:
                os.chown(vol.mountpoint, uid, gid)
            failpoint("volume.create.after-dir")
            try:
                self._db.execute("INSERT INTO volumes (name, config, state, created) VALUES (?, ?, ?, ?)",
                                 (name, json.dumps(asdict(cfg)), json.dumps(asdict(state)), cfg.created))
            except Exception:
                remove_tree(vol.dir, ignore_errors=True)
                if self.exists(name):  # a racing creator won between the check and the insert
                    if exist_ok:
                        return self.get(name)
                    raise VolumeExists(f"volume with name {name} already exists: volume already exists") from None
                raise
            failpoint("volume.create.after-record")
        self.engine.events.write("volume", "create", name, name)
        return vol

    # -- removal -----------------------------------------------------------------

    def remove(self, name: str, force: bool = False, timeout: int | None = None) -> None:
        """podman volume rm: a volume containers use is refused (exit 2),
        unless force, which removes those containers first."""
        vol = self.get(name)
        users = self.users(vol.name)
        if users and not force:
            raise VolumeInUse(f"volume {vol.name} is being used by the following container(s): "
                              f"{', '.join(users)}: volume is being used")
        for cid in users:
            try:
                self.engine._load(cid).remove(force=True, timeout=timeout)
            except PypodError:
                pass  # gone meanwhile; checked again under the lock
        with self.lock(vol.name):
            if not self.exists(vol.name):
                raise NoSuchVolume(f'no volume with name "{vol.name}" found: no such volume')
            users = self.users(vol.name)
            if users:
                raise VolumeInUse(f"volume {vol.name} is being used by the following container(s): "
                                  f"{', '.join(users)}: volume is being used")
            self._remove_locked(self.get(vol.name))
        self.engine.events.write("volume", "remove", vol.name, vol.name)

    def _remove_locked(self, vol: Volume) -> None:
        if vol.needs_mount:
            self._umount(vol)
            failpoint("volume.rm.after-unmount")
        if is_mounted(vol.mountpoint):
            # rmtree would delete through the mount into what it shows
            raise PypodError(f"removing volume {vol.name}: {vol.mountpoint} is still mounted")
        remove_tree(vol.dir, ignore_errors=True)
        failpoint("volume.rm.after-data")
        self._db.execute("DELETE FROM volumes WHERE name = ?", (vol.name,))
        # held by our caller: a waiter wakes on the unlinked file and starts again
        self.lock(vol.name).unlink()

    def remove_anonymous(self, names: list[str]) -> None:
        """After `rm -v` or `--rm`: the container's anonymous volumes that no
        other container uses (--volumes-from shares them) go with it."""
        for name in names:
            try:
                with self.lock(name):
                    vol = self.get(name)
                    if not vol.config.anonymous or self.users(name):
                        continue
                    self._remove_locked(vol)
            except NoSuchVolume:
                continue
            self.engine.events.write("volume", "remove", name, name)

    def prune(self, filters: dict[str, list[str]] | None = None) -> list[tuple[str, int]]:
        """Remove every volume no container uses (and the filters match);
        returns (name, bytes reclaimed)."""
        used = self.in_use()
        out = []
        for vol in self.list():
            if vol.name in used or not matches_filters(vol, filters or {}, used, prune=True):
                continue
            size = vol.size()
            try:
                with self.lock(vol.name):
                    if self.users(vol.name) or not self.exists(vol.name):
                        continue
                    self._remove_locked(self.get(vol.name))
            except PypodError:
                continue
            self.engine.events.write("volume", "remove", vol.name, vol.name)
            out.append((vol.name, size))
        return out

    # -- containers' use -----------------------------------------------------------

    @contextlib.contextmanager
    def claim(self, cfg: "ContainerConfig") -> Iterator[None]:
        """Resolve a new container's volume mounts (create named volumes that
        do not exist yet, anonymous ones for mounts without a name) and hold
        their locks until the container is recorded; if it never is, the
        anonymous volumes made for it go again."""
        made: list[str] = []
        locks: list[FileLock] = []
        try:
            for m in cfg.mounts:
                if m.type != "volume":
                    continue
                opts, labels = _volume_opts(m)
                if not m.source:
                    vol = self.create(anonymous=True, options=opts, labels=labels)
                    m.source = vol.name
                    made.append(vol.name)
                elif not self.exists(m.source):
                    try:
                        self.create(m.source, exist_ok=True, options=opts, labels=labels)
                    except InvalidArgument as e:
                        raise InvalidArgument(f'creating named volume "{m.source}": {e}') from None
            for name in sorted({m.source for m in cfg.mounts if m.type == "volume"}):
                lock = self.lock(name)
                lock.acquire()
                locks.append(lock)
                self.get(name)  # removed between create and lock: say so now
            yield
        except BaseException:
            for lock in locks:
                lock.release()
            locks = []
            self.remove_anonymous(made)
            raise
        finally:
            for lock in locks:
                lock.release()

    def use(self, name: str, cid: str, setup=None) -> Volume:
        """A starting container takes the volume: under its lock, a volume
        backed by a filesystem is mounted (once for all its users), then
        setup(volume) runs (the first use's copy-up and chown) and the
        state is saved."""
        from ..storage.overlay import mount

        with self.lock(name):
            vol = self.get(name)
            os.makedirs(vol.mountpoint, exist_ok=True)  # a crash may have left the record without its directory
            if vol.needs_mount and not is_mounted(vol.mountpoint):
                source, fstype, flags, data = mount_args(vol)
                try:
                    mount(source, vol.mountpoint, fstype, flags, data)
                except OSError as e:
                    raise PypodError(f"mounting volume {vol.name} ({fstype or 'bind'} {source}): {e.strerror}") from None
            if vol.needs_mount and cid not in vol.state.mounted_by:
                vol.state.mounted_by.append(cid)
            if setup is not None:
                setup(vol)
            self.save_state(vol)
            return vol

    def unmount_for(self, name: str, cid: str) -> None:
        """The container is done with the volume; the last one out unmounts it."""
        try:
            with self.lock(name):
                vol = self.get(name)
                if cid in vol.state.mounted_by:
                    vol.state.mounted_by.remove(cid)
                    self.save_state(vol)
                if not vol.state.mounted_by and vol.needs_mount:
                    self._umount(vol)
        except NoSuchVolume:
            pass

    def _umount(self, vol: Volume) -> None:
        from ..storage.overlay import umount

        for _ in range(8):  # peel every mount a crash may have stacked
            if not is_mounted(vol.mountpoint):
                return
            try:
                umount(vol.mountpoint)
            except OSError as e:
                raise PypodError(f"unmounting volume {vol.name}: {e.strerror}") from None

    # -- export and import ---------------------------------------------------------

    def export(self, name: str, out) -> None:
        """The volume's content as a tar stream."""
        from ..storage import rootfs

        vol = self.get(name)
        root = rootfs.open_root(vol.mountpoint)
        try:
            with rootfs.lookup(root, "/") as res:
                rootfs.write_tar(rootfs.iter_path(res, ""), out)
        finally:
            os.close(root)

    def import_(self, name: str, src) -> None:
        """Unpack a tar stream into the volume; no entry lands outside it."""
        from ..storage import rootfs

        vol = self.get(name)
        root = rootfs.open_root(vol.mountpoint)
        try:
            with rootfs.TreeWriter(root) as writer:
                rootfs.extract_tar(src, writer)
        finally:
            os.close(root)


def _volume_opts(m) -> tuple[dict[str, str], dict[str, str]]:
    """Driver options and labels a mount asks of a volume it creates
    (--mount volume-opt=K=V,volume-label=K=V)."""
    opts: dict[str, str] = {}
    labels: dict[str, str] = {}
    for o in m.options:
        for prefix, into in (("volume-opt=", opts), ("volume-label=", labels)):
            if o.startswith(prefix):
                k, _, v = o[len(prefix):].partition("=")
                into[k] = v
    return opts, labels


def parse_filters(items: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in items:
        k, sep, v = f.partition("=")
        if not sep:
            raise InvalidArgument(f"invalid filter \"{f}\": filter must be key=value")
        out.setdefault(k, []).append(v)
    return out


def matches_filters(vol: Volume, filters: dict[str, list[str]], used: set[str], prune: bool = False) -> bool:
    """podman's volume filters: name, driver, scope, label, label!, opt,
    dangling, until (prune takes label, label! and until)."""
    from ..proto.k8s_log import parse_time

    allowed = ("label", "label!", "until") if prune else ("name", "driver", "scope", "label", "label!", "opt", "dangling", "until", "anonymous")
    for key, values in filters.items():
        if key not in allowed:
            raise InvalidArgument(f"{key} is an invalid filter")
        if key == "name":
            import re

            ok = any(re.search(v, vol.name) if _is_regex(v) else v in vol.name for v in values)
        elif key == "driver":
            ok = vol.config.driver in values
        elif key == "scope":
            ok = "local" in values
        elif key in ("label", "label!"):
            hit = any(_label_matches(vol.config.labels, v) for v in values)
            ok = hit if key == "label" else not hit
        elif key == "opt":
            ok = any(_label_matches(vol.config.options, v) for v in values)
        elif key == "dangling":
            want = [_bool_filter(v) for v in values]
            ok = all((vol.name not in used) == w for w in want)
        elif key == "anonymous":
            ok = all(vol.config.anonymous == _bool_filter(v) for v in values)
        else:  # until
            ok = all(vol.config.created < parse_time(v) / 1e9 for v in values)
        if not ok:
            return False
    return True


def _is_regex(v: str) -> bool:
    import re

    try:
        re.compile(v)
        return True
    except re.error:
        return False


def _label_matches(labels: dict[str, str], spec: str) -> bool:
    k, sep, v = spec.partition("=")
    return k in labels and (not sep or labels[k] == v)


def _bool_filter(v: str) -> bool:
    if v.lower() in ("true", "1"):
        return True
    if v.lower() in ("false", "0"):
        return False
    raise InvalidArgument(f"\"{v}\" is not a valid value for a boolean filter")
