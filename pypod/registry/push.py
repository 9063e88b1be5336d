"""Push: a local image to a registry.

Layers go as the store keeps them (the very blobs pulled or loaded, so a
pulled image pushes with its original digests) unless another compression
is asked for, or the blob is not one a registry takes (plain, bzip2, xz:
compressed to gzip, as podman does).  Each blob the registry already has
is skipped (HEAD); one another repository of the same registry holds is
mounted from there; the rest go up in chunks (POST, PATCH..., PUT).  The
manifest is the stored one when nothing changed, else a new OCI or Docker
schema 2 manifest; it goes last, so a failed push leaves no tag behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time

from ..errors import InvalidArgument, ManifestUnknown, RegistryError, RegistryUnauthorized
from ..failpoints import failpoint
from ..record import field, record
from ..storage.layers import BZIP2, GZIP, PLAIN, XZ, ZSTD, open_decompressed
from . import manifest as mf
from .client import Options, Registry, Session
from .pull import Event, Progress
from .reference import Reference, parse
from .shortnames import RegistriesConf

_COMPRESSIONS = {"gzip": GZIP, "zstd": ZSTD}


@record
class PushOptions:
    registry: Options = field(default_factory=Options)
    #: "oci", "v2s2" or "" (the image's own manifest when it can go unchanged, else OCI)
    fmt: str = ""
    #: "gzip", "zstd" or "" (keep what the store has, gzip for what a registry would not take)
    compression: str = ""
    parallel: int = 3


@record
class _Blob:
    diff_id: str
    path: str
    digest: str
    size: int
    compression: int
    #: a file made for this push (recompressed), removed after
    temporary: bool = False


class Pusher:
    def __init__(self, store, conf: RegistriesConf, opts: PushOptions, progress: Progress | None = None):
        if opts.fmt not in ("", "oci", "v2s2", "docker"):
            raise InvalidArgument(f"unsupported manifest type {opts.fmt!r}: oci or v2s2")
        if opts.compression not in ("", "gzip", "zstd"):
            raise InvalidArgument(f"unsupported compression format {opts.compression!r}: gzip or zstd")
        if opts.fmt in ("v2s2", "docker") and opts.compression == "zstd":
            raise InvalidArgument("zstd compression is not supported with the docker v2s2 manifest format: use --format oci")
        self.store = store
        self.conf = conf
        self.opts = opts
        self._progress = progress
        self._lock = threading.Lock()

    def emit(self, ev: Event) -> None:
        if self._progress is not None:
            with self._lock:
                self._progress(ev)

    def push(self, img, ref: Reference) -> str:
        ep = self.conf.push_endpoint(ref)
        blobs: list[_Blob] = []
        try:
            with self.store.locked(exclusive=False):
                blobs = [self._layer_blob(d) for d in img.layers]
                with Session(self.opts.registry) as session:
                    reg = session.registry(ep.ref.domain, ep.insecure)
                    reg.ping()
                    self.emit(Event("signatures"))
                    sources = self._mount_sources(img, ep.ref)
                    self._upload_all(reg, ep.ref.path, blobs, sources)
                    config_path = self.store.blob_path(img.id)
                    config_size = os.path.getsize(config_path)
                    config_digest = f"sha256:{img.id}"
                    self._upload_one(reg, ep.ref.path, _Blob("", config_path, config_digest, config_size, PLAIN), sources,
                                     kind="config")
                    data, media_type = self._manifest(img, blobs, config_digest, config_size)
                    self.emit(Event("manifest"))
                    failpoint("push.before-manifest")
                    digest = "sha256:" + hashlib.sha256(data).hexdigest()
                    got = reg.put_manifest(ep.ref.path, ep.ref.version, data, media_type)
                    failpoint("push.after-manifest")
                    if got and got != digest:
                        raise InvalidArgument(f"writing manifest to {ep.ref}: the registry computed {got}, pypod {digest}")
                    self.emit(Event("storing"))
        finally:
            for b in blobs:
                if b.temporary:
                    try:
                        os.unlink(b.path)
                    except OSError:
                        pass
        self.emit(Event("pushed", digest, current=len(data), text=str(ref)))
        return digest

    # -- blobs ----------------------------------------------------------------------------

    def _target(self, stored: int) -> int:
        want = _COMPRESSIONS.get(self.opts.compression)
        if want is not None:
            return want
        if stored == ZSTD and self.opts.fmt in ("v2s2", "docker"):
            return GZIP
        return stored if stored in (GZIP, ZSTD) else GZIP

    def _layer_blob(self, diff_id: str) -> _Blob:
        blob, stored = self.store.layer_blob(diff_id)
        path = self.store.blob_path(blob)
        target = self._target(stored)
        if target == stored:
            return _Blob(diff_id, path, f"sha256:{blob}", os.path.getsize(path), stored)
        return self._recompress(diff_id, path, stored, target)

    def _recompress(self, diff_id: str, path: str, stored: int, target: int) -> _Blob:
        """The layer's tar compressed anew into a file beside the store's
        blobs: its digest has to be known before the upload (to ask the
        registry whether it has it)."""
        import tempfile

        fd, tmp = tempfile.mkstemp(dir=self.store.tmp_dir, prefix="push-")
        sha = hashlib.sha256()
        size = 0

        class Out:
            def write(self, data) -> int:
                nonlocal size
                sha.update(data)
                size += len(data)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                return len(data)

            def flush(self) -> None:
                pass

        try:
            src = open_decompressed(path, stored) if stored in (GZIP, BZIP2, XZ, ZSTD) else open(path, "rb")
            with src:
                if target == ZSTD:
                    from ..storage.layers import zstd_module

                    comp = zstd_module().ZstdCompressor()
                    out = Out()
                    while chunk := src.read(1 << 20):
                        out.write(comp.compress(chunk))
                    out.write(comp.flush())
                else:
                    import zlib

                    # gzip level 1 as a stream (no name, no timestamp): the same layer makes the same blob.
                    comp = zlib.compressobj(1, zlib.DEFLATED, 31)
                    out = Out()
                    while chunk := src.read(1 << 20):
                        out.write(comp.compress(chunk))
                    out.write(comp.flush())
        except BaseException:
            os.close(fd)
            os.unlink(tmp)
            raise
        os.close(fd)
        return _Blob(diff_id, tmp, f"sha256:{sha.hexdigest()}", size, target, temporary=True)

    def _mount_sources(self, img, dest: Reference) -> list[str]:
        """Other repositories of the destination registry the image came
        from or went to: the registry may already hold its blobs there."""
        out = []
        for name in [*img.names, *(r.rpartition("@")[0] for r in self.store.repo_digests(img))]:
            try:
                r = parse(name.rpartition("@")[0] if "@" in name else name)
            except InvalidArgument:
                continue
            if r.domain == dest.domain and r.path != dest.path and r.path not in out:
                out.append(r.path)
        return out

    def _upload_all(self, reg: Registry, repo: str, blobs: list[_Blob], sources: list[str]) -> None:
        unique = list({b.digest: b for b in blobs}.values())
        workers = max(1, min(self.opts.parallel, len(unique)))
        if workers == 1:
            for b in unique:
                self._upload_one(reg, repo, b, sources)
            return
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers, thread_name_prefix="push") as pool:
            futures = [pool.submit(self._upload_one, reg, repo, b, sources) for b in unique]
            errors = []
            for f in futures:
                try:
                    f.result()
                except BaseException as e:
                    errors.append(e)
            if errors:
                raise errors[0]

    def _upload_one(self, reg: Registry, repo: str, b: _Blob, sources: list[str], kind: str = "blob") -> None:
        if reg.blob_exists(repo, b.digest):
            self.emit(Event(kind, b.digest, "exists", b.size, b.size))
            return
        for src in sources:
            if reg.mount_blob(repo, b.digest, src):
                self.emit(Event(kind, b.digest, "mounted", b.size, b.size, text=src))
                return
        self.emit(Event(kind, b.digest, "start", 0, b.size))

        def progress(n: int) -> None:
            self.emit(Event(kind, b.digest, "progress", n, b.size))

        retries = max(0, self.opts.registry.retries)
        for attempt in range(retries + 1):
            try:
                with open(b.path, "rb") as f:
                    reg.upload_blob(repo, f, b.size, b.digest, progress)
                break
            except RegistryError as e:
                # a broken or refused upload starts again from its first byte, in a new session
                if isinstance(e, (RegistryUnauthorized, ManifestUnknown)) or attempt >= retries:
                    raise RegistryError(f"copying {kind} {b.digest} to {reg.host}/{repo}: {e}") from None
                time.sleep(reg._delay(attempt))
        self.emit(Event(kind, b.digest, "done", b.size, b.size))
        failpoint("push.after-blob")

    # -- the manifest -------------------------------------------------------------------------

    def _manifest(self, img, blobs: list[_Blob], config_digest: str, config_size: int) -> tuple[bytes, str]:
        unchanged = not any(b.temporary for b in blobs)
        stored = self.store.stored_manifest(img) if unchanged else None
        if stored is not None:
            mt = mf.media_type_of(stored)
            if self.opts.fmt == "" or (self.opts.fmt == "oci") == (mt == mf.OCI_MANIFEST):
                return stored, mt
        docker = self.opts.fmt in ("v2s2", "docker")
        if docker:
            layer_types = {GZIP: mf.DOCKER_LAYER_GZIP}
            doc = {"schemaVersion": 2, "mediaType": mf.DOCKER_MANIFEST,
                   "config": {"mediaType": mf.DOCKER_CONFIG, "size": config_size, "digest": config_digest}}
        else:
            layer_types = {GZIP: mf.OCI_LAYER + "+gzip", ZSTD: mf.OCI_LAYER + "+zstd", PLAIN: mf.OCI_LAYER}
            doc = {"schemaVersion": 2, "mediaType": mf.OCI_MANIFEST,
                   "config": {"mediaType": mf.OCI_CONFIG, "digest": config_digest, "size": config_size}}
        layers = []
        for b in blobs:
            if b.compression not in layer_types:
                raise InvalidArgument(f"layer {b.digest}: its compression cannot be described in a "
                                      f"{'docker v2s2' if docker else 'OCI'} manifest")
            layers.append({"mediaType": layer_types[b.compression], "size": b.size, "digest": b.digest})
        doc["layers"] = layers
        return json.dumps(doc, separators=(",", ":")).encode(), doc["mediaType"]
