"""Mount requests as users write them: `-v`/`--volume` and Docker's `Binds`
(SRC:DEST[:OPTIONS]), `--mount type=...,...` (and Docker's `Mounts`),
`--tmpfs DEST[:OPTIONS]` and `--volumes-from CTR[:OPTIONS]`.

Each becomes an engine Mount whose options are the user's words (ro, nocopy,
U, rshared, size=...); the engine turns them into runtime mount options
when the container starts.  Mount types:
  bind     a host path (source: absolute path)
  volume   a named volume (source: its name; "" for a new anonymous one)
  overlay  a host directory under a throw-away overlay (`:O`)
  tmpfs, devpts
  image    an image's filesystem (source: the image reference)
"""

from __future__ import annotations

import os

from ..engine.container import Mount
from ..errors import InvalidArgument

_VOLUME_FORMAT = "incorrect volume format, should be [host-dir:]ctr-dir[:option]"
_MOUNT_FORMAT = ("incorrect mount format: should be --mount type=<bind|tmpfs|volume>,[src=<host-dir|volume-name>,]"
                 "target=<ctr-dir>[,options]")

PROPAGATIONS = ("shared", "rshared", "slave", "rslave", "private", "rprivate", "unbindable", "runbindable")
#: -v options, and the group each belongs to: at most one of a group
_GROUPS = {
    "rw": "rw", "ro": "rw",
    "z": "label", "Z": "label", "O": "label",
    "exec": "exec", "noexec": "exec",
    "dev": "dev", "nodev": "dev",
    "suid": "suid", "nosuid": "suid",
    "bind": "bind", "rbind": "bind",
    "copy": "copy", "nocopy": "copy",
    "U": "chown",
    "idmap": "idmap",
    **{p: "propagation" for p in PROPAGATIONS},
}
_GROUP_WORDS = {
    "rw": "'rw' or 'ro'", "label": "'z', 'Z', or 'O'", "exec": "'exec' or 'noexec'", "dev": "'dev' or 'nodev'",
    "suid": "'suid' or 'nosuid'", "bind": "'bind' or 'rbind'", "copy": "'copy' or 'nocopy'", "chown": "'U'",
    "idmap": "'idmap'", "propagation": "'[r]shared', '[r]private', '[r]slave' or '[r]unbindable'",
}


def validate_options(opts: list[str], what: str = "volume") -> list[str]:
    """podman's ValidateVolumeOpts: known words, at most one of each group;
    `upperdir=`/`workdir=` go with O."""
    seen: dict[str, str] = {}
    for o in opts:
        key = o.partition("=")[0]
        if key in ("upperdir", "workdir"):
            if not o.partition("=")[2].startswith("/"):
                raise InvalidArgument(f"{key} must be an absolute path: \"{o}\"")
            continue
        group = _GROUPS.get(o)
        if group is None:
            raise InvalidArgument(f"invalid option type \"{o}\"")
        if group in seen:
            raise InvalidArgument(f"invalid options \"{seen[group]}, {o}\", can only specify 1 {_GROUP_WORDS[group]} option")
        seen[group] = o
    if any(o.partition("=")[0] in ("upperdir", "workdir") for o in opts):
        if "O" not in opts:
            raise InvalidArgument("upperdir and workdir options can only be used with the O (overlay) option")
        if sum(o.startswith(("upperdir=", "workdir=")) for o in opts) != 2:
            raise InvalidArgument("upperdir and workdir must be given together")
    if "idmap" in opts:
        raise InvalidArgument("idmap mounts need a user namespace for the container, which pypod does not create")
    return list(opts)


def container_dir(dest: str) -> str:
    if not dest.startswith("/"):
        raise InvalidArgument(f"invalid container path \"{dest}\", must be an absolute path")
    return os.path.normpath(dest) if dest != "/" else "/"


