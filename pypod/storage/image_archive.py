"""Image archives: docker-archive (`docker save`'s layout) and oci-archive
(an OCI image layout in a tar), read by `load` and written by `save`.

Loading goes through the store's own way of adding layers and images, so an
archive's blobs are verified and its layers shared by diff ID like any other.
"""

from __future__ import annotations

import json
import os
from typing import BinaryIO

from ..errors import InvalidArgument, NoSuchImage
from ..failpoints import failpoint
from .images import (
    CONTAINERD_NAME_ANNOTATION,
    HEX_RE,
    OCI_MANIFEST,
    REF_NAME_ANNOTATION,
    TAG_RE,
    Image,
    ImageStore,
    docker_normalize,
    host_arch,
    split_reference,
)
from .layers import PLAIN, decompressed_size, open_decompressed

# -- load ---------------------------------------------------------------------------


def load(store: ImageStore, src: str | os.PathLike | BinaryIO) -> list[str]:
    """Load a docker-archive or an oci-archive (plain or compressed, path
    or stream); returns the names loaded, or "sha256:<id>" for unnamed images."""
    import shutil
    import tarfile
    import tempfile

    from .archive import CheckedTarInfo, check_complete, decompression_errors

    with store.locked(exclusive=False):  # before the spool: a sweep must not take it
        spool = None
        if not isinstance(src, (str, os.PathLike)):
            # tar members are read out of order: a stream has to be spooled first.
            fd, spool = tempfile.mkstemp(dir=store.dir, prefix=".load-")
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
            src = spool
        try:
            try:
                tar = tarfile.open(src, "r:*", tarinfo=CheckedTarInfo)
            except (tarfile.TarError, *decompression_errors()) as e:
                raise InvalidArgument("payload does not match any of the supported image formats "
                                      f"(oci-archive, docker-archive): {e}") from None
            with tar:
                try:
                    members = {_member_name(m.name): m for m in tar.getmembers()}
                    check_complete(tar, "image archive")
                    if "manifest.json" in members:
                        return _load_docker(store, tar, members)
                    if "index.json" in members:
                        return _load_oci(store, tar, members)
                except (tarfile.TarError, *decompression_errors()) as e:
                    raise InvalidArgument(f"reading image archive: {e}") from None
                raise InvalidArgument("payload does not match any of the supported image formats (oci-archive, docker-archive)")
        finally:
            if spool:
                os.unlink(spool)

def _member(tar, members: dict, name: str):
    m = members.get(_member_name(name))
    seen = 0
    while m is not None and m.issym() and seen < 8:
        # docker save links a layer it already wrote: "<id>/layer.tar -> ../<other>/layer.tar"
        target = os.path.normpath(os.path.join(os.path.dirname(m.name), m.linkname))
        m = members.get(_member_name(target))
        seen += 1
    if m is not None and m.islnk():
        m = members.get(_member_name(m.linkname))
    if m is None or not m.isreg():
        raise InvalidArgument(f"image archive is missing {name}")
    return tar.extractfile(m)

def _member_json(tar, members: dict, name: str):
    return _json_doc(_member(tar, members, name).read(), name)

def _load_docker(store, tar, members: dict) -> list[str]:
    manifest = _checked(DOCKER_MANIFEST, _member_json(tar, members, "manifest.json"), "manifest.json")
    loaded = []
    for entry in manifest:
        config = _member(tar, members, entry["Config"]).read()
        diff_ids = _config_diff_ids(config, entry["Config"])
        paths = entry.get("Layers") or []
        if len(diff_ids) != len(paths):
            raise InvalidArgument("docker-archive manifest and image config disagree on the layers")
        for path, diff_id in zip(paths, diff_ids):
            layer = _member(tar, members, path)  # in the archive, whether or not the store has it
            if not store.layer_present(diff_id):
                store.add_layer(layer, diff_id, path)
        names = [docker_normalize(t) for t in entry.get("RepoTags") or []]
        img = store.register(config, names)
        failpoint("load.after-image")
        loaded += names or [f"sha256:{img.id}"]
    return loaded

