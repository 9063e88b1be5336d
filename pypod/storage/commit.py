"""A new image from a directory tree: the step `commit` takes (and `build`
after each instruction that changes files).

layer_from_tree turns a tree into a layer in the store: an overlay upper
dir, whose whiteouts and opaque directories become OCI .wh. entries (the
layer that diff shows), or a whole root filesystem (a squashed image).  The
tar is streamed through a pipe into ImageStore.add_layer, so nothing the
size of the layer is held in memory or written twice.

new_image writes the image config on top of a parent image (or none): its
layers plus the new ones, its history plus one entry, and registers it.
"""

from __future__ import annotations

import json
import os
import threading

from ..errors import InvalidArgument, PypodError
from ..failpoints import failpoint

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import BinaryIO, Callable

    from .images import Image, ImageStore

#: image formats: the manifest written for the new image
FORMATS = ("oci", "docker")
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"


def layer_from_tree(store: "ImageStore", top: str, *, whiteouts: bool,
                    skip: "Callable[[str, str, os.stat_result], bool] | None" = None) -> str:
    """Add top's tree to the store as a layer; returns its diff ID.  skip
    (path relative to top, full path, lstat) leaves entries out.  Call with the
    store's lock held (shared)."""
    from .archive import create_tar

    diff_id = layer_from_stream(store, lambda out: create_tar(top, out, whiteouts=whiteouts, skip=skip),
                                f"from {top}", f"reading {top} for a new layer")
    failpoint("commit.after-layer")
    return diff_id


def layer_from_stream(store: "ImageStore", produce: "Callable[[BinaryIO], None]", what: str, failing: str) -> str:
    """A layer whose tar produce(out) writes, streamed through a pipe into
    ImageStore.add_layer (what names it there); an error of produce's is
    reported after `failing`.  Call with the store's lock held (shared)."""
    failed: list[BaseException] = []
    r, w = os.pipe()

    def run() -> None:
        try:
            with os.fdopen(w, "wb", buffering=1 << 20) as out:
                produce(out)
        except BrokenPipeError:
            pass  # the reader gave up; its error is the one to report
        except BaseException as e:  # noqa: BLE001 - handed to the caller's thread
            failed.append(e)

    producer = threading.Thread(target=run, name="layer-tar", daemon=True)
    producer.start()
    try:
        with os.fdopen(r, "rb", buffering=1 << 20) as src:
            diff_id = store.add_layer(src, None, what)
    finally:
        producer.join()
    if failed:
        e = failed[0]
        raise PypodError(f"{failing}: {getattr(e, 'strerror', None) or e}") from None
    return diff_id


def new_image(store: "ImageStore", parent: "Image | None", diff_ids: list[str], config: dict, *,
              created_by: str, names: list[str] = (), author: str = "", comment: str = "",
              history_comment: str = "", fmt: str = "oci", squash: bool = False) -> "Image":
    """Register an image: parent's layers (none when squash: the new layer
    holds everything) and diff_ids, config as its "config" object."""
    from .images import _now, host_arch

    if fmt not in FORMATS:
        raise InvalidArgument(f"unrecognized image type {fmt!r}: use oci or docker")
    when = _now()
    layers = [] if squash or parent is None else list(parent.layers)
    history = [] if squash or parent is None else [dict(h) for h in parent.history]
    entry = {"created": when, "created_by": created_by}
    if author:
        entry["author"] = author
    if history_comment:
        entry["comment"] = history_comment
    if not diff_ids:
        entry["empty_layer"] = True
    history.append(entry)
    doc = {
        "created": when,
        "architecture": parent.architecture if parent else host_arch(),
        "os": parent.os if parent else "linux",
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": [*layers, *diff_ids]},
        "history": history,
    }
    if author:
        doc["author"] = author
    if comment:
        doc["comment"] = comment
    config_bytes = json.dumps(doc, sort_keys=True).encode()
    manifest = _docker_manifest(store, config_bytes, doc["rootfs"]["diff_ids"]) if fmt == "docker" else None
    img = store.register(config_bytes, list(names), manifest)
    failpoint("commit.after-image")
    return img


def _docker_manifest(store: "ImageStore", config_bytes: bytes, diff_ids: list[str]) -> bytes:
    """A Docker schema 2 manifest for the image (what `--format docker` asks for)."""
    import hashlib

    from .layers import GZIP, PLAIN

    layers = []
    for d in diff_ids:
        blob, compression = store.layer_blob(d)
        if compression not in (PLAIN, GZIP):
            raise InvalidArgument(f"layer {d} is compressed in a way the docker image format cannot name: use --format oci")
        media = DOCKER_LAYER + (".gzip" if compression == GZIP else "")
        layers.append({"mediaType": media, "digest": f"sha256:{blob}", "size": os.path.getsize(store.blob_path(blob))})
    return json.dumps({
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": DOCKER_CONFIG, "digest": "sha256:" + hashlib.sha256(config_bytes).hexdigest(),
                   "size": len(config_bytes)},
        "layers": layers,
    }, sort_keys=True, separators=(",", ":")).encode()
