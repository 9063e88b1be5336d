"""Images as directories: oci-dir (an OCI image layout, the "oci:"
transport) and docker-dir (containers/image's "dir:" transport: a Docker
v2 schema 2 manifest, blobs named by their hex digest, a version file), for
`save --format oci-dir|docker-dir` and `load` of either.

An OCI layout in a directory is the same as in an oci-archive, so it goes
through the archive code (tarred into a spool to load, written as an
archive and unpacked to save); the dir transport has a loader and a writer
of its own.
"""

from __future__ import annotations

import json
import os

from ..errors import InvalidArgument, NoSuchImage

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .images import ImageStore

DIR_VERSION = b"Directory Transport Version: 1.1\n"
V2S2_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
V2S2_CONFIG = "application/vnd.docker.container.image.v1+json"
V2S2_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
V2S2_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def kind_of(path: str) -> str:
    """"oci-dir", "docker-dir", or "" for something that is not an image directory."""
    if os.path.isfile(os.path.join(path, "oci-layout")) and os.path.isfile(os.path.join(path, "index.json")):
        return "oci-dir"
    if os.path.isfile(os.path.join(path, "manifest.json")) and os.path.isfile(os.path.join(path, "version")):
        return "docker-dir"
    return ""


def load_dir(store: "ImageStore", path: str) -> list[str]:
    kind = kind_of(path)
    if kind == "oci-dir":
        return _load_oci_dir(store, path)
    if kind == "docker-dir":
        return _load_docker_dir(store, path)
    raise InvalidArgument(f"{path}: payload does not match any of the supported image formats "
                          "(oci-archive, oci-dir, docker-archive, docker-dir)")


def _load_oci_dir(store: "ImageStore", path: str) -> list[str]:
    """Tar the layout into a spool and load that as an oci-archive (the
    files are only read, never followed out of the directory)."""
    import tarfile
    import tempfile

    from .image_archive import load

    with store.locked(exclusive=False):  # before the spool: a sweep of leftovers must not take it
        fd, spool = tempfile.mkstemp(dir=store.dir, prefix=".load-dir-")
        try:
            with os.fdopen(fd, "wb") as out, tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                for name in ("oci-layout", "index.json"):
                    tar.add(_regular(path, name), arcname=name, recursive=False)
                blobs = os.path.join(path, "blobs", "sha256")
                for hexd in sorted(os.listdir(blobs)) if os.path.isdir(blobs) else []:
                    tar.add(_regular(path, f"blobs/sha256/{hexd}"), arcname=f"blobs/sha256/{hexd}", recursive=False)
            loaded = load(store, spool)
        finally:
            os.unlink(spool)
    # An image the layout does not name is named after the directory, as podman names it.
    out = []
    for name in loaded:
        if name.startswith("sha256:"):
            try:
                from .images import normalize_name

                named = normalize_name("localhost" + os.path.abspath(path).lower())
                store.tag(name[7:], named)
                name = named
            except InvalidArgument:
                pass  # a path that is no image name keeps it unnamed
        out.append(name)
    return out


def _regular(root: str, rel: str) -> str:
    """root/rel, which must be a regular file inside root (no link anywhere)."""
    path = os.path.join(root, rel)
    real = os.path.realpath(path)
    if os.path.islink(path) or not real.startswith(os.path.realpath(root) + os.sep) or not os.path.isfile(real):
        raise InvalidArgument(f"image directory: {rel} is not a regular file inside {root}")
    return path