def _load_oci(store, tar, members: dict) -> list[str]:
    index = _checked(OCI_INDEX, _member_json(tar, members, "index.json"), "index.json")
    loaded = []
    for desc, name in _oci_manifests(tar, members, index, None):
        manifest_bytes = _blob_member(tar, members, desc).read()
        _verify(manifest_bytes, desc)
        what = f"manifest {desc['digest']}"
        manifest = _checked(OCI_IMAGE_MANIFEST, _json_doc(manifest_bytes, what), what)
        config = _blob_member(tar, members, manifest["config"]).read()
        _verify(config, manifest["config"])
        diff_ids = _config_diff_ids(config, manifest["config"]["digest"])
        layers = manifest.get("layers") or []
        if len(diff_ids) != len(layers):
            raise InvalidArgument("oci-archive manifest and image config disagree on the layers")
        for layer, diff_id in zip(layers, diff_ids):
            # Every layer the manifest names must be in the archive, even one
            # the store already has under the config's diff id.
            blob = _blob_member(tar, members, layer)
            if not store.layer_present(diff_id):
                store.add_layer(blob, diff_id, layer["digest"], expected_blob=layer["digest"].split(":", 1)[1])
        names = [name] if name else []
        img = store.register(config, names, manifest_bytes)
        failpoint("load.after-image")
        loaded += names or [f"sha256:{img.id}"]
    return loaded

def _oci_manifests(tar, members: dict, index: dict, name: str | None, depth: int = 0) -> list[tuple[dict, str | None]]:
    """(manifest descriptor, name) for each image an index holds; of a
    multi-platform index, only the manifest for this machine."""
    if depth > 8:
        raise InvalidArgument("the image archive's indexes nest too deeply")
    out = []
    for d in index.get("manifests") or []:
        annotations = d.get("annotations") or {}
        dname = _oci_ref_name(annotations) or name
        media = d.get("mediaType") or ""
        if media.endswith("image.index.v1+json") or media.endswith("manifest.list.v2+json"):
            what = f"index {d['digest']}"
            nested = _checked(OCI_INDEX, _json_doc(_blob_member(tar, members, d).read(), what), what)
            out += _oci_manifests(tar, members, nested, dname, depth + 1)
            continue
        platform = d.get("platform")
        if platform and (platform.get("architecture") != host_arch() or platform.get("os", "linux") != "linux"):
            continue
        out.append((d, dname))
    if not out and index.get("manifests"):
        raise InvalidArgument(f"the image archive has no image for linux/{host_arch()}")
    return out

def _blob_member(tar, members: dict, desc: dict):
    return _member(tar, members, _blob_path(desc))

# -- save -------------------------------------------------------------------------------


def save(store: ImageStore, refs: list[str], dest: str | os.PathLike | BinaryIO, fmt: str = "docker-archive", *,
         extra_names: list[str] = (), compress_oci: bool = False) -> None:
    """Write the images as a docker-archive (for `docker load` and `podman load`) or an oci-archive.

    extra_names: more names the first image carries in the archive (podman's
    `save IMAGE NAME...` without -m); compress_oci: gzip the layers stored
    uncompressed when writing OCI (podman does unless --uncompressed)."""
    import tarfile

    if fmt not in ("docker-archive", "oci-archive"):
        raise InvalidArgument(f"unknown format {fmt!r}: use docker-archive or oci-archive")
    if not refs:
        raise InvalidArgument("no image names or IDs specified")
    images = []
    for ref in refs:
        iid, by_name = store.find(ref)
        img = store.get(iid)
        if img is None:
            raise NoSuchImage(f"{ref}: image not known")
        images.append((img, by_name))
    if extra_names and images:
        from .images import normalize_name

        images += [(images[0][0], normalize_name(n)) for n in extra_names]
    import contextlib

    out = open(dest, "wb") if isinstance(dest, (str, os.PathLike)) else dest
    # gzipping writes temporary files in the store: hold the lock a sweep of leftovers waits for
    held = store.locked(exclusive=False) if compress_oci else contextlib.nullcontext()
    try:
        with held, tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            if fmt == "docker-archive":
                _save_docker(store, tar, images)
            else:
                _save_oci(store, tar, images, compress_oci)
    finally:
        if out is not dest:
            out.close()

