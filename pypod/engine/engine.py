"""The engine: the one object every front door (library, CLI, REST service)
holds.  It owns the store, the runtime, image and container storage and the
event log, and hands out the objects (containers, images, ...) whose own
modules know their operations; no front door talks to conmon, runc, the
store or the storage layer on its own."""

from __future__ import annotations

import os
import sys
import time

from .. import trace
from ..config import EngineConfig, load_config
from ..failpoints import failpoint
from ..lean import cached_property
from ..errors import (
    ImageInUse,
    InvalidArgument,
    NameInUse,
    NoSuchContainer,
    PypodError,
)
from .status import Status

TYPE_CHECKING = False  # typing's import would cost every command ~5 ms
if TYPE_CHECKING:
    from .container import ContainerConfig
    from .lifecycle import Container

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..storage.images import Image


class Engine:
    """A pypod engine over one root (persistent) and run root (volatile)."""

    def __init__(self, config: EngineConfig | None = None, **overrides):
        if os.geteuid() != 0:  # a library user's process: into the user's namespace first
            from .. import rootless

            rootless.enter()
        self.config = config if config is not None else load_config(**overrides)

    # -- lazily built parts: a `pypod ps` never builds the runtime --------

    @cached_property
    def rootless(self) -> bool:
        """An ordinary user's engine, in its user namespace (pypod/rootless.py)."""
        from .. import rootless

        return rootless.is_rootless()

    @cached_property
    def _private_roots(self) -> bool:
        """The root and run root exist and are private (0700), whichever
        part of the engine is built first; a wider mode is repaired."""
        from .. import private

        private.open_root(self.config.root, "root directory")
        private.open_root(self.config.runroot, "run root directory")
        return True

    @cached_property
    def store(self):
        from .store import Store

        assert self._private_roots
        if self.config.storage_driver:
            self.storage_driver  # an explicit --storage-driver must match the root's, whatever the command
        store = Store(self.config.db_path)
        trace.step("store: opened")
        return store

    @cached_property
    def storage_driver(self) -> str:
        return storage_driver_of(self.config.storage_dir, self.config.storage_driver)

    @cached_property
    def runtime(self):
        from .. import private
        from ..oci.conmon import select_runtime

        assert self._private_roots
        for d in (self.config.exits_dir, self.config.sockets_dir, self.config.runtime_root):
            private.makedirs(d)
        rt = select_runtime(self.config)
        trace.step(f"runtime: {rt.name} found")
        return rt

    def runtime_for(self, name: str):
        """The runtime a container was made with: the engine's own unless
        it names another (each found once per engine)."""
        if not name or name == self.config.runtime:
            return self.runtime
        cache = self.__dict__.setdefault("_other_runtimes", {})
        if name not in cache:
            from ..config import replace
            from ..oci.conmon import select_runtime

            cache[name] = select_runtime(replace(self.config, runtime=name), fallback=False)
        return cache[name]

    @cached_property
    def images(self):
        from ..storage.images import ImageStore

        assert self._private_roots
        return ImageStore(self.config.storage_dir)

    @cached_property
    def container_storage(self):
        from ..storage.overlay import ContainerStorage

        assert self._private_roots
        if self.storage_driver == "vfs":
            from ..storage.vfs import VfsContainerStorage

            return VfsContainerStorage(self.config.storage_dir)
        opts = [o.partition("=")[2] for o in self.config.storage_opts if o.startswith("overlay.mountopt=")]
        program = next((o.partition("=")[2] for o in self.config.storage_opts if o.startswith("overlay.mount_program=")), "")
        if not program and self.rootless:
            from ..storage.overlay import rootless_mount_program

            program = rootless_mount_program(self.config.storage_dir)
        return ContainerStorage(self.config.storage_dir, ",".join(o for o in opts if o), program)

    @cached_property
    def volumes(self):
        from .volumes import Volumes

        return Volumes(self)

    @cached_property
    def events(self):
        from .events import EventLog

        assert self._private_roots
        return EventLog(self.config.events_file, self.config.events_backend)

    @cached_property
    def networks(self):
        """Network definitions (network/netdefs.py)."""
        from ..network.netdefs import NetworkDefs

        from .locks import FileLock

        return NetworkDefs(self.config, FileLock)

    @cached_property
    def netstore(self):
        """IP allocations and network sandboxes (network/store.py)."""
        from ..network.store import NetStore

        self.store  # noqa: B018 -- makes the root and the database file, private, first
        return NetStore(self.config.db_path)

    @cached_property
    def netavark(self):
        from ..network.netavark import Netavark

        from .locks import FileLock

        return Netavark(self.config, FileLock)

    @cached_property
    def pods(self):
        from .pods import Pods

        self.store  # noqa: B018 -- makes the root and the database file, private, first
        return Pods(self)

    def close(self) -> None:
        for part in ("store", "netstore", "pods", "images"):
            if part in self.__dict__:
                self.__dict__[part].close()

    # -- containers --------------------------------------------------------

    def create_container(self, cfg: ContainerConfig) -> Container:
        """Record a new container (state 'configured'); nothing runs yet."""
        from .naming import new_id, random_name, validate_name

        cfg.id = cfg.id or new_id()
        image_volumes: list[str] = []
        if cfg.name:
            validate_name(cfg.name)
        if cfg.rootfs:
            if not os.path.isdir(cfg.rootfs):
                raise InvalidArgument(f"rootfs {cfg.rootfs} is not a directory: invalid argument")
            cfg.rootfs = os.path.realpath(cfg.rootfs)
        elif cfg.image:
            image_volumes = self._apply_image(cfg)
            trace.step(f"image: {cfg.image} looked up")
        else:
            raise InvalidArgument("an image or --rootfs is required")
        if not cfg.args:
            raise InvalidArgument("no command or entrypoint provided, and no CMD or ENTRYPOINT from image")
        if cfg.mounts or cfg.fs.volumes_from or image_volumes:
            from .mounts import resolve

            resolve(self, cfg, image_volumes)
        from ..containers_conf import containers_table
        from . import defaults, hostcheck

        defaults.apply(cfg, containers_table(self.config.runroot))
        hostcheck.check(self, cfg)
        if cfg.pod:
            self.pods.admit(cfg)
        from . import namespaces

        namespaces.resolve_mode(self, cfg)
        if cfg.secrets:
            for secret, _env in cfg.secrets:
                self.store.lookup_secret(secret)
        cfg.hostname = cfg.hostname or cfg.id[:12]
        cfg.namespace = self.config.namespace
        cfg.runtime = cfg.runtime or self.config.runtime
        cfg.created = time.time()
        from .container import ContainerState

        state = ContainerState()
        attempt = 0
        with self._claim_volumes(cfg):
            while True:
                name = cfg.name or random_name(attempt)
                try:
                    self.store.add_container(cfg.id, name, {**cfg.to_dict(), "name": name}, state.to_dict(), cfg.created)
                    cfg.name = name
                    break
                except NameInUse:
                    if cfg.name:
                        raise
                    attempt += 1
        failpoint("create.after-record")
        trace.step("store: container recorded")
        from .lifecycle import Container

        ctr = Container(self, cfg, state)
        self.events.container(ctr, "create")
        return ctr

    def run(self, image: str, command: list[str] | None = None, *, detach: bool = False,
            stdout: int | None = None, stderr: int | None = None, **config) -> "tuple[Container, int | None]":
        """Create and start a container, as `pypod run` does.

        Detached, returns at once with (container, None).  Otherwise waits
        and returns (container, exit code); its output is in container.logs()
        and, when stdout/stderr file descriptors are given, written there too.
        config takes ContainerConfig fields (name, env, user, mounts, ...).
        """
        from .container import ContainerConfig

        cfg = ContainerConfig(image=image, command=list(command or []), **config)
        ctr = self.create_container(cfg)
        try:
            if detach or (stdout is None and stderr is None):
                ctr.start()
                return ctr, (None if detach else ctr.wait())
            from .attach import AttachStreams

            return ctr, ctr.start_attached(AttachStreams(stdin=None, stdout=stdout, stderr=stderr))
        except BaseException:
            try:
                ctr.remove(force=True, volumes=True)
            except PypodError:
                pass
            raise

    def _apply_image(self, cfg: ContainerConfig) -> list[str]:
        """Fill what the user left unset from the image; returns its VOLUMEs."""
        image, name = self.images.lookup_named(cfg.image)
        # podman names a container's image by what it was found by, else (an id) by the image's first name
        cfg.image_id, cfg.image_name = image.id, name or (image.names[0] if image.names else "")
        ic = image.config or {}
        if not cfg.entrypoint and not cfg.command:
            cfg.entrypoint = list(ic.get("Entrypoint") or [])
            cfg.command = list(ic.get("Cmd") or [])
        elif not cfg.entrypoint and cfg.command and ic.get("Entrypoint"):
            cfg.entrypoint = list(ic["Entrypoint"])
        cfg.env = [*cfg.process.kept_defaults(ic.get("Env") or []), *cfg.env]
        from .health import complete, from_docker_shape

        cfg.health = complete(cfg.health, from_docker_shape(ic.get("Healthcheck")))
        cfg.workdir = cfg.workdir or ic.get("WorkingDir") or ""
        cfg.user = cfg.user or ic.get("User") or ""
        cfg.labels = {**(ic.get("Labels") or {}), **cfg.labels}
        for port in ic.get("ExposedPorts") or {}:
            port = port if "/" in port else f"{port}/tcp"
            if port not in cfg.networking.expose:
                cfg.networking.expose.append(port)
        if ic.get("StopSignal") and cfg.stop_signal == 15:
            from ..proto.signals import parse_signal

            cfg.stop_signal = parse_signal(ic["StopSignal"])
        return sorted(ic.get("Volumes") or {})

    def _claim_volumes(self, cfg: ContainerConfig):
        if any(m.type == "volume" for m in cfg.mounts):
            return self.volumes.claim(cfg)
        from ..lean import suppress

        return suppress()  # nothing to claim: contextlib.nullcontext() without contextlib

    def container(self, name_or_id: str) -> Container:
        cid = self.store.lookup_id(name_or_id)
        ctr = self._load(cid)
        if self.config.namespace and ctr.config.namespace != self.config.namespace:
            raise NoSuchContainer(f'no container with name or ID "{name_or_id}" found: no such container')
        return ctr

    def _load(self, cid: str) -> Container:
        from .container import ContainerConfig, ContainerState
        from .lifecycle import Container

        cfg, st = self.store.get_container(cid)
        return Container(self, ContainerConfig.from_dict(cfg), ContainerState.from_dict(st))

    def containers(self, sync: bool = True, mentioning: str = "") -> list[Container]:
        """Every container of this namespace, oldest first; mentioning: only
        those whose stored config has that text in it (read from the store
        alone, the rest never parsed)."""
        ns = self.config.namespace
        rows = self.store.containers_mentioning(mentioning) if mentioning else self.store.all_containers()
        rows = [(c, s) for c, s in rows if not ns or c.get("namespace", "") == ns]
        if not rows:
            return []  # `ps` of an empty store imports no container configuration nor lifecycle
        from .container import ContainerConfig, ContainerState
        from .lifecycle import Container

        out = [Container(self, ContainerConfig.from_dict(c), ContainerState.from_dict(s)) for c, s in rows]
        if not sync:
            return out
        alive = []
        for c in out:
            try:
                c.sync_cheap()
            except NoSuchContainer:
                continue  # removed since we listed it (conmon's cleanup --rm)
            alive.append(c)
        return alive

    def stale_locks(self) -> list[str]:
        """Lock files of containers that no longer exist: a removal killed
        between deleting the record and its lock leaves one."""
        from .locks import FileLock

        try:
            names = os.listdir(self.config.locks_dir)
        except FileNotFoundError:
            return []
        ids = set(self.store.container_ids())
        stale = []
        for n in names:
            cid = n[:-5]
            if not n.endswith(".lock") or len(cid) != 64 or cid.strip("0123456789abcdef") or cid in ids:
                continue  # not a container's lock (volumes keep theirs here too), or a live one
            lock = FileLock(os.path.join(self.config.locks_dir, n))
            lock.acquire()
            try:
                # Held: nobody acts on it now; ids are never reused, so a
                # lock without a record stays without one.
                if not self.store.has_container(n[:-5]):
                    stale.append(lock.path)
            finally:
                lock.release()
        return stale

    def remove_stale_locks(self) -> int:
        from .locks import FileLock

        gone = 0
        for path in self.stale_locks():
            lock = FileLock(path)
            lock.acquire()
            try:
                if not self.store.has_container(os.path.basename(path)[:-5]):
                    lock.unlink()
                    gone += 1
            finally:
                lock.release()
        return gone

    def commit(self, container: str, reference: str | None = None, **options) -> "Image":
        """A new image from the container's changes (engine/commit.py has the options)."""
        from .commit import commit

        return commit(self, container, reference, **options)

    def stats(self, names: list[str] = (), all_: bool = False) -> list:
        """One resource sample per container (engine/stats.py's Sample)."""
        from .stats import collect

        return collect(self, list(names), all_=all_)

    def latest_container(self) -> Container:
        ctrs = self.containers(sync=False)
        if not ctrs:
            raise NoSuchContainer("no containers to use as latest: no such container")
        return max(ctrs, key=lambda c: c.config.created)

    def prune_containers(self, filters: dict[str, list[str]] | None = None) -> list[tuple[str, int]]:
        """Remove every container that is not running (and matches the prune
        filters: label, label!, until); returns (ID, bytes freed) of each."""
        from .filters import container_predicate
        from .listing import container_size

        keep = container_predicate(self, filters or {}, prune=True)
        removed = []
        for ctr in self.containers():
            if ctr.state.status not in (Status.CONFIGURED, Status.CREATED, Status.STOPPED, Status.EXITED):
                continue
            if not keep(ctr):
                continue
            try:
                size = container_size(ctr)["rwSize"]
                ctr.remove(force=False)
            except PypodError:
                continue  # started or removed meanwhile: not ours to prune any more
            removed.append((ctr.id, size))
        return removed

    def dependents(self, cid: str) -> list[Container]:
        """The containers that name cid in their depends_on.  Each removal
        asks: only the configs with the ID in their text are parsed, not the
        whole store's."""
        return [c for c in self.containers(sync=False, mentioning=cid) if cid in c.config.depends_on]

    def remove_container_and_dependents(self, ctr: Container, force: bool = False, timeout: int | None = None,
                                        volumes: bool = False) -> list[str]:
        """`rm --depend`: the containers that depend on ctr first (depth
        first), then ctr; returns the IDs removed, in order."""
        removed: list[str] = []

        def visit(c: Container, seen: set[str]) -> None:
            seen.add(c.id)
            for dep in self.dependents(c.id):
                if dep.id not in seen and dep.id not in removed:
                    visit(dep, seen)
            c.remove(force=force, timeout=timeout, volumes=volumes)
            removed.append(c.id)

        visit(ctr, set())
        return removed

    def external_containers(self) -> list[str]:
        """Writable layers in storage that no container of the store owns
        (left by a crash, or by another tool): `ps --external` lists them."""
        known = set(self.store.container_ids())
        return [cid for cid in self.container_storage.ids() if cid not in known]

    def remove_image(self, ref: str, force: bool = False) -> list[str]:
        image = self.images.lookup(ref)
        users = [c for c in self.containers(sync=False) if c.config.image_id == image.id]
        if users:
            if not force:
                raise ImageInUse(
                    f"image used by {users[0].id}: image is in use by a container: consider listing external containers and force-removing image"
                )
            for c in users:
                c.remove(force=True)
        lines = self.images.remove(ref, force=force)
        self.events.write("image", "remove", image.id, ref)
        return lines

    # -- registries (pypod/registry/operations.py) ----------------------------

    def pull(self, ref: str, progress=None, *, platform=None, **registry):
        """Pull an image and return it.  progress(event) sees each step
        (pypod.registry.pull.Event).  registry keywords: tls_verify, creds
        ("user:password"), authfile, cert_dir, retries, retry_delay;
        platform: "os/arch[/variant]"."""
        from ..registry import operations as ops

        return ops.pull(self, ref, progress, args=ops.registry_args(**registry), platform=ops.platform_arg(platform))[0]

    def pull_all_tags(self, ref: str, progress=None, *, platform=None, **registry) -> list:
        from ..registry import operations as ops

        return ops.pull(self, ref, progress, args=ops.registry_args(**registry), platform=ops.platform_arg(platform),
                        all_tags=True)

    def push(self, image: str, destination: str = "", progress=None, *, format: str = "", compression: str = "",
             **registry) -> str:
        """Push a local image (to its own name, or destination); returns
        the manifest digest.  format: "oci" or "v2s2"; compression: "gzip" or "zstd"."""
        from ..registry import operations as ops

        return ops.push(self, image, destination, progress, args=ops.registry_args(**registry), fmt=format,
                        compression=compression)

    def exit_command(self, ctr_id: str, auto_remove: bool) -> list[str]:
        """What conmon runs when the container exits: `pypod container cleanup`."""
        c = self.config
        prog = c.pypod_binary or _pypod_program()
        cmd = [*prog, "--root", c.root, "--runroot", c.runroot, "--runtime", c.runtime, "--log-level", c.log_level,
               *global_flags(c), "container", "cleanup"]
        if auto_remove:
            cmd.append("--rm")
        return [*cmd, ctr_id]

    def info(self) -> dict:
        """podman's Info as JSON (engine/sysinfo.py)."""
        from .sysinfo import as_json, info

        return as_json(info(self))