def parse_volume(spec: str) -> Mount:
    """-v [SRC:]DEST[:OPTIONS]; a source that is not a path names a volume."""
    parts = spec.split(":")
    if len(parts) > 3:
        raise InvalidArgument(f"{spec}: {_VOLUME_FORMAT}")
    if len(parts) == 1:
        return Mount(destination=container_dir(parts[0]), source="", type="volume")
    src, dest = parts[0], parts[1]
    if not src:
        raise InvalidArgument("host directory cannot be empty")
    dest = container_dir(dest)
    opts = validate_options([o for o in parts[2].split(",") if o] if len(parts) == 3 else [])
    if src.startswith("/") or src.startswith("."):
        src = os.path.abspath(src)
        if "nocopy" in opts or "copy" in opts:
            opts = [o for o in opts if o not in ("copy", "nocopy")]  # only volumes are filled from the image
        return Mount(destination=dest, source=src, type="overlay" if "O" in opts else "bind", options=opts)
    return Mount(destination=dest, source=src, type="volume", options=opts)


def parse_tmpfs(spec: str) -> Mount:
    """--tmpfs DEST[:OPTIONS]; podman's defaults rw,nosuid,nodev and copy-up of the image's files."""
    dest, _, raw = spec.partition(":")
    opts = [o for o in raw.split(",") if o]
    return Mount(destination=container_dir(dest), source="tmpfs", type="tmpfs",
                 options=tmpfs_options(opts, defaults=["rw", "nosuid", "nodev"]))


_TMPFS_WORDS = ("rw", "ro", "nosuid", "suid", "nodev", "dev", "noexec", "exec", "tmpcopyup", "notmpcopyup",
                "sync", "async", "noatime", "atime", "nodiratime", "diratime", "relatime", "norelatime",
                "strictatime", "nostrictatime", *PROPAGATIONS)


def tmpfs_options(opts: list[str], defaults: list[str] = ()) -> list[str]:
    """Check tmpfs options: sizes must be positive, modes octal."""
    from .units import parse_size

    out = []
    for o in opts:
        key, eq, value = o.partition("=")
        if not eq:
            if o not in _TMPFS_WORDS:
                raise InvalidArgument(f"invalid option \"{o}\" for tmpfs")
        elif key == "size":
            if value.endswith("%"):
                if not value[:-1].isdigit() or not 0 < int(value[:-1]) <= 100:
                    raise InvalidArgument(f"invalid tmpfs size \"{value}\"")
            else:
                n = parse_size(value)
                if n <= 0:
                    raise InvalidArgument(f"invalid tmpfs size \"{value}\": must be greater than 0")
                o = f"size={n}"
        elif key == "mode":
            if not value or any(c not in "01234567" for c in value) or len(value) > 4:
                raise InvalidArgument(f"invalid tmpfs mode \"{value}\": must be octal")
        elif key in ("uid", "gid", "nr_inodes", "nr_blocks"):
            if not value.isdigit():
                raise InvalidArgument(f"invalid tmpfs option \"{o}\": must be a number")
        else:
            raise InvalidArgument(f"invalid option \"{o}\" for tmpfs")
        out.append(o)
    words = {o.partition("=")[0] for o in out}
    if "tmpcopyup" not in words and "notmpcopyup" not in words:
        out.append("tmpcopyup")
    for d in defaults:
        if d not in words and not ({"ro", "rw"} & words and d in ("ro", "rw")):
            out.insert(0, d)
    return out


def _truthy(key: str, value: str | None) -> bool:
    if value is None or value == "":
        return True
    v = value.lower()
    if v in ("true", "1", "yes"):
        return True
    if v in ("false", "0", "no"):
        return False
    raise InvalidArgument(f"invalid value \"{value}\" for {key}: must be true or false")


