"""The local image store: content-addressed blobs, layers unpacked once, names.

Layout under the storage dir:
  blobs/sha256/<hex>       configs and layer tars exactly as received
  layers/<diffid hex>/diff each layer unpacked once, shared by every image
  images.db                SQLite: images, their names, and layer records
Layers are unpacked into a temporary directory and renamed into place, so
concurrent pypod processes never see half a layer.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from ..errors import InvalidArgument, NoSuchImage
from ..sqlitedb import connect

# Archive handling (tarfile, gzip, hashlib, tempfile) is imported where it is
# used: every `run` looks an image up, few load or save one.

_SCHEMA = """
CREATE TABLE IF NOT EXISTS images (
    id TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    created TEXT NOT NULL,
    config TEXT NOT NULL,
    layers TEXT NOT NULL,
    size INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS names (
    name TEXT PRIMARY KEY,
    image_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS layers (
    diff_id TEXT PRIMARY KEY,
    blob TEXT NOT NULL,
    compressed INTEGER NOT NULL,
    size INTEGER NOT NULL
);
"""

DEFAULT_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
BUSYBOX_NAME = "localhost/busybox:latest"
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class Image:
    id: str
    names: list[str]
    digest: str
    created: str
    #: the whole OCI image config document (config, rootfs, history, ...)
    document: dict
    #: diff ids ("sha256:..."), bottom layer first
    layers: list[str]
    size: int
    layer_dirs: list[str] = field(default_factory=list)

    @property
    def config(self) -> dict:
        return self.document.get("config") or {}

    @property
    def architecture(self) -> str:
        return self.document.get("architecture", "amd64")

    @property
    def os(self) -> str:
        return self.document.get("os", "linux")


def _now() -> str:
    import datetime

    return datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")


def split_reference(ref: str) -> tuple[str, str]:
    """'name[:tag]' -> (name, tag); a ':' before the last '/' is a port."""
    ref = ref.split("@", 1)[0]
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:
        return ref[:colon], ref[colon + 1:]
    return ref, "latest"


def _has_registry(name: str) -> bool:
    first = name.split("/", 1)[0]
    return "/" in name and ("." in first or ":" in first or first == "localhost")


def normalize_name(ref: str) -> str:
    """How a new name is stored: short names go under localhost/, as podman tags them."""
    name, tag = split_reference(ref)
    if not name or any(c.isspace() for c in ref) or name != name.lower():
        raise InvalidArgument(f"normalizing name {ref!r}: invalid reference format")
    if not _has_registry(name):
        name = f"localhost/{name}"
    return f"{name}:{tag}"


def _candidates(ref: str) -> list[str]:
    name, tag = split_reference(ref)
    if _has_registry(name):
        return [f"{name}:{tag}"]
    if "/" in name:
        return [f"localhost/{name}:{tag}", f"docker.io/{name}:{tag}"]
    return [f"localhost/{name}:{tag}", f"docker.io/library/{name}:{tag}"]


class ImageStore:
    def __init__(self, storage_dir: str):
        self.dir = storage_dir
        self.blobs = os.path.join(storage_dir, "blobs", "sha256")
        self.layers_dir = os.path.join(storage_dir, "layers")
        os.makedirs(self.blobs, exist_ok=True)
        os.makedirs(self.layers_dir, exist_ok=True)
        path = os.path.join(storage_dir, "images.db")
        self._db = connect(path, _SCHEMA, "layers")

    # -- lookups ---------------------------------------------------------------

    def _row_to_image(self, row) -> Image:
        iid, digest, created, config, layers, size = row
        names = [n for (n,) in self._db.execute("SELECT name FROM names WHERE image_id = ? ORDER BY name", (iid,))]
        diff_ids = json.loads(layers)
        return Image(iid, names, digest, created, json.loads(config), diff_ids, size,
                     [os.path.join(self.layers_dir, d.split(":", 1)[1], "diff") for d in diff_ids])

    def _get(self, iid: str) -> Image | None:
        row = self._db.execute("SELECT id, digest, created, config, layers, size FROM images WHERE id = ?", (iid,)).fetchone()
        return self._row_to_image(row) if row else None

    def _resolve_id(self, ref: str) -> tuple[str, str | None]:
        """(image id, the name it was found by or None)."""
        ref = ref.strip()
        if not ref:
            raise NoSuchImage(f"{ref}: image not known")
        bare = ref[7:] if ref.startswith("sha256:") else ref
        if len(bare) >= 3 and all(c in "0123456789abcdef" for c in bare):
            rows = self._db.execute("SELECT id FROM images WHERE substr(id, 1, ?) = ? LIMIT 2", (len(bare), bare)).fetchall()
            if len(rows) == 1:
                return rows[0][0], None
        for cand in [ref, *_candidates(ref)]:
            row = self._db.execute("SELECT image_id FROM names WHERE name = ?", (cand,)).fetchone()
            if row:
                return row[0], cand
        name, tag = split_reference(ref)
        if "/" not in name:
            row = self._db.execute("SELECT image_id, name FROM names WHERE name LIKE ? ORDER BY name LIMIT 1",
                                   (f"%/{name}:{tag}",)).fetchone()
            if row:
                return row[0], row[1]
        raise NoSuchImage(f"{ref}: image not known")

    def lookup(self, ref: str) -> Image:
        try:
            iid, _ = self._resolve_id(ref)
        except NoSuchImage:
            if self._is_default_image(ref) and self.ensure_default_image():
                iid, _ = self._resolve_id(ref)
            else:
                raise
        img = self._get(iid)
        if img is None:
            raise NoSuchImage(f"{ref}: image not known")
        return img

    def exists(self, ref: str) -> bool:
        try:
            self._resolve_id(ref)
            return True
        except NoSuchImage:
            return False

    def list(self) -> list[Image]:
        rows = self._db.execute("SELECT id, digest, created, config, layers, size FROM images ORDER BY created DESC").fetchall()
        return [self._row_to_image(r) for r in rows]

    # -- writing ---------------------------------------------------------------

    def _write_blob(self, data: bytes) -> str:
        import hashlib

        hexd = hashlib.sha256(data).hexdigest()
        path = os.path.join(self.blobs, hexd)
        if not os.path.exists(path):
            tmp = f"{path}.tmp-{os.getpid()}"
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        return hexd

    def _store_layer_stream(self, src) -> tuple[str, str, bool]:
        """Copy a layer tar stream into a blob; (blob hex, diff id, compressed)."""
        import gzip
        import hashlib
        import tempfile

        fd, tmp = tempfile.mkstemp(dir=self.blobs, prefix=".incoming-")
        blob_hash = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            head = src.read(2)
            for chunk in _chain(head, src):
                blob_hash.update(chunk)
                out.write(chunk)
        compressed = head == _GZIP_MAGIC
        blob = blob_hash.hexdigest()
        if compressed:
            diff = hashlib.sha256()
            with gzip.open(tmp, "rb") as g:
                for chunk in iter(lambda: g.read(1 << 20), b""):
                    diff.update(chunk)
            diff_id = diff.hexdigest()
        else:
            diff_id = blob
        os.replace(tmp, os.path.join(self.blobs, blob))
        return blob, f"sha256:{diff_id}", compressed

    def _unpack(self, diff_id: str, blob: str, compressed: bool) -> None:
        """Unpack a layer once; a concurrent unpacker of the same layer loses the rename harmlessly."""
        import shutil
        import tempfile
        from .archive import extract_layer

        hexd = diff_id.split(":", 1)[1]
        final = os.path.join(self.layers_dir, hexd)
        if not os.path.isdir(final):
            tmp = tempfile.mkdtemp(dir=self.layers_dir, prefix=".unpack-")
            try:
                with open(os.path.join(self.blobs, blob), "rb") as f:
                    size = extract_layer(f, os.path.join(tmp, "diff"))
                with open(os.path.join(tmp, "size"), "w") as f:
                    f.write(str(size))
                try:
                    os.rename(tmp, final)
                except OSError:
                    if not os.path.isdir(final):
                        raise
            finally:
                if os.path.isdir(tmp):
                    shutil.rmtree(tmp, ignore_errors=True)
        self._db.execute("INSERT OR IGNORE INTO layers (diff_id, blob, compressed, size) VALUES (?, ?, ?, ?)",
                         (diff_id, blob, int(compressed), _layer_size(final)))

    def _register(self, config_bytes: bytes, names: list[str], manifest_digest: str = "") -> Image:
        iid = self._write_blob(config_bytes)
        doc = json.loads(config_bytes)
        diff_ids = list((doc.get("rootfs") or {}).get("diff_ids") or [])
        size = 0
        for d in diff_ids:
            row = self._db.execute("SELECT size FROM layers WHERE diff_id = ?", (d,)).fetchone()
            if not row:
                raise InvalidArgument(f"image config names layer {d}, which the archive does not hold")
            size += row[0]
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute(
                "INSERT OR IGNORE INTO images (id, digest, created, config, layers, size) VALUES (?, ?, ?, ?, ?, ?)",
                (iid, manifest_digest or f"sha256:{iid}", doc.get("created") or _now(), json.dumps(doc), json.dumps(diff_ids), size),
            )
            for n in names:
                self._db.execute("INSERT OR REPLACE INTO names (name, image_id) VALUES (?, ?)", (n, iid))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return self._get(iid)

    def import_tarball(self, src, reference: str | None = None, changes: dict | None = None) -> Image:
        """A rootfs tarball becomes a one-layer image (podman import)."""
        names = [normalize_name(reference)] if reference else []
        if isinstance(src, (str, os.PathLike)):
            try:
                f = open(src, "rb")
            except OSError as e:
                raise InvalidArgument(f"opening {src}: {e.strerror}") from None
        else:
            f = src
        try:
            blob, diff_id, compressed = self._store_layer_stream(f)
        finally:
            if f is not src:
                f.close()
        self._unpack(diff_id, blob, compressed)
        config = {"Env": [DEFAULT_PATH_ENV]}
        for k, v in (changes or {}).items():
            if k == "Env":
                config["Env"] = [*config["Env"], *v]
            else:
                config[k] = v
        doc = {
            "created": _now(),
            "architecture": _arch(),
            "os": "linux",
            "config": config,
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            "history": [{"created": _now(), "created_by": "pypod import"}],
        }
        return self._register(json.dumps(doc, sort_keys=True).encode(), names)

    def load(self, src) -> list[str]:
        """Load a docker-archive or an oci-archive; returns what was loaded."""
        import shutil
        import tarfile
        import tempfile

        spool = None
        if not isinstance(src, (str, os.PathLike)):
            fd, spool = tempfile.mkstemp(dir=self.dir, prefix=".load-")
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
            src = spool
        try:
            try:
                tar = tarfile.open(src, "r:*")
            except (tarfile.TarError, OSError) as e:
                raise InvalidArgument(f"payload does not match any of the supported image formats: {e}") from None
            with tar:
                members = {m.name.lstrip("./"): m for m in tar.getmembers()}
                if "manifest.json" in members:
                    return self._load_docker(tar, members)
                if "index.json" in members:
                    return self._load_oci(tar, members)
                raise InvalidArgument("payload does not match any of the supported image formats (oci-archive, docker-archive)")
        finally:
            if spool:
                os.unlink(spool)

    def _member_bytes(self, tar, members, name: str) -> bytes:
        m = members.get(name.lstrip("./"))
        if m is None or not m.isreg():
            raise InvalidArgument(f"archive is missing {name}")
        return tar.extractfile(m).read()

    def _load_docker(self, tar, members) -> list[str]:
        try:
            manifest = json.loads(self._member_bytes(tar, members, "manifest.json"))
        except ValueError:
            raise InvalidArgument("invalid manifest.json in docker-archive") from None
        loaded = []
        for entry in manifest:
            config = self._member_bytes(tar, members, entry["Config"])
            doc = json.loads(config)
            diff_ids = (doc.get("rootfs") or {}).get("diff_ids") or []
            if len(diff_ids) != len(entry.get("Layers", [])):
                raise InvalidArgument("docker-archive manifest and config disagree on the layers")
            for path in entry.get("Layers", []):
                m = members.get(path.lstrip("./"))
                if m is None:
                    raise InvalidArgument(f"archive is missing layer {path}")
                blob, diff_id, compressed = self._store_layer_stream(tar.extractfile(m))
                if diff_id not in diff_ids:
                    raise InvalidArgument(f"layer {path} does not match the image config")
                self._unpack(diff_id, blob, compressed)
            names = [normalize_name(t) for t in entry.get("RepoTags") or []]
            img = self._register(config, names)
            loaded += names or [f"sha256:{img.id}"]
        return loaded

    def _load_oci(self, tar, members) -> list[str]:
        import hashlib

        index = json.loads(self._member_bytes(tar, members, "index.json"))
        loaded = []
        for desc in _manifests(index, lambda d: json.loads(self._member_bytes(tar, members, _blob_path(d)))):
            manifest_bytes = self._member_bytes(tar, members, _blob_path(desc))
            manifest = json.loads(manifest_bytes)
            config = self._member_bytes(tar, members, _blob_path(manifest["config"]))
            for layer in manifest.get("layers", []):
                m = members.get(_blob_path(layer))
                if m is None:
                    raise InvalidArgument(f"archive is missing layer {layer.get('digest')}")
                blob, diff_id, compressed = self._store_layer_stream(tar.extractfile(m))
                self._unpack(diff_id, blob, compressed)
            ref = (desc.get("annotations") or {}).get("org.opencontainers.image.ref.name", "")
            names = [normalize_name(ref if ("/" in ref or ":" in ref) else f"localhost/image:{ref}")] if ref else []
            img = self._register(config, names, "sha256:" + hashlib.sha256(manifest_bytes).hexdigest())
            loaded += names or [f"sha256:{img.id}"]
        return loaded

    # -- save ---------------------------------------------------------------------

    def save(self, refs: list[str], dest, fmt: str = "docker-archive") -> None:
        import tarfile

        images = [(ref, self.lookup(ref)) for ref in refs]
        out = open(dest, "wb") if isinstance(dest, (str, os.PathLike)) else dest
        try:
            with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                if fmt == "docker-archive":
                    self._save_docker(tar, images)
                elif fmt == "oci-archive":
                    self._save_oci(tar, images)
                else:
                    raise InvalidArgument(f"unknown format {fmt!r}: use docker-archive or oci-archive")
        finally:
            if out is not dest:
                out.close()

    def _layer_blob(self, diff_id: str) -> tuple[str, bool]:
        row = self._db.execute("SELECT blob, compressed FROM layers WHERE diff_id = ?", (diff_id,)).fetchone()
        if not row:
            raise NoSuchImage(f"layer {diff_id} is missing from the store")
        return row[0], bool(row[1])

    def _add_file(self, tar, name: str, data: bytes | None = None, path: str | None = None, size: int | None = None, fileobj=None) -> None:
        import io
        import tarfile

        info = tarfile.TarInfo(name)
        info.mode = 0o644
        info.mtime = 0
        if data is not None:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        else:
            info.size = size if size is not None else os.path.getsize(path)
            with (fileobj or open(path, "rb")) as f:
                tar.addfile(info, f)

    def _save_docker(self, tar, images) -> None:
        import gzip

        manifest, repos, written = [], {}, set()
        for ref, img in images:
            config = _read(os.path.join(self.blobs, img.id))
            self._add_file(tar, f"{img.id}.json", data=config)
            layer_paths = []
            for d in img.layers:
                hexd = d.split(":", 1)[1]
                path = f"{hexd}/layer.tar"
                if path not in written:
                    blob, compressed = self._layer_blob(d)
                    blob_path = os.path.join(self.blobs, blob)
                    if compressed:
                        size = _gunzip_size(blob_path)
                        self._add_file(tar, path, size=size, fileobj=gzip.open(blob_path, "rb"))
                    else:
                        self._add_file(tar, path, path=blob_path)
                    written.add(path)
                layer_paths.append(path)
            tags = [n for n in img.names if n.startswith(normalize_name(ref).rsplit(":", 1)[0])] or img.names
            manifest.append({"Config": f"{img.id}.json", "RepoTags": tags, "Layers": layer_paths})
            for t in tags:
                repo, tag = split_reference(t)
                repos.setdefault(repo, {})[tag] = img.layers[-1].split(":", 1)[1] if img.layers else img.id
        self._add_file(tar, "manifest.json", data=json.dumps(manifest).encode())
        self._add_file(tar, "repositories", data=json.dumps(repos).encode())

    def _save_oci(self, tar, images) -> None:
        import hashlib

        self._add_file(tar, "oci-layout", data=b'{"imageLayoutVersion":"1.0.0"}')
        written, index = set(), []

        def blob(hexd: str, data: bytes | None = None, path: str | None = None) -> None:
            if hexd not in written:
                self._add_file(tar, f"blobs/sha256/{hexd}", data=data, path=path)
                written.add(hexd)

        for ref, img in images:
            config_path = os.path.join(self.blobs, img.id)
            blob(img.id, path=config_path)
            layers = []
            for d in img.layers:
                bhex, compressed = self._layer_blob(d)
                bpath = os.path.join(self.blobs, bhex)
                blob(bhex, path=bpath)
                layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if compressed else ""),
                               "digest": f"sha256:{bhex}", "size": os.path.getsize(bpath)})
            manifest = json.dumps({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": f"sha256:{img.id}",
                           "size": os.path.getsize(config_path)},
                "layers": layers,
            }, sort_keys=True).encode()
            mhex = hashlib.sha256(manifest).hexdigest()
            blob(mhex, data=manifest)
            name = normalize_name(ref) if img.names else ""
            index.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": f"sha256:{mhex}",
                          "size": len(manifest), **({"annotations": {"org.opencontainers.image.ref.name": name}} if name else {})})
        self._add_file(tar, "index.json", data=json.dumps({"schemaVersion": 2, "manifests": index}).encode())

    # -- names and removal -------------------------------------------------------------

    def tag(self, ref: str, new_name: str) -> None:
        iid, _ = self._resolve_id(ref)
        self._db.execute("INSERT OR REPLACE INTO names (name, image_id) VALUES (?, ?)", (normalize_name(new_name), iid))

    def untag(self, ref: str, name: str) -> None:
        iid, _ = self._resolve_id(ref)
        full = normalize_name(name)
        cur = self._db.execute("DELETE FROM names WHERE name = ? AND image_id = ?", (full, iid))
        if cur.rowcount == 0:
            raise NoSuchImage(f"{name}: tag not known")

    def remove(self, ref: str, force: bool = False) -> list[str]:
        """podman rmi: a name that is one of several is only untagged; else
        the image goes, with every layer no other image uses."""
        import shutil

        iid, by_name = self._resolve_id(ref)
        img = self._get(iid)
        if by_name and len(img.names) > 1 and not force:
            self._db.execute("DELETE FROM names WHERE name = ?", (by_name,))
            return [f"Untagged: {by_name}"]
        lines = [f"Untagged: {n}" for n in img.names]
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute("DELETE FROM names WHERE image_id = ?", (iid,))
            self._db.execute("DELETE FROM images WHERE id = ?", (iid,))
            still_used = set()
            for (layers,) in self._db.execute("SELECT layers FROM images"):
                still_used.update(json.loads(layers))
            orphans = [d for d in img.layers if d not in still_used]
            blobs = []
            for d in orphans:
                row = self._db.execute("SELECT blob FROM layers WHERE diff_id = ?", (d,)).fetchone()
                if row:
                    blobs.append(row[0])
                self._db.execute("DELETE FROM layers WHERE diff_id = ?", (d,))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        for d in orphans:
            shutil.rmtree(os.path.join(self.layers_dir, d.split(":", 1)[1]), ignore_errors=True)
        for b in [*blobs, iid]:
            try:
                os.unlink(os.path.join(self.blobs, b))
            except FileNotFoundError:
                pass
        return lines + [f"Deleted: {iid}"]

    def inspect_dict(self, img: Image) -> dict:
        cfg = img.config
        return {
            "Id": img.id,
            "Digest": img.digest,
            "RepoTags": img.names,
            "RepoDigests": [f"{split_reference(n)[0]}@{img.digest}" for n in img.names],
            "Parent": "",
            "Comment": "",
            "Created": img.created,
            "Config": cfg,
            "Version": "",
            "Author": img.document.get("author", ""),
            "Architecture": img.architecture,
            "Os": img.os,
            "Size": img.size,
            "VirtualSize": img.size,
            "GraphDriver": {"Name": "overlay", "Data": {"LowerDir": ":".join(reversed(img.layer_dirs))}},
            "RootFS": {"Type": "layers", "Layers": img.layers},
            "Labels": cfg.get("Labels") or None,
            "Annotations": {},
            "ManifestType": "application/vnd.oci.image.manifest.v1+json",
            "User": cfg.get("User", ""),
            "History": img.document.get("history", []),
            "NamesHistory": img.names,
        }

    # -- the embedded default image --------------------------------------------------

    def _is_default_image(self, ref: str) -> bool:
        name, tag = split_reference(ref)
        return tag == "latest" and name in ("busybox", "localhost/busybox", "docker.io/library/busybox", "library/busybox")

    def ensure_default_image(self) -> bool:
        """Build `busybox` from the host's busybox-static binary, once, even
        when several processes ask at the same moment."""
        import fcntl
        import io

        binary = next((p for p in ("/bin/busybox", "/usr/bin/busybox") if os.path.isfile(p)), None)
        if binary is None:
            return False
        with open(os.path.join(self.dir, ".busybox.lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self.exists(BUSYBOX_NAME):
                return True
            self.import_tarball(io.BytesIO(busybox_rootfs_tar(binary)), BUSYBOX_NAME, {"Cmd": ["sh"]})
        return True


def busybox_rootfs_tar(binary: str) -> bytes:
    """A minimal userland: busybox, a link per applet, passwd/group, the usual dirs."""
    import io
    import subprocess
    import tarfile

    applets = subprocess.run([binary, "--list"], capture_output=True, text=True).stdout.split()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        def add(name: str, kind=tarfile.DIRTYPE, data: bytes = b"", mode: int = 0o755, link: str = "") -> None:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.mode = mode
            info.mtime = 0
            info.linkname = link
            info.size = len(data) if kind == tarfile.REGTYPE else 0
            tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)

        for d in ("bin", "dev", "etc", "home", "proc", "root", "sys", "usr", "usr/bin", "usr/sbin", "sbin", "var", "var/tmp", "run"):
            add(d, mode=0o700 if d == "root" else 0o755)
        add("tmp", mode=0o1777)
        with open(binary, "rb") as f:
            add("bin/busybox", tarfile.REGTYPE, f.read(), 0o755)
        for applet in applets:
            if applet != "busybox" and "/" not in applet:
                add(f"bin/{applet}", tarfile.SYMTYPE, link="busybox", mode=0o777)
        add("etc/passwd", tarfile.REGTYPE, b"root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
            b"bin:x:2:2:bin:/bin:/bin/false\nnobody:x:65534:65534:nobody:/home:/bin/false\n", 0o644)
        add("etc/group", tarfile.REGTYPE, b"root:x:0:\ndaemon:x:1:\nbin:x:2:\nwheel:x:10:root\nnogroup:x:65534:\n", 0o644)
        add("etc/hostname", tarfile.REGTYPE, b"", 0o644)
        add("etc/hosts", tarfile.REGTYPE, b"", 0o644)
        add("etc/resolv.conf", tarfile.REGTYPE, b"", 0o644)
    return buf.getvalue()


def _manifests(index: dict, fetch) -> list[dict]:
    """Manifest descriptors of an OCI index, following nested indexes."""
    out = []
    for d in index.get("manifests", []):
        if d.get("mediaType", "").endswith("image.index.v1+json") or d.get("mediaType", "").endswith("manifest.list.v2+json"):
            out += _manifests(fetch(d), fetch)
        else:
            out.append(d)
    return out


def _blob_path(desc: dict) -> str:
    algo, _, hexd = desc["digest"].partition(":")
    if not hexd or "/" in hexd or ".." in hexd:
        raise InvalidArgument(f"invalid digest {desc['digest']!r}")
    return f"blobs/{algo}/{hexd}"


def _chain(head: bytes, f):
    if head:
        yield head
    while True:
        chunk = f.read(1 << 20)
        if not chunk:
            return
        yield chunk


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _gunzip_size(path: str) -> int:
    import gzip

    n = 0
    with gzip.open(path, "rb") as g:
        for chunk in iter(lambda: g.read(1 << 20), b""):
            n += len(chunk)
    return n


def _layer_size(layer_dir: str) -> int:
    try:
        with open(os.path.join(layer_dir, "size")) as f:
            return int(f.read())
    except (OSError, ValueError):
        return 0


def _arch() -> str:
    machine = os.uname().machine
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)