def storage_driver_of(storage_dir: str, wanted: str) -> str:
    """The root's storage driver: recorded by its first use (as podman's
    database records it); a different one asked for explicitly is an error."""
    path = os.path.join(storage_dir, "driver")
    try:
        with open(path) as f:
            recorded = f.read().strip()
    except FileNotFoundError:
        recorded = ""
    if not recorded:
        from .. import private

        import _thread

        private.makedirs(storage_dir)
        # per thread too: `rm -a`'s workers may all be the first to record it
        tmp = f"{path}.{os.getpid()}.{_thread.get_ident()}"
        private.write_file(tmp, (wanted or "overlay") + "\n")
        try:
            os.link(tmp, path)  # the first writer wins; a loser reads what it wrote
        except FileExistsError:
            pass
        os.unlink(tmp)
        with open(path) as f:
            recorded = f.read().strip()
    if wanted and recorded != wanted:
        raise InvalidArgument(f'database storage graph driver "{recorded}" does not match our storage graph driver '
                              f'"{wanted}": database configuration mismatch')
    return recorded


def global_flags(c: EngineConfig) -> list[str]:
    """The settings beyond root, runroot, runtime and log level that another
    pypod process (conmon's exit command) must share with this one, as flags."""
    from ..config import DEFAULT_HOOKS_DIRS

    out: list[str] = []
    for flag, value, default in (("--events-backend", c.events_backend, "file"), ("--storage-driver", c.storage_driver, ""),
                                 ("--tmpdir", c.tmpdir, ""), ("--volumepath", c.volume_path, ""),
                                 ("--cgroup-manager", c.cgroup_manager, "cgroupfs")):
        if value != default:
            out += [flag, value]
    for flag, value in (("--config", c.config_file), ("--network-config-dir", c.network.network_config_dir),
                        ("--network-cmd-path", c.network.network_cmd_path)):
        if value:
            out += [flag, value]
    for opt in c.storage_opts:
        out += ["--storage-opt", opt]
    for flag in c.runtime_flags:
        out += ["--runtime-flag", flag]
    if tuple(c.hooks_dirs) != DEFAULT_HOOKS_DIRS:
        out += [f"--hooks-dir={d}" for d in c.hooks_dirs] or ["--hooks-dir="]
    return out


def _pypod_program() -> list[str]:
    """How to run pypod again from conmon: our console script if it sits
    beside this interpreter (a venv), else this interpreter with -m."""
    script = os.path.join(os.path.dirname(sys.executable), "pypod")
    if os.access(script, os.X_OK):
        return [script]
    return [sys.executable, "-m", "pypod"]
