"""The local image store: content-addressed blobs, layers unpacked once, names.

Layout under the storage dir:
  blobs/sha256/<hex>        configs, manifests and layer tars exactly as received
  layers/<diffid hex>/diff  each layer unpacked once, shared by every image using it
  images.db                 SQLite: images, their names, and layer records
  storage.lock              flock: shared while adding, exclusive while deleting

Layers are unpacked into a temporary directory and renamed into place, so
concurrent pypod processes never see half a layer.  Adding takes the lock
shared, so loads run side by side; removal takes it exclusive, so it never
deletes a layer that a concurrent load has just decided to reuse.
"""

from __future__ import annotations

import _thread
import os

from .. import private
from ..lean import LazyPattern, contextmanager, json_dumps, json_loads, suppress as _suppress
from ..errors import InvalidArgument, NoSuchImage
from ..failpoints import failpoint
from ..record import field, record
from ..sqlitedb import connect
from .layers import (
    MEDIA_SUFFIX,
)

TYPE_CHECKING = False  # typing's import would cost every `run` ~5 ms
if TYPE_CHECKING:
    from typing import BinaryIO, Iterator

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
CREATE TABLE IF NOT EXISTS repo_digests (
    ref TEXT PRIMARY KEY,
    image_id TEXT NOT NULL
);
"""

DEFAULT_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
BUSYBOX_NAME = "localhost/busybox:latest"
BUSYBOX_BINARIES = ("/bin/busybox", "/usr/bin/busybox")
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name"
#: what containerd and docker 25+ put in index.json next to the OCI annotation
CONTAINERD_NAME_ANNOTATION = "io.containerd.image.name"


# Docker's reference grammar, the parts pypod needs.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?"
_NAME_RE = LazyPattern(rf"^(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*$")
TAG_RE = LazyPattern(r"^[\w][\w.-]{0,127}$")
HEX_RE = LazyPattern(r"^[0-9a-f]+$")


def _json_sorted(doc) -> str:
    import json  # sort_keys: json's own encoder (only an image's creation needs it)

    return json.dumps(doc, sort_keys=True)


@record
class Image:
    #: sha256 hex of the config blob, without "sha256:"
    id: str
    names: list[str]
    #: the manifest's digest, "sha256:..."
    digest: str
    #: RFC 3339
    created: str
    #: the image config's "config" object (Env, Cmd, Entrypoint, WorkingDir, User, Labels, ...)
    config: dict
    #: diff ids ("sha256:..."), bottom layer first
    layers: list[str]
    #: bytes of file content once unpacked
    size: int
    architecture: str = "amd64"
    os: str = "linux"
    author: str = ""
    #: the config's comment (commit -m)
    comment: str = ""
    history: list[dict] = field(default_factory=list)
    #: where layers/<hex>/diff live; the store fills it in
    layers_root: str = field(default="", repr=False)

    @property
    def layer_dirs(self) -> list[str]:
        """The unpacked layer directories, bottom first (overlay wants them reversed)."""
        return [os.path.join(self.layers_root, d.split(":", 1)[1], "diff") for d in self.layers]


# -- references ----------------------------------------------------------------


def split_reference(ref: str) -> tuple[str, str]:
    """'name[:tag][@digest]' -> (name, tag); a ':' before the last '/' is a port."""
    ref = ref.split("@", 1)[0]
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:
        return ref[:colon], ref[colon + 1:]
    return ref, "latest"


def _has_registry(name: str) -> bool:
    first = name.split("/", 1)[0]
    return "/" in name and ("." in first or ":" in first or first == "localhost")


def _check_reference(ref: str, name: str, tag: str) -> None:
    if not _NAME_RE.match(name) or not TAG_RE.match(tag) or len(name) > 255:
        raise InvalidArgument(f"normalizing name {ref!r}: invalid reference format")


def normalize_name(ref: str) -> str:
    """How pypod stores a name it is given (import, tag): short names go
    under localhost/, as podman tags them."""
    name, tag = split_reference(ref.strip())
    _check_reference(ref, name, tag)
    if not _has_registry(name):
        name = f"localhost/{name}"
    return f"{name}:{tag}"


def docker_normalize(ref: str) -> str:
    """How Docker reads a name (docker-archive RepoTags): short names are Docker Hub's."""
    name, tag = split_reference(ref.strip())
    _check_reference(ref, name, tag)
    if not _has_registry(name):
        name = f"docker.io/{name}" if "/" in name else f"docker.io/library/{name}"
    return f"{name}:{tag}"


def _candidates(name: str, tag: str) -> list[str]:
    if _has_registry(name):
        return [f"{name}:{tag}"]
    if "/" in name:
        return [f"localhost/{name}:{tag}", f"docker.io/{name}:{tag}"]
    return [f"localhost/{name}:{tag}", f"docker.io/library/{name}:{tag}"]