def _add(tar, name: str, data: bytes | None = None, path: str | None = None, fileobj=None, size: int = 0,
         kind: bytes = b"0") -> None:
    import io
    import tarfile

    info = tarfile.TarInfo(name)
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    info.mtime = 0  # a saved archive depends on the images, not on when it was written
    info.type = kind
    if data is not None:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    elif path is not None:
        info.size = os.path.getsize(path)
        with open(path, "rb") as f:
            tar.addfile(info, f)
    elif fileobj is not None:
        info.size = size
        with fileobj:
            tar.addfile(info, fileobj)
    else:
        tar.addfile(info)

def _save_docker(store, tar, images: list[tuple[Image, str | None]]) -> None:
    import tarfile

    manifest: list[dict] = []
    by_id: dict[str, dict] = {}
    repos: dict[str, dict[str, str]] = {}
    written: set[str] = set()
    for img, by_name in images:
        # Named: that name, as podman writes it; by id: every name it has.
        tags = [by_name] if by_name else list(img.names)
        if img.id in by_id:
            by_id[img.id]["RepoTags"] += [t for t in tags if t not in by_id[img.id]["RepoTags"]]
            continue
        _add(tar, f"{img.id}.json", path=store.blob_path(img.id))
        layer_paths = []
        for d in img.layers:
            hexd = d.split(":", 1)[1]
            path = f"{hexd}/layer.tar"
            if hexd not in written:
                _add(tar, f"{hexd}/", kind=tarfile.DIRTYPE)
                _add(tar, f"{hexd}/VERSION", data=b"1.0")
                blob, compression = store.layer_blob(d)
                blob_path = store.blob_path(blob)
                if compression == PLAIN:
                    _add(tar, path, path=blob_path)
                else:
                    # docker-archive layers are plain tars; the size goes in the header first.
                    size = decompressed_size(blob_path, compression)
                    _add(tar, path, fileobj=open_decompressed(blob_path, compression), size=size)
                written.add(hexd)
            layer_paths.append(path)
        entry = {"Config": f"{img.id}.json", "RepoTags": tags, "Layers": layer_paths}
        by_id[img.id] = entry
        manifest.append(entry)
    for entry in manifest:
        top = entry["Layers"][-1].split("/", 1)[0] if entry["Layers"] else entry["Config"][:-5]
        for t in entry["RepoTags"]:
            repo, tag = split_reference(t)
            repos.setdefault(repo, {})[tag] = top
    _add(tar, "manifest.json", data=json.dumps(manifest, separators=(",", ":")).encode())
    _add(tar, "repositories", data=json.dumps(repos, separators=(",", ":")).encode())

def _save_oci(store, tar, images: list[tuple[Image, str | None]], compress: bool = False) -> None:
    import hashlib

    _add(tar, "oci-layout", data=b'{"imageLayoutVersion":"1.0.0"}')
    written: set[str] = set()
    index: list[dict] = []
    gzipped: dict[str, tuple[str, str]] = {}  # plain blob hex -> (gzip temp file, its hex)

    def blob(hexd: str, data: bytes | None = None) -> None:
        if hexd not in written:
            if data is None:
                temps = {ghex: path for path, ghex in gzipped.values()}
                _add(tar, f"blobs/sha256/{hexd}", path=temps.get(hexd) or store.blob_path(hexd))
            else:
                _add(tar, f"blobs/sha256/{hexd}", data=data)
            written.add(hexd)

    try:
        for img, by_name in images:
            manifest = store.stored_manifest(img)
            if manifest is None:
                manifest = store.manifest_for(img.id, img.layers)
            if compress:
                manifest = _gzip_plain_layers(store, manifest, gzipped)
            mhex = hashlib.sha256(manifest).hexdigest()
            blob(img.id)
            for layer in json.loads(manifest)["layers"]:
                blob(layer["digest"].split(":", 1)[1])
            blob(mhex, manifest)
            for name in ([by_name] if by_name else img.names) or [None]:
                desc = {"mediaType": OCI_MANIFEST, "digest": f"sha256:{mhex}", "size": len(manifest)}
                if name:
                    desc["annotations"] = {REF_NAME_ANNOTATION: name}
                index.append(desc)
        _add(tar, "index.json", data=json.dumps({"schemaVersion": 2, "manifests": index}, separators=(",", ":")).encode())
    finally:
        for path, _hexd in gzipped.values():
            os.unlink(path)