def _load_docker_dir(store: "ImageStore", path: str) -> list[str]:
    import hashlib

    with open(_regular(path, "version"), "rb") as f:
        if not f.read().startswith(b"Directory Transport Version: 1."):
            raise InvalidArgument(f"{path}: unsupported dir transport version")
    with open(_regular(path, "manifest.json"), "rb") as f:
        manifest_bytes = f.read()
    try:
        manifest = json.loads(manifest_bytes)
        config_digest = manifest["config"]["digest"]
        layers = [(d["digest"], d.get("mediaType", "")) for d in manifest.get("layers") or []]
    except (ValueError, KeyError, TypeError):
        raise InvalidArgument(f"{path}/manifest.json: not an image manifest") from None

    def blob(digest: str) -> str:
        algo, _, hexd = str(digest).partition(":")
        if algo != "sha256" or len(hexd) != 64 or not all(c in "0123456789abcdef" for c in hexd):
            raise InvalidArgument(f"{path}: invalid digest {digest!r}")
        return _regular(path, hexd)

    with open(blob(config_digest), "rb") as f:
        config = f.read()
    if "sha256:" + hashlib.sha256(config).hexdigest() != config_digest:
        raise InvalidArgument(f"{path}: the image config does not match its digest")
    try:
        diff_ids = json.loads(config)["rootfs"]["diff_ids"]
    except (ValueError, KeyError, TypeError):
        raise InvalidArgument(f"{path}: the image config lists no layers") from None
    if len(diff_ids) != len(layers):
        raise InvalidArgument(f"{path}: the manifest and the image config disagree on the layers")
    for (digest, _media), diff_id in zip(layers, diff_ids):
        if not store.layer_present(diff_id):
            with open(blob(digest), "rb") as f:
                store.add_layer(f, diff_id, digest, expected_blob=digest.split(":", 1)[1])
    img = store.register(config, [])  # the dir transport carries no name: podman loads it unnamed too
    return [f"sha256:{img.id}"]


def save_oci_dir(store: "ImageStore", refs: list[str], dest: str, compress: bool = True) -> None:
    """An OCI layout in dest: written as an oci-archive, then unpacked."""


    os.makedirs(dest, exist_ok=True)
    with store.locked(exclusive=False):
        _save_oci_dir(store, refs, dest, compress)


def _save_oci_dir(store: "ImageStore", refs: list[str], dest: str, compress: bool) -> None:
    import tarfile
    import tempfile

    from .image_archive import save

    fd, spool = tempfile.mkstemp(dir=store.dir, prefix=".save-dir-")
    os.close(fd)
    try:
        save(store, refs, spool, "oci-archive", compress_oci=compress)
        with tarfile.open(spool) as tar:
            for m in tar.getmembers():
                if not m.isreg() or ".." in m.name.split("/") or m.name.startswith("/"):
                    continue  # only what save wrote: plain files at plain paths
                target = os.path.join(dest, m.name)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with tar.extractfile(m) as src, open(target, "wb") as out:
                    import shutil

                    shutil.copyfileobj(src, out, 1 << 20)
    finally:
        os.unlink(spool)


def save_docker_dir(store: "ImageStore", ref: str, dest: str, compress: bool = False) -> None:
    """The dir transport: a v2s2 manifest, blobs by hex digest; layers as
    stored, gzipped first with compress."""
    import gzip
    import hashlib
    import shutil

    from .layers import GZIP, PLAIN, open_decompressed

    iid, _name = store.find(ref)
    img = store.get(iid)
    if img is None:
        raise NoSuchImage(f"{ref}: image not known")
    os.makedirs(dest, exist_ok=True)
    with open(os.path.join(dest, "version"), "wb") as f:
        f.write(DIR_VERSION)
    with open(store.blob_path(img.id), "rb") as f:
        config = f.read()
    with open(os.path.join(dest, img.id), "wb") as f:
        f.write(config)
    layers = []
    for diff_id in img.layers:
        hexd, compression = store.layer_blob(diff_id)
        src = store.blob_path(hexd)
        if compress and compression != GZIP:
            tmp = os.path.join(dest, ".layer.tmp")
            digest = hashlib.sha256()
            with open_decompressed(src, compression) as raw, open(tmp, "wb") as out:
                with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
                    shutil.copyfileobj(raw, gz, 1 << 20)
            with open(tmp, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk)
            hexd = digest.hexdigest()
            os.replace(tmp, os.path.join(dest, hexd))
            media = V2S2_LAYER_GZIP
        else:
            shutil.copyfile(src, os.path.join(dest, hexd))
            media = V2S2_LAYER_GZIP if compression == GZIP else V2S2_LAYER if compression == PLAIN else V2S2_LAYER_GZIP
        layers.append({"mediaType": media, "size": os.path.getsize(os.path.join(dest, hexd)), "digest": f"sha256:{hexd}"})
    manifest = {"schemaVersion": 2, "mediaType": V2S2_MANIFEST,
                "config": {"mediaType": V2S2_CONFIG, "size": len(config), "digest": f"sha256:{img.id}"},
                "layers": layers}
    with open(os.path.join(dest, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=3)
