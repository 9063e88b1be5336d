"""The engine: the one object every front door (library, CLI, REST service)
holds.  It owns the store, the runtime, image and container storage and the
event log, and hands out the objects (containers, images, ...) whose own
modules know their operations; no front door talks to conmon, runc, the
store or the storage layer on its own."""

from __future__ import annotations

import os
import sys
import time
from functools import cached_property

from .. import trace
from ..config import EngineConfig, load_config
from ..errors import (
    ImageInUse,
    InvalidArgument,
    NoSuchContainer,
    PypodError,
)
from .container import ContainerConfig, ContainerState, Status
from .lifecycle import Container


class Engine:
    """A pypod engine over one root (persistent) and run root (volatile)."""

    def __init__(self, config: EngineConfig | None = None, **overrides):
        self.config = config if config is not None else load_config(**overrides)

    # -- lazily built parts: a `pypod ps` never builds the runtime --------

    @cached_property
    def store(self):
        from .store import Store

        store = Store(self.config.db_path)
        trace.step("store: opened")
        return store

    @cached_property
    def runtime(self):
        from ..oci.conmon import select_runtime

        for d in (self.config.exits_dir, self.config.sockets_dir, self.config.runtime_root):
            os.makedirs(d, mode=0o700, exist_ok=True)
        rt = select_runtime(self.config)
        trace.step(f"runtime: {rt.name} found")
        return rt

    @cached_property
    def images(self):
        from ..storage.images import ImageStore

        return ImageStore(self.config.storage_dir)

    @cached_property
    def container_storage(self):
        from ..storage.overlay import ContainerStorage

        return ContainerStorage(self.config.storage_dir)

    @cached_property
    def volumes(self):
        from .volumes import Volumes

        return Volumes(self)

    @cached_property
    def events(self):
        from .events import EventLog

        return EventLog(self.config.runroot)

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()

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
        if cfg.secrets:
            for secret, _env in cfg.secrets:
                self.store.lookup_secret(secret)
        cfg.hostname = cfg.hostname or cfg.id[:12]
        cfg.created = time.time()
        state = ContainerState()
        attempts = 0 if cfg.name else 10
        with self._claim_volumes(cfg):
            while True:
                name = cfg.name or random_name()
                try:
                    self.store.add_container(cfg.id, name, {**cfg.to_dict(), "name": name}, state.to_dict(), cfg.created)
                    cfg.name = name
                    break
                except PypodError:
                    attempts -= 1
                    if attempts < 0:
                        raise
        trace.step("store: container recorded")
        ctr = Container(self, cfg, state)
        self.events.write("container", "create", cfg.id, cfg.name, cfg.image)
        return ctr

    def run(self, image: str, command: list[str] | None = None, *, detach: bool = False,
            stdout: int | None = None, stderr: int | None = None, **config) -> "tuple[Container, int | None]":
        """Create and start a container, as `pypod run` does.

        Detached, returns at once with (container, None).  Otherwise waits
        and returns (container, exit code); its output is in container.logs()
        and, when stdout/stderr file descriptors are given, written there too.
        config takes ContainerConfig fields (name, env, user, mounts, ...).
        """
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
        image = self.images.lookup(cfg.image)
        cfg.image_id = image.id
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
        if ic.get("StopSignal") and cfg.stop_signal == 15:
            from ..proto.signals import parse_signal

            cfg.stop_signal = parse_signal(ic["StopSignal"])
        return sorted(ic.get("Volumes") or {})

    def _claim_volumes(self, cfg: ContainerConfig):
        import contextlib

        if any(m.type == "volume" for m in cfg.mounts):
            return self.volumes.claim(cfg)
        return contextlib.nullcontext()

    def container(self, name_or_id: str) -> Container:
        cid = self.store.lookup_id(name_or_id)
        return self._load(cid)

    def _load(self, cid: str) -> Container:
        cfg, st = self.store.get_container(cid)
        return Container(self, ContainerConfig.from_dict(cfg), ContainerState.from_dict(st))

    def containers(self, sync: bool = True) -> list[Container]:
        out = [Container(self, ContainerConfig.from_dict(c), ContainerState.from_dict(s)) for c, s in self.store.all_containers()]
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

    def latest_container(self) -> Container:
        ctrs = self.containers(sync=False)
        if not ctrs:
            raise NoSuchContainer("no containers to use as latest: no such container")
        return max(ctrs, key=lambda c: c.config.created)

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

    def exit_command(self, ctr_id: str, auto_remove: bool) -> list[str]:
        """What conmon runs when the container exits: `pypod container cleanup`."""
        c = self.config
        prog = c.pypod_binary or _pypod_program()
        cmd = [*prog, "--root", c.root, "--runroot", c.runroot, "--runtime", c.runtime, "--log-level", c.log_level, "container", "cleanup"]
        if auto_remove:
            cmd.append("--rm")
        return [*cmd, ctr_id]

    def info(self) -> dict:
        import platform

        conmon, rt = self.runtime.info()
        ctrs = self.containers()
        counts = {s: sum(1 for c in ctrs if c.state.status == s) for s in Status}
        uname = platform.uname()
        cg2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
        return {
            "host": {
                "arch": uname.machine,
                "hostname": uname.node,
                "kernel": uname.release,
                "os": "linux",
                "cgroupManager": self.config.cgroup_manager,
                "cgroupVersion": "v2" if cg2 else "v1",
                "conmon": {"package": conmon.package, "path": conmon.path, "version": conmon.version},
                "ociRuntime": {"name": rt.name, "package": rt.package, "path": rt.path, "version": rt.version},
                "cpus": os.cpu_count(),
                "memTotal": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
                "security": {"rootless": os.geteuid() != 0, "capabilities": "", "selinuxEnabled": False},
                "logDriver": "k8s-file",
                "eventLogger": "file",
            },
            "store": {
                "graphRoot": self.config.root,
                "runRoot": self.config.runroot,
                "graphDriverName": "overlay",
                "containerStore": {
                    "number": len(ctrs),
                    "running": counts[Status.RUNNING],
                    "paused": counts[Status.PAUSED],
                    "stopped": len(ctrs) - counts[Status.RUNNING] - counts[Status.PAUSED],
                },
                "imageStore": {"number": len(self.images.list())},
            },
            "version": {"APIVersion": "4.3.1", "Version": _version(), "GoVersion": "python" + platform.python_version(), "OsArch": f"linux/{uname.machine}"},
        }


def _version() -> str:
    from .. import __version__

    return __version__


def _pypod_program() -> list[str]:
    """How to run pypod again from conmon: our console script if it sits
    beside this interpreter (a venv), else this interpreter with -m."""
    script = os.path.join(os.path.dirname(sys.executable), "pypod")
    if os.access(script, os.X_OK):
        return [script]
    return [sys.executable, "-m", "pypod"]