def _gzip_plain_layers(store, manifest: bytes, gzipped: dict) -> bytes:
    """The manifest with each uncompressed layer replaced by a gzip of it
    (written once to a temp file under the store, removed after the save)."""
    import gzip
    import hashlib
    import shutil
    import tempfile

    doc = json.loads(manifest)
    changed = False
    for layer in doc.get("layers") or []:
        media = layer.get("mediaType") or ""
        hexd = layer["digest"].split(":", 1)[1]
        if not media.endswith(".tar") and hexd not in gzipped:
            continue
        if hexd not in gzipped:
            fd, tmp = tempfile.mkstemp(dir=store.dir, prefix=".save-gz-")  # a crash's is swept as a leftover
            with os.fdopen(fd, "wb") as out, open(store.blob_path(hexd), "rb") as src:
                with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
                    shutil.copyfileobj(src, gz, 1 << 20)
            digest = hashlib.sha256()
            with open(tmp, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk)
            gzipped[hexd] = (tmp, digest.hexdigest())
        tmp, ghex = gzipped[hexd]
        layer.update({"mediaType": OCI_MANIFEST.replace("manifest.v1+json", "layer.v1.tar+gzip"),
                      "digest": f"sha256:{ghex}", "size": os.path.getsize(tmp)})
        changed = True
    return json.dumps(doc, separators=(",", ":")).encode() if changed else manifest


# -- helpers ---------------------------------------------------------------------------


def _oci_ref_name(annotations: dict) -> str | None:
    """An index entry's image name.  The OCI annotation may be a full
    reference or (as skopeo and buildah write it) just a tag, which names
    nothing on its own; containerd's annotation is always a full name."""
    for key in (CONTAINERD_NAME_ANNOTATION, REF_NAME_ANNOTATION):
        ref = annotations.get(key) or ""
        if "/" in ref or (":" in ref and not TAG_RE.match(ref)):
            try:
                return docker_normalize(ref)
            except InvalidArgument:
                continue
    return None
def _member_name(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name.lstrip("/")
def _blob_path(desc: dict) -> str:
    digest = desc.get("digest", "") if isinstance(desc, dict) else ""
    algo, _, hexd = digest.partition(":")
    if algo != "sha256" or len(hexd) != 64 or not HEX_RE.match(hexd):
        raise InvalidArgument(f"invalid digest {digest!r} in the image archive")
    return f"blobs/sha256/{hexd}"
def _verify(data: bytes, desc: dict) -> None:
    import hashlib

    if f"sha256:{hashlib.sha256(data).hexdigest()}" != desc.get("digest"):
        raise InvalidArgument(f"blob {desc.get('digest')} of the image archive does not match its digest")


# -- archive documents: their shapes checked before anything reads a field -----------


def _archive_shapes():
    from ..proto.jsonshape import Anything, Int, List, Map, Obj, Str, Strs

    desc = Obj({"mediaType": Str(256), "digest": Str(256), "size": Int(0),
                "annotations": Map(Str()), "platform": Obj({"architecture": Str(64), "os": Str(64)})},
               required=("digest",))
    return (
        List(Obj({"Config": Str(4096), "RepoTags": Strs(), "Layers": Strs()}, required=("Config",)), max_items=4096),
        Obj({"manifests": List(desc, max_items=4096)}),
        Obj({"config": desc, "layers": List(desc, max_items=4096), "annotations": Anything()}, required=("config",)),
        Obj({"rootfs": Obj({"diff_ids": Strs(4096)})}),
    )


DOCKER_MANIFEST, OCI_INDEX, OCI_IMAGE_MANIFEST, IMAGE_CONFIG = _archive_shapes()


def _checked(schema, doc, what: str):
    from ..proto.jsonshape import check

    return check(schema, doc, f"{what} in the image archive")


def _json_doc(data: bytes, what: str):
    from ..proto.jsonshape import parse_json

    return parse_json(data, f"{what} of the image archive")


def _config_diff_ids(config: bytes, what: str) -> list[str]:
    """The layers an image config lists (its rootfs.diff_ids), checked."""
    doc = _checked(IMAGE_CONFIG, _json_doc(config, f"image config {what}"), f"image config {what}")
    diff_ids = list((doc.get("rootfs") or {}).get("diff_ids") or [])
    for d in diff_ids:
        if not (d.startswith("sha256:") and len(d) == 71 and HEX_RE.match(d[7:])):
            raise InvalidArgument(f"invalid image config {what} in the image archive: {d!r} is not a sha256 digest")
    return diff_ids
