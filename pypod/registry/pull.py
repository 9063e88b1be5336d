"""Pull: from a reference to an image in the store.

  resolve the name (registries.conf: aliases, search registries, mirrors)
  -> manifest (an index is narrowed to one platform), digest verified
  -> config blob, verified; its diff IDs say which layers are already here
  -> the missing layers, `parallel_downloads` at a time, each in one streaming
     pass (store.add_layer), each under a per-layer lock so that two pulls of
     one image fetch each layer once
  -> the image recorded in one transaction.

The whole pull holds the store's lock shared, so an `rmi` never removes a
layer this pull has decided to reuse.  Progress goes to a callback as
`Event`s; the front doors render them (podman's lines, Docker's JSON).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable

from ..errors import (
    InvalidArgument,
    ManifestUnknown,
    PypodError,
    RegistryError,
    RegistryUnauthorized,
)
from ..failpoints import failpoint
from ..record import field, record
from . import manifest as mf
from .client import Options, Registry, Session
from .reference import Reference
from .shortnames import Endpoint, RegistriesConf


@record
class Event:
    """One step of a pull or push, for a progress display.

    kind: "trying" (text: the reference), "note" (text), "signatures",
    "blob" (digest, state: "exists", "mounted" (a push: from the repository
    in text), "start", "progress", "done"; current, total bytes), "config"
    (digest), "manifest", "storing",
    "pulled"/"pushed" (digest: image id or manifest digest; text: reference).
    """

    kind: str
    digest: str = ""
    state: str = ""
    current: int = 0
    total: int = 0
    text: str = ""


Progress = Callable[[Event], None]


@record
class PullOptions:
    #: (os, arch, variant); None: this machine's
    platform: tuple[str, str, str] | None = None
    registry: Options = field(default_factory=Options)
    parallel: int = 3
    #: may a short name be resolved by asking on the terminal
    can_prompt: bool = False
    prompt: Callable[[list[str]], int] | None = None


def _verify_bytes(data: bytes, digest: str, what: str) -> None:
    got = "sha256:" + hashlib.sha256(data).hexdigest()
    if got != digest:
        raise InvalidArgument(f"{what}: digest mismatch: {digest} expected, {got} received")


class Puller:
    def __init__(self, store, conf: RegistriesConf, opts: PullOptions, progress: Progress | None = None):
        self.store = store
        self.conf = conf
        self.opts = opts
        self._progress = progress
        self._emit_lock = threading.Lock()
        self.opts.registry.insecure_hosts = conf.insecure

    def emit(self, ev: Event) -> None:
        if self._progress is not None:
            with self._emit_lock:
                self._progress(ev)

    # -- references -------------------------------------------------------------------

    def candidates(self, ref: str) -> list[Reference]:
        res = _resolve(self.conf, ref, self.opts)
        if res.note:
            self.emit(Event("note", text=res.note))
        return res.candidates

    def pull(self, ref: str) -> "object":
        """Pull one reference (a short name tries its candidates in order);
        returns the stored Image."""
        candidates = self.candidates(ref)
        errors: list[PypodError] = []
        with Session(self.opts.registry) as session:
            for cand in candidates:
                self.emit(Event("trying", text=str(cand)))
                try:
                    return self._pull_ref(session, cand)
                except (ManifestUnknown, RegistryUnauthorized, RegistryError) as e:
                    if len(candidates) == 1:
                        raise
                    errors.append(e)
        raise _combined(ref, candidates, errors)

    def pull_all_tags(self, ref: str) -> list:
        r = self.candidates(ref)[0]
        if r.digest or (r.tag and r.tag != "latest" and ":" in ref.rsplit("/", 1)[-1]):
            raise InvalidArgument("tag can't be used with --all-tags/-a")
        out = []
        with Session(self.opts.registry) as session:
            ep = self.conf.endpoints(r)[-1]
            reg = session.registry(ep.ref.domain, ep.insecure)
            tags = reg.tags(ep.ref.path)
            for tag in tags:
                cand = r.with_tag(tag)
                self.emit(Event("trying", text=str(cand)))
                out.append(self._pull_ref(session, cand))
        return out

    def _pull_ref(self, session: Session, ref: Reference):
        endpoints = self.conf.endpoints(ref)
        last: PypodError | None = None
        for ep in endpoints:
            try:
                return self._pull_endpoint(session, ref, ep)
            except (RegistryError, ManifestUnknown) as e:
                if not ep.mirror:
                    raise
                last = e  # a mirror that fails: on to the next, then the registry itself
        raise last or RegistryError(f"no endpoint for {ref}")

    # -- one endpoint --------------------------------------------------------------------

    def _manifest(self, reg: Registry, repo: str, version: str, ref_text: str) -> tuple[bytes, str, str]:
        data, ctype, header_digest = reg.get_manifest(repo, version, mf.ACCEPT, ref_text)
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if version.startswith("sha256:"):
            _verify_bytes(data, version, f"manifest {version} of {reg.host}/{repo}")
        elif header_digest.startswith("sha256:") and header_digest != digest:
            raise InvalidArgument(f"manifest {version} of {reg.host}/{repo}: digest mismatch: the registry says "
                                  f"{header_digest}, the bytes hash to {digest}")
        return data, mf.media_type_of(data, ctype), digest

    def resolve_manifest(self, reg: Registry, repo: str, version: str, ref_text: str) -> tuple[bytes, mf.ImageManifest, str, str]:
        """(manifest bytes, parsed, its digest, the index's digest or "")."""
        data, mt, digest = self._manifest(reg, repo, version, ref_text)
        parsed = mf.parse(data, mt)
        list_digest = ""
        if isinstance(parsed, mf.Index):
            os_name, arch, variant = self.opts.platform or mf.host_platform()
            if self.opts.platform is None:
                variant = ""  # this machine's variant is a preference, not a requirement
            try:
                chosen = mf.select_platform(parsed, os_name, arch, variant)
            except InvalidArgument as e:
                raise InvalidArgument(f"choosing an image from manifest list docker://{ref_text}: {e}") from None
            list_digest = digest
            data, mt, digest = self._manifest(reg, repo, chosen.digest, ref_text)
            _verify_bytes(data, chosen.digest, f"manifest {chosen.digest} of {reg.host}/{repo}")
            parsed = mf.parse(data, mt)
            if isinstance(parsed, mf.Index):
                raise InvalidArgument(f"manifest list docker://{ref_text} names another list for its platform")
        assert isinstance(parsed, mf.ImageManifest)
        return data, parsed, digest, list_digest

    def _pull_endpoint(self, session: Session, ref: Reference, ep: Endpoint):
        reg = session.registry(ep.ref.domain, ep.insecure)
        repo = ep.ref.path
        ref_text = str(ep.ref)
        try:
            data, manifest, digest, list_digest = self.resolve_manifest(reg, repo, ep.ref.version, ref_text)
        except (ManifestUnknown, RegistryUnauthorized, RegistryError) as e:
            raise type(e)(f"initializing source docker://{ref_text}: {e}") from None
        failpoint("pull.after-manifest")
        names = [str(ref)] if ref.tag and not ref.digest else []
        digests = [f"{ref.name}@{digest}"] + ([f"{ref.name}@{list_digest}"] if list_digest else [])
        self.emit(Event("signatures"))
        with self.store.locked(exclusive=False):  # idle, it first sweeps what killed pulls left
            config_hex = manifest.config.digest.split(":", 1)[1]
            present = self.store.get(config_hex)
            if present is not None and all(self.store.layer_present(d) for d in present.layers):
                # Already here: only the names change (podman still lists the blobs).
                for layer in manifest.layers:
                    self.emit(Event("blob", layer.digest, "exists", layer.size, layer.size))
                with open(self.store.blob_path(config_hex), "rb") as f:
                    config = f.read()
                self.emit(Event("config", manifest.config.digest, "done"))
                self.emit(Event("manifest"))
                img = self.store.register(config, names, data, digests)
                self.emit(Event("storing"))
                self.emit(Event("pulled", img.id, text=str(ref)))
                return img
            config = self._config(reg, repo, manifest)
            diff_ids, doc = self._diff_ids(config, manifest, ref_text)
            self._check_platform(doc, ref_text)
            self._layers(reg, repo, manifest, diff_ids)
            self.emit(Event("config", manifest.config.digest, "done"))
            self.emit(Event("manifest"))
            failpoint("pull.before-commit")
            img = self.store.register(config, names, data, digests)
            failpoint("pull.after-commit")
            self.emit(Event("storing"))
        self.emit(Event("pulled", img.id, text=str(ref)))
        return img

    def _retrying(self, reg: Registry, what: str, fetch: Callable[[], object]):
        """fetch() again (after the back-off) when the connection broke
        while the body streamed, up to --retry times.  The registry's
        answers are not retried here: each request already was."""
        import time

        from .transport import ConnectError

        retries = max(0, self.opts.registry.retries)
        for attempt in range(retries + 1):
            try:
                return fetch()
            except RegistryError as e:
                raise type(e)(f"copying {what}: {e}") from None
            except ConnectError as e:
                if attempt >= retries:
                    raise RegistryError(f"copying {what}: {e}") from None
                time.sleep(reg._delay(attempt))

    def _config(self, reg: Registry, repo: str, manifest: mf.ImageManifest) -> bytes:
        desc = manifest.config
        if desc.size > mf.MAX_CONFIG:
            raise InvalidArgument(f"config {desc.digest} of {reg.host}/{repo}: {desc.size} bytes is too large")

        def fetch() -> bytes:
            with reg.get_blob(repo, desc.digest) as resp:
                return resp.read(desc.size + 1)

        data = self._retrying(reg, f"config {desc.digest} of {reg.host}/{repo}", fetch)
        if len(data) != desc.size:
            raise InvalidArgument(f"config {desc.digest} of {reg.host}/{repo}: {len(data)} bytes where the manifest says {desc.size}")
        _verify_bytes(data, desc.digest, f"config {desc.digest} of {reg.host}/{repo}")
        return data

    def _diff_ids(self, config: bytes, manifest: mf.ImageManifest, ref_text: str) -> tuple[list[str], dict]:
        import json

        try:
            doc = json.loads(config)
            diff_ids = doc["rootfs"]["diff_ids"]
        except (ValueError, KeyError, TypeError):
            raise InvalidArgument(f"image config of {ref_text} has no rootfs.diff_ids") from None
        if not isinstance(diff_ids, list) or len(diff_ids) != len(manifest.layers):
            raise InvalidArgument(f"image {ref_text}: the config names {len(diff_ids) if isinstance(diff_ids, list) else 0} "
                                  f"layers, the manifest {len(manifest.layers)}")
        for d in diff_ids:
            if not isinstance(d, str) or not d.startswith("sha256:") or len(d) != 71:
                raise InvalidArgument(f"image {ref_text}: invalid diff ID {d!r} in its config")
        return diff_ids, doc

    def _check_platform(self, doc: dict, ref_text: str) -> None:
        """A single-platform image for another platform: refused when a
        platform was asked for, else pulled with podman's warning."""
        want_os, want_arch, _ = self.opts.platform or mf.host_platform()
        have_os, have_arch = doc.get("os") or "linux", doc.get("architecture") or ""
        if not have_arch or (have_os, have_arch) == (want_os, want_arch):
            return
        if self.opts.platform is not None:
            raise InvalidArgument(f"image {ref_text} is for {have_os}/{have_arch} only, not {want_os}/{want_arch}")
        self.emit(Event("note", text=f"WARNING: image platform ({have_os}/{have_arch}) does not match the expected "
                                      f"platform ({want_os}/{want_arch})"))

    def _layers(self, reg: Registry, repo: str, manifest: mf.ImageManifest, diff_ids: list[str]) -> None:
        todo = []
        for desc, diff_id in zip(manifest.layers, diff_ids):
            if self.store.layer_present(diff_id):
                self.emit(Event("blob", desc.digest, "exists", desc.size, desc.size))
            else:
                todo.append((desc, diff_id))
        if not todo:
            return
        for desc, _ in todo:
            self.emit(Event("blob", desc.digest, "start", 0, desc.size))
        workers = max(1, min(self.opts.parallel, len(todo)))
        if workers == 1:
            for desc, diff_id in todo:
                self._layer(reg, repo, desc, diff_id)
            return
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers, thread_name_prefix="pull") as pool:
            futures = [pool.submit(self._layer, reg, repo, desc, diff_id) for desc, diff_id in todo]
            errors = []
            for f in futures:
                try:
                    f.result()
                except BaseException as e:  # every worker finishes (or fails) before the pull says why
                    errors.append(e)
            if errors:
                raise errors[0]

    def _layer(self, reg: Registry, repo: str, desc: mf.Descriptor, diff_id: str) -> None:
        what = f"{desc.digest} of {reg.host}/{repo}"

        def progress(n: int) -> None:
            self.emit(Event("blob", desc.digest, "progress", n, desc.size))

        def fetch() -> None:
            # a broken download is fetched whole again: add_layer dropped what it had unpacked
            with reg.get_blob(repo, desc.digest) as resp:
                self.store.add_layer(resp, diff_id, what, desc.digest, size=desc.size, progress=progress)

        with self.store.layer_lock(diff_id):
            if self.store.layer_present(diff_id):
                self.emit(Event("blob", desc.digest, "exists", desc.size, desc.size))
                return
            self._retrying(reg, f"blob {what}", fetch)
        self.emit(Event("blob", desc.digest, "done", desc.size, desc.size))
        failpoint("pull.after-layer")


def _resolve(conf: RegistriesConf, ref: str, opts: PullOptions):
    from .shortnames import resolve

    return resolve(conf, ref, opts.can_prompt, opts.prompt)


def _combined(ref: str, candidates: list[Reference], errors: list[PypodError]) -> PypodError:
    """podman's words when every candidate of a short name failed."""
    lines = "\n".join(f"  * {e}" for e in errors)
    text = f"{len(errors)} errors occurred while pulling:\n{lines}" if len(errors) > 1 else str(errors[0])
    kind = type(errors[-1]) if all(type(e) is type(errors[-1]) for e in errors) else RegistryError
    return kind(text)
