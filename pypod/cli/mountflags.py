"""The storage flags of `run` and `create` (-v, --mount, --tmpfs,
--volumes-from, --image-volume, --read-only-tmpfs) and what they set on a
ContainerConfig; runflags.py calls these two functions."""

from __future__ import annotations

from ..engine.container import ContainerConfig
from ..errors import InvalidArgument


def add_mount_flags(g) -> None:
    g.add_argument("-v", "--volume", action="append", default=[], help="bind mount a host path or a volume ([SRC:]DEST[:OPTS])")
    g.add_argument("--mount", action="append", default=[], help="attach a mount: type=bind|volume|tmpfs|image|devpts,src=,dst=,...")
    g.add_argument("--tmpfs", action="append", default=[], help="mount a tmpfs (DEST[:OPTS])")
    g.add_argument("--volumes-from", action="append", default=[], help="mount the volumes of another container (CTR[:ro|rw])")
    g.add_argument("--image-volume", default="bind", choices=("bind", "tmpfs", "ignore"), help="what an image's VOLUMEs become")
    g.add_argument("--read-only-tmpfs", nargs="?", const="true", default="true",
                   help="with --read-only, tmpfs on /run, /tmp and /var/tmp (default true)")


def apply_mount_flags(a, cfg: ContainerConfig) -> None:
    from ..specgen.volumes import parse_mount, parse_tmpfs, parse_volume, parse_volumes_from

    cfg.mounts = [parse_volume(v) for v in a.volume] + [parse_mount(m) for m in a.mount] + [parse_tmpfs(t) for t in a.tmpfs]
    for spec in a.volumes_from:
        parse_volumes_from(spec)
    cfg.fs.volumes_from = list(a.volumes_from)
    cfg.fs.image_volume = a.image_volume
    value = a.read_only_tmpfs.lower()
    if value not in ("true", "false", "1", "0"):
        raise InvalidArgument(f"invalid value {a.read_only_tmpfs!r} for --read-only-tmpfs: true or false")
    cfg.fs.read_only_tmpfs = value in ("true", "1")