_MOUNT_TYPES = ("bind", "volume", "tmpfs", "image", "devpts")
_COMMON_KEYS = {"src", "source", "dst", "destination", "target", "type"}
_KEYS = {
    "bind": {"ro", "readonly", "rw", "bind-propagation", "bind-nonrecursive", "relabel", "z", "Z", "U", "chown",
             "consistency", "suid", "nosuid", "dev", "nodev", "exec", "noexec", "idmap"},
    "volume": {"ro", "readonly", "rw", "volume-driver", "volume-label", "volume-nocopy", "volume-opt", "nocopy",
               "relabel", "z", "Z", "U", "chown", "consistency", "suid", "nosuid", "dev", "nodev", "exec", "noexec", "idmap"},
    "tmpfs": {"ro", "readonly", "rw", "tmpfs-size", "tmpfs-mode", "tmpcopyup", "notmpcopyup", "consistency",
              "suid", "nosuid", "dev", "nodev", "exec", "noexec"},
    "image": {"rw", "readwrite", "consistency"},
    "devpts": {"uid", "gid", "mode", "max", "consistency"},
}


def parse_mount(spec: str) -> Mount:
    """--mount type=TYPE,[src=SRC,]dst=DEST[,OPTIONS] (podman's and Docker's keys)."""
    fields: list[tuple[str, str | None]] = []
    for item in spec.split(","):
        if not item:
            continue
        k, eq, v = item.partition("=")
        fields.append((k.strip(), v if eq else None))
    kinds = [v for k, v in fields if k == "type"]
    if not kinds:
        raise InvalidArgument(_MOUNT_FORMAT)
    mtype = kinds[-1] or ""
    if mtype not in _MOUNT_TYPES:
        raise InvalidArgument(f'invalid filesystem type "{mtype}"')
    src = dest = ""
    opts: list[str] = []
    ro = rw = False
    for key, value in fields:
        if key not in _COMMON_KEYS and key not in _KEYS[mtype]:
            raise InvalidArgument(f"{key}: invalid mount option")
        if key == "type" or key == "consistency":
            continue
        if key in ("src", "source"):
            if mtype in ("tmpfs", "devpts"):
                raise InvalidArgument(f"{key}: invalid mount option for a {mtype} mount")
            src = value or ""
        elif key in ("dst", "destination", "target"):
            dest = value or ""
        elif key in ("ro", "readonly"):
            ro = _truthy(key, value)
        elif key in ("rw", "readwrite"):
            rw = _truthy(key, value)
        elif key == "bind-propagation":
            if value not in PROPAGATIONS:
                raise InvalidArgument(f"invalid bind-propagation value \"{value}\"")
            opts.append(value)
        elif key == "bind-nonrecursive":
            if _truthy(key, value):
                opts.append("bind")
        elif key == "relabel":
            if value not in ("shared", "private"):
                raise InvalidArgument(f"invalid relabel value \"{value}\": shared or private")
            opts.append("z" if value == "shared" else "Z")
        elif key in ("U", "chown"):
            if _truthy(key, value):
                opts.append("U")
        elif key in ("volume-nocopy", "nocopy"):
            if _truthy(key, value):
                opts.append("nocopy")
        elif key == "volume-driver":
            if value not in ("", "local", None):
                raise InvalidArgument(f"volume driver \"{value}\" is not available: only 'local'")
        elif key in ("volume-opt", "volume-label"):
            if not value or "=" not in value:
                raise InvalidArgument(f"{key} must be KEY=VALUE: \"{value}\"")
            opts.append(f"{key}={value}")
        elif key == "tmpfs-size":
            opts.append(f"size={value}")
        elif key == "tmpfs-mode":
            opts.append(f"mode={value}")
        elif key in ("uid", "gid", "mode", "max"):
            if not value or not value.isdigit():
                raise InvalidArgument(f"invalid {key} value \"{value}\" for a devpts mount")
            opts.append(f"{key}={value}")
        else:  # z, Z, suid, nosuid, dev, nodev, exec, noexec, tmpcopyup, notmpcopyup, idmap
            if value is not None and not _truthy(key, value):
                continue
            opts.append(key)
    if not dest:
        raise InvalidArgument(f"{mtype} mount: the destination must be given (dst=, target= or destination=)")
    dest = container_dir(dest)
    if ro and rw:
        raise InvalidArgument("cannot pass 'readonly' and 'readwrite' for one mount")
    if mtype == "bind":
        if not src:
            raise InvalidArgument("bind mount: the source must be given (src= or source=)")
        if not src.startswith("/"):
            src = os.path.abspath(src)
        opts = validate_options((["ro"] if ro else []) + opts, "bind")
        return Mount(destination=dest, source=src, type="bind", options=opts)
    if mtype == "volume":
        plain = [o for o in opts if not o.startswith(("volume-opt=", "volume-label="))]
        validate_options((["ro"] if ro else []) + plain)
        return Mount(destination=dest, source=src, type="volume", options=(["ro"] if ro else []) + opts)
    if mtype == "tmpfs":
        return Mount(destination=dest, source="tmpfs", type="tmpfs",
                     options=tmpfs_options((["ro"] if ro else []) + opts, defaults=["rw", "nosuid", "nodev"]))
    if mtype == "image":
        if not src:
            raise InvalidArgument("image mount: the source image must be given (src= or source=)")
        return Mount(destination=dest, source=src, type="image", options=["rw"] if rw else ["ro"])
    return Mount(destination=dest, source="devpts", type="devpts", options=opts)