def _is_busybox(ref: str) -> bool:
    name, tag = split_reference(ref.strip())
    return tag == "latest" and name in (
        "busybox", "library/busybox", "localhost/busybox", "docker.io/busybox", "docker.io/library/busybox",
    )


def _now() -> str:
    import datetime

    return datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")


def _rfc3339(ts: float) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(int(ts), datetime.timezone.utc).isoformat().replace("+00:00", "Z")


def host_arch() -> str:
    machine = os.uname().machine
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}.get(machine, machine)


# -- the store -------------------------------------------------------------------


class ImageStore:
    def __init__(self, storage_dir: str):
        self.dir = storage_dir
        self.blobs = os.path.join(storage_dir, "blobs", "sha256")
        self.layers_dir = os.path.join(storage_dir, "layers")
        #: layers being added, renamed into place when whole (the same file system)
        self.tmp_dir = os.path.join(storage_dir, "tmp")
        self.locks_dir = os.path.join(storage_dir, "locks")
        private.open_root(storage_dir, "storage directory")
        for d in (self.blobs, self.layers_dir, self.tmp_dir, self.locks_dir):
            private.makedirs(d)
        self._db_path = os.path.join(storage_dir, "images.db")
        private.create_file(self._db_path)
        self._db = connect(self._db_path, _SCHEMA, "repo_digests")
        # One connection serves every thread of the REST service: a
        # transaction's BEGIN..COMMIT must not interleave with another's.
        self._tx_lock = _thread.RLock()

    def close(self) -> None:
        from ..sqlitedb import close

        close(self._db, self._db_path)

    # -- lookups ---------------------------------------------------------------

    def _row_to_image(self, row) -> Image:
        iid, digest, created, document, layers, size = row
        names = [n for (n,) in self._db.execute("SELECT name FROM names WHERE image_id = ? ORDER BY rowid", (iid,))]
        doc = json_loads(document)
        return Image(
            id=iid, names=names, digest=digest, created=created, config=doc.get("config") or {},
            layers=json_loads(layers), size=size, architecture=doc.get("architecture") or "amd64",
            os=doc.get("os") or "linux", author=doc.get("author") or "", comment=doc.get("comment") or "",
            history=doc.get("history") or [],
            layers_root=self.layers_dir,
        )

    def get(self, iid: str) -> Image | None:
        row = self._db.execute("SELECT id, digest, created, config, layers, size FROM images WHERE id = ?", (iid,)).fetchone()
        return self._row_to_image(row) if row else None

    def _name_owner(self, name: str) -> str | None:
        row = self._db.execute("SELECT image_id FROM names WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def _resolve(self, ref: str) -> tuple[str, str | None]:
        """(image id, the name it was found by, or None when found by id or digest).

        podman's order: full id, unique id prefix, exact name, name with
        :latest, the short name under localhost/ and docker.io/library/,
        then the short name under any registry."""
        ref = ref.strip()
        if not ref or any(c.isspace() for c in ref):
            raise NoSuchImage(f"{ref}: image not known")
        bare = ref[7:] if ref.startswith("sha256:") else ref
        if len(bare) >= 3 and not bare.strip("0123456789abcdef"):  # hex: HEX_RE, without compiling it
            rows = self._db.execute("SELECT id FROM images WHERE substr(id, 1, ?) = ? LIMIT 2", (len(bare), bare)).fetchall()
            if len(rows) == 1:
                return rows[0][0], None
        if "@" in ref:
            return self._resolve_digest(ref), None
        name, tag = split_reference(ref)
        for cand in dict.fromkeys([ref, f"{name}:{tag}", *_candidates(name, tag)]):
            iid = self._name_owner(cand)
            if iid:
                return iid, cand
        if not _has_registry(name):
            suffix = f"/{name}:{tag}"
            row = self._db.execute(
                "SELECT image_id, name FROM names WHERE length(name) > ? AND substr(name, -?) = ? ORDER BY name LIMIT 1",
                (len(suffix), len(suffix), suffix),
            ).fetchone()
            if row:
                return row[0], row[1]
        raise NoSuchImage(f"{ref}: image not known")

    def _resolve_digest(self, ref: str) -> str:
        name, _, digest = ref.partition("@")
        if name:
            short, _tag = split_reference(name)
            rows = self._db.execute("SELECT image_id, ref FROM repo_digests WHERE substr(ref, -?) = ?",
                                    (len(digest) + 1, f"@{digest}")).fetchall()
            for iid, recorded in rows:
                repo = recorded.rpartition("@")[0]
                if repo == short or repo.endswith("/" + short):
                    return iid
        for (iid,) in self._db.execute("SELECT id FROM images WHERE digest = ?", (digest,)).fetchall():
            if not name:
                return iid
            repos = {split_reference(n)[0] for n in self._names_of(iid)}
            short = split_reference(name)[0]
            if any(r == short or r.endswith("/" + short) for r in repos):
                return iid
        raise NoSuchImage(f"{ref}: image not known")

    def _names_of(self, iid: str) -> list[str]:
        return [n for (n,) in self._db.execute("SELECT name FROM names WHERE image_id = ? ORDER BY rowid", (iid,))]

    def find(self, ref: str) -> tuple[str, str | None]:
        """_resolve, building the default image when it is the one asked for."""
        try:
            return self._resolve(ref)
        except NoSuchImage:
            # Built on first use, under any of its spellings.
            if not _is_busybox(ref) or self.ensure_default_image() is None:
                raise
            return self._resolve(BUSYBOX_NAME)

    def lookup(self, ref: str) -> Image:
        return self.lookup_named(ref)[0]

    def lookup_named(self, ref: str) -> tuple[Image, str | None]:
        """The image and the name it was found by (None when by id or digest)."""
        iid, name = self.find(ref)
        img = self.get(iid)
        if img is None:  # removed between the two reads
            raise NoSuchImage(f"{ref}: image not known")
        return img, name

    def exists(self, ref: str) -> bool:
        try:
            self._resolve(ref)
            return True
        except NoSuchImage:
            return False

    def normalize(self, ref: str) -> str:
        """The fully-qualified name a reference means: a short name is the
        localhost/ image if there is one, else Docker Hub's."""
        name, tag = split_reference(ref.strip())
        _check_reference(ref, name, tag)
        if _has_registry(name):
            return f"{name}:{tag}"
        local = f"localhost/{name}:{tag}"
        if self._name_owner(local):
            return local
        return f"docker.io/{name}:{tag}" if "/" in name else f"docker.io/library/{name}:{tag}"

    def list(self) -> list[Image]:
        rows = self._db.execute("SELECT id, digest, created, config, layers, size FROM images ORDER BY created DESC, id").fetchall()
        return [self._row_to_image(r) for r in rows]

    # -- locking -----------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._tx_lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @contextmanager
    def locked(self, exclusive: bool, sweep: bool = True) -> Iterator[None]:
        """The storage lock: shared while adding, exclusive while deleting.
        Whoever holds it alone first sweeps what crashed adders and removers
        left (half-unpacked layers, incoming blobs, spools): nobody else can
        be writing them then.  An adder gets that chance when it finds the
        store idle, so a crash's leftovers go with the next load or import."""
        import fcntl

        fd = os.open(os.path.join(self.dir, "storage.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            if exclusive:
                fcntl.flock(fd, fcntl.LOCK_EX)
                if sweep:
                    self._sweep_leftovers()
            else:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    pass
                else:
                    self._sweep_leftovers()
                fcntl.flock(fd, fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)  # closing drops the lock

    def _leftover_places(self) -> list[tuple[str, str]]:
        """Where a crash leaves what nobody owns: (directory, name prefix)."""
        return [(self.layers_dir, ".unpack-"), (self.layers_dir, ".removing-"), (self.blobs, ".incoming-"),
                (self.dir, ".load-"), (self.dir, ".save-"), (self.tmp_dir, "layer-"), (self.tmp_dir, "push-"),
                (self.tmp_dir, "export-")]

    def leftovers(self) -> list[str]:
        """Temporary files and half-removed layers (nobody's, once the
        storage lock is held exclusively)."""
        out = []
        for d, prefix in self._leftover_places():
            try:
                out += [os.path.join(d, n) for n in os.listdir(d) if n.startswith(prefix)]
            except FileNotFoundError:
                pass
        return out

    def _sweep_leftovers(self) -> None:
        from .tree import remove_tree

        for path in self.leftovers():
            remove_tree(path, ignore_errors=True)

    def orphans(self) -> list[str]:
        """Blobs and layer dirs no record names: what an adder or a removal
        killed between its files and its records left.  (Only meaningful
        with the storage lock held exclusively: an adder writes its files
        before its records.)"""
        used_blobs = {r[0] for r in self._db.execute("SELECT blob FROM layers")}
        for iid, digest in self._db.execute("SELECT id, digest FROM images"):
            used_blobs.add(iid)
            used_blobs.add(digest.split(":", 1)[-1])
        used_layers = {r[0].split(":", 1)[-1] for r in self._db.execute("SELECT diff_id FROM layers")}
        out = [os.path.join(self.blobs, n) for n in os.listdir(self.blobs) if not n.startswith(".") and n not in used_blobs]
        out += [os.path.join(self.layers_dir, n) for n in os.listdir(self.layers_dir)
                if not n.startswith(".") and n not in used_layers]
        return out

    def damage(self, img: "Image", verify: bool = True) -> str:
        """What is wrong with an image's files, or "" when nothing is: its
        config blob, and each layer's record, blob and unpacked dir (and,
        with verify, the blobs' digests)."""
        import hashlib

        def digest_of(path: str) -> str:
            h = hashlib.sha256()
            with open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    h.update(chunk)
            return h.hexdigest()

        config = self.blob_path(img.id)
        if not os.path.isfile(config):
            return "its config blob is missing"
        if verify and digest_of(config) != img.id:
            return "its config blob does not match its digest"
        for d in img.layers:
            row = self._db.execute("SELECT blob FROM layers WHERE diff_id = ?", (d,)).fetchone()
            if not row:
                return f"layer {d[7:19]} has no record"
            if not os.path.isdir(os.path.join(self.layers_dir, d.split(":", 1)[1], "diff")):
                return f"layer {d[7:19]} is not unpacked"
            blob = self.blob_path(row[0])
            if not os.path.isfile(blob):
                return f"the blob of layer {d[7:19]} is missing"
            if verify and digest_of(blob) != row[0]:
                return f"the blob of layer {d[7:19]} does not match its digest"
        return ""

    def remove_orphans(self) -> list[str]:
        from .tree import remove_tree

        with self.locked(exclusive=True):
            gone = self.orphans()
            for path in gone:
                remove_tree(path, ignore_errors=True)
        return gone

    def remove_unused_layers(self, diff_ids: list[str]) -> list[str]:
        """Remove these layers if no image uses them (what a killed build
        added before any image named it); returns those removed."""
        from .tree import remove_tree

        gone = []
        with self.locked(exclusive=True):
            with self._transaction():
                used: set[str] = set()
                for (layers,) in self._db.execute("SELECT layers FROM images"):
                    used.update(json_loads(layers))
                for d in dict.fromkeys(diff_ids):
                    row = self._db.execute("SELECT blob FROM layers WHERE diff_id = ?", (d,)).fetchone()
                    if d in used or not row:
                        continue
                    self._db.execute("DELETE FROM layers WHERE diff_id = ?", (d,))
                    gone.append((d, row[0]))
            for d, blob in gone:
                remove_tree(os.path.join(self.layers_dir, d.split(":", 1)[1]), ignore_errors=True)
                if not self._db.execute("SELECT 1 FROM layers WHERE blob = ?", (blob,)).fetchone():
                    with _suppress(FileNotFoundError):
                        os.unlink(self.blob_path(blob))
        return [d for d, _ in gone]

    # -- blobs and layers ------------------------------------------------------------

    def blob_path(self, hexd: str) -> str:
        return os.path.join(self.blobs, hexd)

    def _write_blob(self, data: bytes) -> str:
        import hashlib
        import tempfile

        hexd = hashlib.sha256(data).hexdigest()
        path = self.blob_path(hexd)
        if not os.path.exists(path):
            # A unique temp name: threads of one service share a pid.
            fd, tmp = tempfile.mkstemp(dir=self.blobs, prefix=".incoming-")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        return hexd

    def layer_present(self, diff_id: str) -> bool:
        row = self._db.execute("SELECT blob FROM layers WHERE diff_id = ?", (diff_id,)).fetchone()
        return bool(row) and os.path.isdir(os.path.join(self.layers_dir, diff_id.split(":", 1)[1], "diff")) \
            and os.path.exists(self.blob_path(row[0]))

    @contextmanager
    def layer_lock(self, diff_id: str) -> Iterator[None]:
        """Held while one process fetches and unpacks a layer: another that
        wants the same layer waits, then finds it present."""
        import fcntl

        hexd = diff_id.split(":", 1)[-1]
        if not HEX_RE.match(hexd):
            raise InvalidArgument(f"invalid diff ID {diff_id!r}")
        fd = os.open(os.path.join(self.locks_dir, hexd), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def add_layer(self, src: BinaryIO, expected_diff: str | None, what: str, expected_blob: str | None = None,
                  *, size: int | None = None, progress=None) -> str:
        """Add a layer from its blob stream in one pass: the blob is kept as
        it came and its tar unpacked, both hashed on the way; then the
        digests are checked and, only if they match, the blob and the layer
        dir are renamed into place and recorded.  Returns the diff ID.  A
        mismatch stores nothing and names the blob.  Of two processes adding
        the same layer, the second loses the rename and uses the first's.
        Called with the storage lock held (shared): what a crash leaves in
        tmp/ is swept by the next holder that finds the store idle."""
        import tempfile

        from .layers import BlobTooLarge, CorruptLayer, unpack_stream
        from .tree import remove_tree

        tmp = tempfile.mkdtemp(dir=self.tmp_dir, prefix="layer-")
        blob_tmp = os.path.join(tmp, "blob")
        try:
            want = expected_blob.split(":", 1)[-1] if expected_blob else ""
            blob_fd = os.open(blob_tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            try:
                try:
                    got = unpack_stream(src, blob_fd, os.path.join(tmp, "diff"), size, progress)
                except BlobTooLarge as e:
                    raise InvalidArgument(f"layer {what}: {e}") from None
                except CorruptLayer as e:
                    if want and e.blob != want:
                        raise InvalidArgument(_mismatch(what, want, e.blob)) from None
                    raise InvalidArgument(f"layer {what}: {e}") from None
            finally:
                os.close(blob_fd)
            if want and got.blob != want:
                raise InvalidArgument(_mismatch(what, want, got.blob))
            if size is not None and got.blob_size != size:
                raise InvalidArgument(f"layer {what}: {got.blob_size} bytes where its descriptor says {size}")
            diff_id = f"sha256:{got.diff_id}"
            if expected_diff and diff_id != expected_diff:
                raise InvalidArgument(f"layer {what} does not match its digest in the image: diff ID {expected_diff} "
                                      f"expected, {diff_id} unpacked")
            private.write_file(os.path.join(tmp, "size"), str(got.size))
            failpoint("layer.after-unpack")
            # The blob goes first: a layer's row never names a missing blob.
            os.replace(blob_tmp, self.blob_path(got.blob))
            failpoint("layer.after-blob")
            final = os.path.join(self.layers_dir, got.diff_id)
            try:
                os.rename(tmp, final)
            except OSError:
                if not os.path.isdir(os.path.join(final, "diff")):
                    raise
            failpoint("layer.after-rename")
            with self._tx_lock:  # never inside another thread's transaction on this connection
                self._db.execute("INSERT OR IGNORE INTO layers (diff_id, blob, compressed, size) VALUES (?, ?, ?, ?)",
                                 (diff_id, got.blob, got.compression, _layer_size(final)))
            failpoint("layer.after-record")
            return diff_id
        finally:
            if os.path.isdir(tmp):
                remove_tree(tmp, ignore_errors=True)

    def layer_blob(self, diff_id: str) -> tuple[str, int]:
        row = self._db.execute("SELECT blob, compressed FROM layers WHERE diff_id = ?", (diff_id,)).fetchone()
        if not row:
            raise NoSuchImage(f"layer {diff_id} is missing from the store")
        return row[0], int(row[1])

    def manifest_for(self, config_hex: str, diff_ids: list[str], annotations: dict[str, str] | None = None) -> bytes:
        """The OCI manifest pypod writes for an image it did not receive one
        for (annotations: build --annotation's)."""
        layers = []
        for d in diff_ids:
            blob, compression = self.layer_blob(d)
            layers.append({"mediaType": OCI_LAYER + MEDIA_SUFFIX.get(compression, ""), "digest": f"sha256:{blob}",
                           "size": os.path.getsize(self.blob_path(blob))})
        import json

        return json.dumps({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": f"sha256:{config_hex}",
                       "size": os.path.getsize(self.blob_path(config_hex))},
            "layers": layers,
            **({"annotations": dict(annotations)} if annotations else {}),
        }, sort_keys=True, separators=(",", ":")).encode()

    def register(self, config_bytes: bytes, names: list[str], manifest: bytes | None = None,
                 repo_digests: list[str] | tuple[str, ...] = (), annotations: dict[str, str] | None = None) -> Image:
        """Record an image whose layers are all present, with names
        ("repo:tag") and the "repo@digest" references it was pulled by."""
        iid = self._write_blob(config_bytes)
        try:
            doc = json_loads(config_bytes)
        except ValueError:
            raise InvalidArgument("the image config is not valid JSON") from None
        if not isinstance(doc, dict):
            raise InvalidArgument("the image config is not a JSON object")
        diff_ids = list((doc.get("rootfs") or {}).get("diff_ids") or [])
        size = 0
        for d in diff_ids:
            row = self._db.execute("SELECT size FROM layers WHERE diff_id = ?", (d,)).fetchone()
            if not row:
                raise InvalidArgument(f"image config names layer {d}, which the archive does not hold")
            size += row[0]
        digest = ""
        if not self._db.execute("SELECT 1 FROM images WHERE id = ?", (iid,)).fetchone():
            digest = "sha256:" + self._write_blob(manifest if manifest is not None
                                                   else self.manifest_for(iid, diff_ids, annotations))
        if names:
            self._ensure_history()
        with self._transaction():
            if digest:
                # OR IGNORE: a concurrent loader of the same image may have won; its record stands.
                self._db.execute(
                    "INSERT OR IGNORE INTO images (id, digest, created, config, layers, size) VALUES (?, ?, ?, ?, ?, ?)",
                    (iid, digest, doc.get("created") or _now(), json_dumps(doc), json_dumps(diff_ids), size),
                )
            for n in names:
                # A name belongs to one image: tagging moves it, as in podman.
                self._db.execute("DELETE FROM names WHERE name = ?", (n,))
                self._db.execute("INSERT INTO names (name, image_id) VALUES (?, ?)", (n, iid))
            for r in repo_digests:
                self._db.execute("INSERT OR REPLACE INTO repo_digests (ref, image_id) VALUES (?, ?)", (r, iid))
            self._remember_names(iid, names)
        img = self.get(iid)
        if img is None:
            raise NoSuchImage(f"sha256:{iid}: image removed while it was being added")
        return img

    # -- import ----------------------------------------------------------------------

    def import_tarball(self, src: str | os.PathLike | BinaryIO, reference: str | None = None,
                       changes: dict | None = None, *, arch: str = "", os_name: str = "", variant: str = "",
                       message: str = "") -> Image:
        """A rootfs tarball (path or binary stream) becomes a one-layer image, as with `podman import`.

        changes may set Cmd, Entrypoint, Env (added to the default PATH, by
        variable name), WorkingDir, User, Labels, StopSignal, ExposedPorts, Volumes."""
        return self._import(src, reference, changes, platform=(arch, os_name, variant), comment=message)

    def _import(self, src, reference: str | None, changes: dict | None, created: str | None = None,
                created_by: str = "pypod import", platform: tuple[str, str, str] = ("", "", ""),
                comment: str = "") -> Image:
        names = [normalize_name(reference)] if reference else []
        config: dict = {"Env": [DEFAULT_PATH_ENV]}
        for k, v in (changes or {}).items():
            if k == "Env":
                config["Env"] = _merge_env(config["Env"], list(v))
            elif k == "Labels":
                config["Labels"] = {**config.get("Labels", {}), **v}
            else:
                config[k] = v
        if isinstance(src, (str, os.PathLike)):
            try:
                f = open(src, "rb")
            except OSError as e:
                raise InvalidArgument(f"opening {os.fspath(src)}: {e.strerror}") from None
        else:
            f = src
        with self.locked(exclusive=False):
            try:
                diff_id = self.add_layer(f, None, "from the tarball")
            finally:
                if f is not src:
                    f.close()
            when = created or _now()
            arch, os_name, variant = platform
            step = {"created": when, "created_by": created_by}
            if comment:
                step["comment"] = comment
            doc = {
                "created": when,
                "architecture": arch or host_arch(),
                "os": os_name or "linux",
                "config": config,
                "rootfs": {"type": "layers", "diff_ids": [diff_id]},
                "history": [step],
            }
            if variant:
                doc["variant"] = variant
            if comment:
                doc["comment"] = comment
            img = self.register(_json_sorted(doc).encode(), names)
            failpoint("import.after-image")
            return img

    # -- archives (image_archive.py) --------------------------------------------------------

    def load(self, src: str | os.PathLike | BinaryIO) -> list[str]:
        """Load a docker-archive or an oci-archive (plain or compressed, path
        or stream); returns the names loaded, or "sha256:<id>" for unnamed images."""
        from .image_archive import load

        return load(self, src)

    def save(self, refs: list[str], dest: str | os.PathLike | BinaryIO, fmt: str = "docker-archive", **options) -> None:
        """Write the images as a docker-archive (for `docker load` and `podman load`) or an oci-archive
        (options: image_archive.save's extra_names and compress_oci)."""
        from .image_archive import save

        save(self, refs, dest, fmt, **options)

    def stored_manifest(self, img: Image) -> bytes | None:
        """The manifest the image came with, when every blob it names is still here."""
        try:
            with open(self.blob_path(img.digest.split(":", 1)[1]), "rb") as f:
                data = f.read()
            manifest = json_loads(data)
            blobs = [manifest["config"]["digest"], *(layer["digest"] for layer in manifest.get("layers", []))]
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            return None
        if all(d.startswith("sha256:") and os.path.exists(self.blob_path(d[7:])) for d in blobs):
            return data
        return None

    # -- names and removal -------------------------------------------------------------------

    def tag(self, ref: str, new_name: str) -> None:
        full = normalize_name(new_name)
        iid, _ = self.find(ref)
        self._ensure_history()
        with self._transaction():
            self._db.execute("DELETE FROM names WHERE name = ?", (full,))
            self._db.execute("INSERT INTO names (name, image_id) VALUES (?, ?)", (full, iid))
            self._remember_names(iid, [full])

    #: every name an image has had, newest last (podman's NamesHistory)
    _HISTORY_SCHEMA = """
    CREATE TABLE IF NOT EXISTS names_history (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        image_id TEXT NOT NULL,
        name TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS names_history_by_image ON names_history(image_id);
    """

    def _ensure_history(self) -> None:
        """The history table (outside any transaction: creating it commits)."""
        from ..sqlitedb import ensure_tables

        ensure_tables(self._db, self._HISTORY_SCHEMA, "names_history_by_image")

    def _remember_names(self, iid: str, names: list[str]) -> None:
        for n in names:
            self._db.execute("INSERT INTO names_history (image_id, name) VALUES (?, ?)", (iid, n))

    def names_history(self, iid: str) -> list[str]:
        """The names the image has had, most recent first, each once."""
        self._ensure_history()
        rows = self._db.execute("SELECT name FROM names_history WHERE image_id = ? ORDER BY seq DESC", (iid,))
        return list(dict.fromkeys(n for (n,) in rows))

    def untag(self, ref: str, name: str | None = None) -> list[str]:
        """Remove one name of the image (every name when name is None);
        returns the names removed."""
        iid, _ = self._resolve(ref)
        if name is None:
            gone = self._names_of(iid)
            self._db.execute("DELETE FROM names WHERE image_id = ?", (iid,))
            return gone
        n, t = split_reference(name.strip())
        _check_reference(name, n, t)
        mine = self._names_of(iid)
        for cand in dict.fromkeys([name.strip(), f"{n}:{t}", *_candidates(n, t)]):
            if cand in mine:
                self._db.execute("DELETE FROM names WHERE name = ? AND image_id = ?", (cand, iid))
                return [cand]
        raise NoSuchImage(f"{normalize_name(name)!r}: tag not known")

    def remove(self, ref: str, force: bool = False) -> list[str]:
        """podman rmi: a name that is one of several is only untagged; by id,
        or by its last name, the image goes, with every blob and layer no
        other image uses.  Whether containers use it is the engine's check."""
        iid, by_name = self._resolve(ref)
        img = self.get(iid)
        if img is None:
            raise NoSuchImage(f"{ref}: image not known")
        if by_name and len(img.names) > 1:
            self._db.execute("DELETE FROM names WHERE name = ? AND image_id = ?", (by_name, iid))
            return [f"Untagged: {by_name}"]
        with self.locked(exclusive=True):
            with self._transaction():
                names = self._names_of(iid)
                self._db.execute("DELETE FROM names WHERE image_id = ?", (iid,))
                self._db.execute("DELETE FROM repo_digests WHERE image_id = ?", (iid,))
                self._db.execute("DELETE FROM images WHERE id = ?", (iid,))
                still_used: set[str] = set()
                for (layers,) in self._db.execute("SELECT layers FROM images"):
                    still_used.update(json_loads(layers))
                orphans = [d for d in dict.fromkeys(img.layers) if d not in still_used]
                blobs = [iid]
                if not self._db.execute("SELECT 1 FROM images WHERE digest = ?", (img.digest,)).fetchone():
                    blobs.append(img.digest.split(":", 1)[1])
                for d in orphans:
                    row = self._db.execute("SELECT blob FROM layers WHERE diff_id = ?", (d,)).fetchone()
                    self._db.execute("DELETE FROM layers WHERE diff_id = ?", (d,))
                    if row and not self._db.execute("SELECT 1 FROM layers WHERE blob = ?", (row[0],)).fetchone():
                        blobs.append(row[0])
            failpoint("rmi.after-records-removed")
            # Renamed away first, then deleted: a crash midway leaves a
            # .removing- dir (swept later), never a half layer at its name
            # that a later load of the same layer would take as whole.
            from .tree import remove_tree

            doomed = []
            for d in orphans:
                hexd = d.split(":", 1)[1]
                aside = os.path.join(self.layers_dir, f".removing-{hexd}")
                with _suppress(FileNotFoundError):
                    remove_tree(aside)
                    os.rename(os.path.join(self.layers_dir, hexd), aside)
                    doomed.append(aside)
            failpoint("rmi.after-layers-renamed")
            for aside in doomed:
                remove_tree(aside)
            for b in blobs:
                with _suppress(FileNotFoundError):
                    os.unlink(self.blob_path(b))
            # and what an earlier crash left without a record
            for path in self.orphans():
                remove_tree(path, ignore_errors=True)
        return [*(f"Untagged: {n}" for n in names), f"Deleted: {iid}"]

    # -- inspect ----------------------------------------------------------------------

    def repo_digests(self, img: Image) -> list[str]:
        """"repo@digest" for the image's digest under each of its repositories,
        and every reference it was pulled by (a manifest list's digest too)."""
        repos = dict.fromkeys(split_reference(n)[0] for n in img.names)
        out = [f"{r}@{img.digest}" for r in repos]
        rows = self._db.execute("SELECT ref FROM repo_digests WHERE image_id = ? ORDER BY rowid", (img.id,))
        return list(dict.fromkeys([*out, *(r for (r,) in rows)]))

    def _manifest(self, img: Image) -> dict:
        try:
            with open(self.blob_path(img.digest.partition(":")[2]), "rb") as f:
                doc = json_loads(f.read())
            return doc if isinstance(doc, dict) else {}
        except (OSError, ValueError):
            return {}

    def inspect_dict(self, img: Image) -> dict:
        """podman image inspect's JSON for one image."""
        cfg = img.config
        manifest = self._manifest(img)
        dirs = img.layer_dirs
        graph: dict = {}
        if dirs:
            graph = {"UpperDir": dirs[-1], "WorkDir": os.path.join(os.path.dirname(dirs[-1]), "work")}
            if len(dirs) > 1:
                graph["LowerDir"] = ":".join(reversed(dirs[:-1]))
        return {
            "Id": img.id,
            "Digest": img.digest,
            "RepoTags": list(img.names),
            "RepoDigests": self.repo_digests(img),
            "Parent": "",
            "Comment": img.comment,
            "Created": img.created,
            "Config": cfg,
            "Version": "",
            "Author": img.author,
            "Architecture": img.architecture,
            "Os": img.os,
            "Size": img.size,
            "VirtualSize": img.size,
            "GraphDriver": {"Name": "overlay", "Data": graph},
            "RootFS": {"Type": "layers", "Layers": list(img.layers)},
            "Labels": cfg.get("Labels") or None,
            "Annotations": manifest.get("annotations") or {},
            "ManifestType": manifest.get("mediaType") or OCI_MANIFEST,
            "User": cfg.get("User", ""),
            "History": img.history,
            "NamesHistory": list(img.names),
        }

    # -- the embedded default image --------------------------------------------------

    def ensure_default_image(self) -> Image | None:
        """The `busybox` image, built from the host's busybox-static binary
        the first time it is wanted; None when the host has no such binary.
        Several processes asking at once end with one image: they queue on a
        lock and all but the first find it built."""
        import fcntl
        import io

        binary = next((p for p in BUSYBOX_BINARIES if os.path.isfile(p)), None)
        if binary is None:
            return None
        fd = os.open(os.path.join(self.dir, ".busybox.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if self.exists(BUSYBOX_NAME):
                return self.lookup(BUSYBOX_NAME)
            # Created from the binary's mtime: the same binary gives the same image id in every store.
            created = _rfc3339(os.stat(binary).st_mtime)
            return self._import(io.BytesIO(busybox_rootfs_tar(binary)), BUSYBOX_NAME, {"Cmd": ["sh"]},
                                created=created, created_by=f"pypod: busybox from {binary}")
        finally:
            os.close(fd)


def ensure_default_image(storage_dir: str) -> Image | None:
    """ImageStore(storage_dir).ensure_default_image(), for callers without a store."""
    return ImageStore(storage_dir).ensure_default_image()


def busybox_rootfs_tar(binary: str) -> bytes:
    """A minimal userland: busybox, a link per applet, passwd/group, the usual dirs."""
    import io
    import subprocess
    import tarfile

    applets = subprocess.run([binary, "--list"], capture_output=True, text=True, check=False).stdout.split()
    mtime = int(os.stat(binary).st_mtime)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        def add(name: str, kind: bytes = tarfile.DIRTYPE, data: bytes = b"", mode: int = 0o755, link: str = "") -> None:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.mode = mode
            info.mtime = mtime
            info.linkname = link
            info.size = len(data) if kind == tarfile.REGTYPE else 0
            tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)

        for d in ("bin", "dev", "etc", "home", "proc", "root", "run", "sbin", "sys", "usr", "usr/bin", "usr/sbin",
                  "usr/local", "usr/local/bin", "var", "var/spool", "var/spool/mail", "var/www"):
            add(d, mode=0o700 if d == "root" else 0o755)
        add("tmp", mode=0o1777)
        add("var/tmp", mode=0o1777)
        with open(binary, "rb") as f:
            add("bin/busybox", tarfile.REGTYPE, f.read(), 0o755)
        for applet in sorted(set(applets) | {"sh"}):
            if applet != "busybox" and "/" not in applet:
                add(f"bin/{applet}", tarfile.SYMTYPE, link="busybox", mode=0o777)
        add("etc/passwd", tarfile.REGTYPE, b"root:x:0:0:root:/root:/bin/sh\n"
            b"daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
            b"bin:x:2:2:bin:/bin:/bin/false\n"
            b"sys:x:3:3:sys:/dev:/bin/false\n"
            b"www-data:x:33:33:www-data:/var/www:/bin/false\n"
            b"nobody:x:65534:65534:nobody:/home:/bin/false\n", 0o644)
        add("etc/group", tarfile.REGTYPE, b"root:x:0:\ndaemon:x:1:\nbin:x:2:\nsys:x:3:\nadm:x:4:\ntty:x:5:\n"
            b"wheel:x:10:root\nmail:x:12:\nwww-data:x:33:\nusers:x:100:\nnogroup:x:65534:\n", 0o644)
        add("etc/shadow", tarfile.REGTYPE, b"root:*:10933:0:99999:7:::\ndaemon:*:10933:0:99999:7:::\n"
            b"bin:*:10933:0:99999:7:::\nsys:*:10933:0:99999:7:::\nwww-data:*:10933:0:99999:7:::\n"
            b"nobody:*:10933:0:99999:7:::\n", 0o640)
        for name in ("etc/hostname", "etc/hosts", "etc/resolv.conf"):
            add(name, tarfile.REGTYPE, b"", 0o644)
    return buf.getvalue()


# -- helpers -----------------------------------------------------------------------


def _merge_env(base: list[str], extra: list[str]) -> list[str]:
    """Later settings of a variable replace earlier ones, in place."""
    out: dict[str, str] = {}
    for item in [*base, *extra]:
        out[item.split("=", 1)[0]] = item
    return list(out.values())










def _mismatch(what: str, want: str, got: str) -> str:
    return f"layer {what} does not match its digest: sha256:{want} expected, sha256:{got} received"


def _layer_size(layer_dir: str) -> int:
    try:
        with open(os.path.join(layer_dir, "size")) as f:
            return int(f.read())
    except (OSError, ValueError):
        return 0
