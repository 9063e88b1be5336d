"""`commit`: a container's changes as a new image.

The new layer is the container's writable layer (the overlay's upper dir,
its deletions as whiteouts), stacked on the image the container came from;
with squash, the whole root filesystem in one layer on no parent.  The
image config starts from the parent's and takes the container's settings
(command, entrypoint, env, labels, user, working dir, and the volumes the
user added), then the --change instructions.  Volumes and bind mounts are
not part of the container's filesystem and never enter the layer.
"""

from __future__ import annotations

import os
import stat
import tempfile

from ..errors import InvalidArgument, InvalidState
from ..failpoints import failpoint
from .container import Status

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..storage.images import Image
    from .engine import Engine
    from .lifecycle import Container


def commit(engine: "Engine", name_or_id: str, reference: str | None = None, *, changes: list[str] = (),
           message: str = "", author: str = "", pause: bool = False, squash: bool = False, fmt: str = "oci",
           include_volumes: bool = False, config: dict | None = None) -> "Image":
    """Commit the container to a new image named reference (none: unnamed).
    config (Docker's commit body: Cmd, Env, ...) replaces those keys of the
    container's before the changes apply."""
    from ..proto.image_changes import apply_changes, parse_changes
    from ..storage.commit import FORMATS, layer_from_tree, new_image
    from ..storage.images import normalize_name

    if fmt not in FORMATS:
        raise InvalidArgument(f"unrecognized image format {fmt!r}: oci or docker")
    if message and fmt != "docker":
        raise InvalidArgument("messages are only compatible with the docker image format (-f docker)")
    parsed = parse_changes(list(changes))
    names = [normalize_name(reference)] if reference else []
    ctr = engine.container(name_or_id)
    if ctr.config.rootfs:
        raise InvalidArgument(f"container {ctr.name} runs on a plain directory (--rootfs): it has no image to commit onto")
    with ctr.locked():
        ctr.sync()
        if ctr.state.status == Status.REMOVING:
            raise InvalidState(f"container {ctr.id} is being removed: container state improper")
    parent = engine.images.lookup(ctr.config.image_id)
    image_config = {**_container_config(engine, ctr, parent, include_volumes), **(config or {})}
    image_config = apply_changes(image_config, parsed)
    paused_here = False
    if pause and ctr.state.status == Status.RUNNING:
        ctr.pause()
        paused_here = True
    try:
        storage = engine.container_storage
        full = squash or getattr(storage, "full_copy", False)
        with engine.images.locked(exclusive=False):
            if full:
                from .containerfs import storage_mounted

                with storage_mounted(ctr) as merged:
                    diff_id = layer_from_tree(engine.images, merged, whiteouts=False, skip=_engine_stub)
            else:
                upper = storage.upper_dir(ctr.id)
                if os.path.isdir(upper):
                    diff_id = layer_from_tree(engine.images, upper, whiteouts=True, skip=_engine_stub)
                else:  # never mounted (created, not started): nothing changed, an empty layer
                    with tempfile.TemporaryDirectory() as empty:
                        diff_id = layer_from_tree(engine.images, empty, whiteouts=True)
            img = new_image(
                engine.images, parent, [diff_id], image_config, created_by=" ".join(ctr.config.args), names=names,
                author=author, comment=message, history_comment=message or f"FROM {_parent_name(parent)}",
                fmt=fmt, squash=full)
    finally:
        if paused_here:
            ctr.unpause()
    failpoint("commit.after-commit")
    engine.events.write("container", "commit", ctr.id, ctr.name, ctr.config.image_shown)
    return img


def _container_config(engine: "Engine", ctr: "Container", parent: "Image", include_volumes: bool) -> dict:
    """The parent's config with the container's settings in it (podman's rules)."""
    cfg = ctr.config
    out = dict(parent.config)
    out["Cmd"] = list(cfg.command)
    if cfg.entrypoint:
        out["Entrypoint"] = list(cfg.entrypoint)
    else:
        out.pop("Entrypoint", None)
    out["Env"] = list(cfg.env)
    if cfg.labels:
        out["Labels"] = dict(cfg.labels)
    if cfg.user:
        out["User"] = cfg.user
    out["WorkingDir"] = cfg.workdir or out.get("WorkingDir") or "/"
    volumes = dict(out.get("Volumes") or {})
    for dest in _user_volumes(engine, ctr, include_volumes):
        volumes[dest] = {}
    if volumes:
        out["Volumes"] = volumes
    return out


def _user_volumes(engine: "Engine", ctr: "Container", include_all: bool) -> list[str]:
    """--include-volumes: every volume and bind destination; otherwise only
    the anonymous volumes (what `-v /path` made), as podman does."""
    from .mounts import anonymous_volumes

    mounts = ctr.config.mounts
    if include_all:
        return [m.destination for m in mounts if m.type in ("volume", "bind")]
    anonymous = set(anonymous_volumes(engine, ctr.config))
    return [m.destination for m in mounts if m.type == "volume" and m.source in anonymous]


def _parent_name(parent: "Image") -> str:
    return parent.names[0] if parent.names else f"sha256:{parent.id}"


def _engine_stub(rel: str, path: str, st: os.stat_result) -> bool:
    """The empty files and directories the engine makes to mount its own
    things on (/etc/hosts, /run/.containerenv, /proc, ...) are not the
    container's changes and stay out of the layer."""
    from .containerfs import ENGINE_PATHS

    if "/" + rel not in ENGINE_PATHS:
        return False
    return (stat.S_ISREG(st.st_mode) and st.st_size == 0) or (stat.S_ISDIR(st.st_mode) and not os.listdir(path))