def parse_volumes_from(spec: str) -> tuple[str, list[str]]:
    """--volumes-from CTR[:ro|rw|z|Z]: (container, options)."""
    ctr, _, raw = spec.partition(":")
    if not ctr:
        raise InvalidArgument(f"invalid --volumes-from \"{spec}\": a container name or ID is required")
    opts = [o for o in raw.split(",") if o]
    for o in opts:
        if o not in ("ro", "rw", "z", "Z"):
            raise InvalidArgument(f"invalid options \"{raw}\" for --volumes-from: only ro, rw, z and Z")
    if "ro" in opts and "rw" in opts:
        raise InvalidArgument(f"invalid options \"{raw}\" for --volumes-from: ro and rw together")
    return ctr, opts


def docker_mount(m: dict) -> Mount:
    """One entry of Docker's HostConfig.Mounts."""
    if not isinstance(m, dict):
        raise InvalidArgument("HostConfig.Mounts entries must be objects")
    mtype = m.get("Type") or ""
    target = m.get("Target") or ""
    if not isinstance(mtype, str) or mtype not in ("bind", "volume", "tmpfs"):
        raise InvalidArgument(f"HostConfig.Mounts: mount type \"{mtype}\" is not supported (bind, volume or tmpfs)")
    if not isinstance(target, str) or not target:
        raise InvalidArgument("HostConfig.Mounts: Target is required")
    src = m.get("Source") or ""
    if not isinstance(src, str):
        raise InvalidArgument("HostConfig.Mounts: Source must be a string")
    fields = [f"type={mtype}", f"dst={target}"]
    if src:
        fields.append(f"src={src}")
    if m.get("ReadOnly"):
        fields.append("ro")
    bind = m.get("BindOptions") or {}
    if bind.get("Propagation"):
        fields.append(f"bind-propagation={bind['Propagation']}")
    if bind.get("NonRecursive"):
        fields.append("bind-nonrecursive")
    vol = m.get("VolumeOptions") or {}
    if vol.get("NoCopy"):
        fields.append("volume-nocopy")
    driver = (vol.get("DriverConfig") or {}).get("Name") or ""
    if driver:
        fields.append(f"volume-driver={driver}")
    for k, v in ((vol.get("DriverConfig") or {}).get("Options") or {}).items():
        fields.append(f"volume-opt={k}={v}")
    for k, v in (vol.get("Labels") or {}).items():
        fields.append(f"volume-label={k}={v}")
    tmpfs = m.get("TmpfsOptions") or {}
    if tmpfs.get("SizeBytes"):
        fields.append(f"tmpfs-size={int(tmpfs['SizeBytes'])}")
    if tmpfs.get("Mode"):
        fields.append(f"tmpfs-mode={int(tmpfs['Mode']):o}")
    if any("," in f for f in fields):
        raise InvalidArgument("HostConfig.Mounts: values may not contain commas")
    return parse_mount(",".join(fields))
