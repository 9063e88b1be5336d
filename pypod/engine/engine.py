"""The engine: the one place that knows how a container goes through its life.

Every front door (library, CLI, REST service) calls these methods; none of
them talks to conmon, runc, the store or the storage layer on its own.

Concurrency: each container has a cross-process lock (engine/locks.py).
Everything that reads a container's state and acts on it holds the lock;
waiting for a container to exit never does, so others can stop it meanwhile.
Crash consistency: state is written after each step that changed the world,
and every step of teardown tolerates finding its piece already gone, so a
pypod killed at any point leaves work the next call can finish.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from functools import cached_property

from ..config import EngineConfig, load_config
from ..errors import (
    AlreadyInState,
    ContainerRunning,
    ImageInUse,
    InvalidArgument,
    InvalidState,
    NoSuchContainer,
    PypodError,
)
from .container import ContainerConfig, ContainerPaths, ContainerState, Status
from .locks import FileLock

_ACTIVE = (Status.CREATED, Status.RUNNING, Status.PAUSED)


class Engine:
    """A pypod engine over one root (persistent) and run root (volatile)."""

    def __init__(self, config: EngineConfig | None = None, **overrides):
        self.config = config if config is not None else load_config(**overrides)

    # -- lazily built parts: a `pypod ps` never builds the runtime --------

    @cached_property
    def store(self):
        from .store import Store

        return Store(self.config.db_path)

    @cached_property
    def runtime(self):
        from ..oci.conmon import select_runtime

        for d in (self.config.exits_dir, self.config.sockets_dir, self.config.runtime_root):
            os.makedirs(d, mode=0o700, exist_ok=True)
        return select_runtime(self.config)

    @cached_property
    def images(self):
        from ..storage.images import ImageStore

        return ImageStore(self.config.storage_dir)

    @cached_property
    def container_storage(self):
        from ..storage.overlay import ContainerStorage

        return ContainerStorage(self.config.storage_dir)

    @cached_property
    def events(self):
        from .events import EventLog

        return EventLog(self.config.runroot)

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()

    # -- containers --------------------------------------------------------

    def create_container(self, cfg: ContainerConfig) -> "Container":
        """Record a new container (state 'configured'); nothing runs yet."""
        from .naming import new_id, random_name, validate_name

        cfg.id = cfg.id or new_id()
        if cfg.name:
            validate_name(cfg.name)
        if cfg.rootfs:
            if not os.path.isdir(cfg.rootfs):
                raise InvalidArgument(f"rootfs {cfg.rootfs} is not a directory: invalid argument")
            cfg.rootfs = os.path.realpath(cfg.rootfs)
        elif cfg.image:
            self._apply_image(cfg)
        else:
            raise InvalidArgument("an image or --rootfs is required")
        if not cfg.args:
            raise InvalidArgument("no command or entrypoint provided, and no CMD or ENTRYPOINT from image")
        self._check_mounts(cfg)
        if cfg.secrets:
            for secret, _env in cfg.secrets:
                self.store.lookup_secret(secret)
        cfg.hostname = cfg.hostname or cfg.id[:12]
        cfg.created = time.time()
        state = ContainerState()
        attempts = 0 if cfg.name else 10
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
            return ctr, ctr.start_attached(AttachStreams(stdin=None, stdout=stdout, stderr=stderr))
        except BaseException:
            try:
                ctr.remove(force=True)
            except PypodError:
                pass
            raise

    def _apply_image(self, cfg: ContainerConfig) -> None:
        image = self.images.lookup(cfg.image)
        cfg.image_id = image.id
        ic = image.config or {}
        if not cfg.entrypoint and not cfg.command:
            cfg.entrypoint = list(ic.get("Entrypoint") or [])
            cfg.command = list(ic.get("Cmd") or [])
        elif not cfg.entrypoint and cfg.command and ic.get("Entrypoint"):
            cfg.entrypoint = list(ic["Entrypoint"])
        cfg.env = [*(ic.get("Env") or []), *cfg.env]
        cfg.workdir = cfg.workdir or ic.get("WorkingDir") or ""
        cfg.user = cfg.user or ic.get("User") or ""
        cfg.labels = {**(ic.get("Labels") or {}), **cfg.labels}
        if ic.get("StopSignal") and cfg.stop_signal == 15:
            from ..proto.signals import parse_signal

            cfg.stop_signal = parse_signal(ic["StopSignal"])

    def _check_mounts(self, cfg: ContainerConfig) -> None:
        for m in cfg.mounts:
            if not m.destination.startswith("/"):
                raise InvalidArgument(f"invalid container path {m.destination!r}, must be an absolute path")
            if m.type != "bind":
                continue
            if m.source.startswith("/"):
                if not os.path.exists(m.source):
                    raise InvalidArgument(f"statfs {m.source}: no such file or directory")
            else:
                m.source = self.volume_path(m.source, create=True)

    def volume_path(self, name: str, create: bool = False) -> str:
        from .naming import validate_name

        validate_name(name, what="volume")
        path = os.path.join(self.config.root, "volumes", name, "_data")
        if create:
            os.makedirs(path, exist_ok=True)
        return path

    def container(self, name_or_id: str) -> "Container":
        cid = self.store.lookup_id(name_or_id)
        return self._load(cid)

    def _load(self, cid: str) -> "Container":
        cfg, st = self.store.get_container(cid)
        return Container(self, ContainerConfig.from_dict(cfg), ContainerState.from_dict(st))

    def containers(self, sync: bool = True) -> list["Container"]:
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

    def latest_container(self) -> "Container":
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


class Container:
    """One container: its config, its last known state, and its operations.

    Methods that change state take the container's lock themselves.
    """

    def __init__(self, engine: Engine, config: ContainerConfig, state: ContainerState):
        self.engine = engine
        self.config = config
        self.state = state
        self.id = config.id
        self._lock = FileLock(os.path.join(engine.config.locks_dir, config.id + ".lock"))

    def __repr__(self) -> str:
        return f"<Container {self.id[:12]} {self.name} {self.state.status.value}>"

    @property
    def name(self) -> str:
        return self.config.name

    @cached_property
    def paths(self) -> ContainerPaths:
        c = self.engine.config
        return ContainerPaths(
            userdata=os.path.join(c.containers_dir, self.id, "userdata"),
            run_dir=os.path.join(c.runroot, "containers", self.id),
        )

    def exit_command(self) -> list[str]:
        return self.engine.exit_command(self.id, self.config.auto_remove)

    # -- locking and state -------------------------------------------------

    def locked(self) -> FileLock:
        os.makedirs(self.engine.config.locks_dir, mode=0o700, exist_ok=True)
        return self._lock

    def reload(self) -> None:
        self.state = ContainerState.from_dict(self.engine.store.get_state(self.id))

    def save(self) -> None:
        self.engine.store.save_state(self.id, self.state.to_dict())

    def sync(self) -> None:
        """Bring the recorded state in line with the world; call with the lock held.

        The exit file is the truth about a process that ended (written by
        conmon even when no pypod was running); the runtime is asked only
        when that file is absent and the monitor is gone.
        """
        try:
            self.reload()
        except NoSuchContainer:
            self._lock.unlink()  # held by us: do not leave it behind for a gone container
            raise
        st = self.state
        if st.status == Status.CONFIGURED:
            # A pypod killed during init may have left a runtime container behind.
            if os.path.exists(self.paths.conmon_pidfile):
                rs = self.engine.runtime.container_status(self)
                if rs.status in ("created", "running", "paused"):
                    st.status = Status(rs.status)
                    st.pid = rs.pid
                    st.conmon_pid = _read_int(self.paths.conmon_pidfile)
                    self.save()
                elif rs.status == "stopped":
                    self._mark_exited()
            return
        if st.status not in _ACTIVE:
            return
        if self.engine.runtime.read_exit(self) is not None:
            self._mark_exited()
            return
        from ..oci.procs import pid_alive

        if st.conmon_pid and pid_alive(st.conmon_pid):
            if st.status == Status.RUNNING:
                from . import execs

                execs.reap(self)
            if st.status == Status.CREATED or st.status == Status.PAUSED:
                rs = self.engine.runtime.container_status(self)
                if rs.status in ("running", "paused", "created") and Status(rs.status) != st.status:
                    st.status = Status(rs.status)
                    self.save()
            return
        # The monitor is gone without an exit file: ask the runtime.
        rs = self.engine.runtime.container_status(self)
        if rs.status in ("absent", "stopped"):
            self._mark_exited(missing_code=True)
        elif Status(rs.status) != st.status:
            st.status = Status(rs.status)
            self.save()

    def sync_cheap(self) -> None:
        """For listings: without the lock, pick up an exit conmon recorded."""
        if self.state.status in _ACTIVE and os.path.exists(os.path.join(self.engine.config.exits_dir, self.id)):
            with self.locked():
                self.sync()

    def _mark_exited(self, missing_code: bool = False) -> None:
        st = self.state
        ex = self.engine.runtime.read_exit(self)
        if ex is not None:
            st.exit_code, st.finished_at, st.oom_killed = ex
        elif missing_code:
            # libpod's value when the exit code was lost with the monitor
            st.exit_code, st.finished_at = 255, time.time()
        st.status = Status.STOPPED
        st.pid = 0
        self.save()
        self.engine.events.write("container", "died", self.id, self.name, self.config.image, containerExitCode=st.exit_code)
        from . import execs

        execs.on_container_stopped(self)

    # -- init / start ------------------------------------------------------

    def _init(self, restore_from: str = "") -> None:
        """Mount the rootfs, write the bundle, and create the container in the
        runtime (conmon + `runtime create`, or restore); state becomes 'created'."""
        from ..proto.oci_spec import build_spec, build_env

        eng = self.engine
        cfg = self.config
        paths = self.paths
        os.makedirs(paths.userdata, mode=0o700, exist_ok=True)
        os.makedirs(paths.run_dir, mode=0o700, exist_ok=True)
        for stale in (paths.pidfile, paths.conmon_pidfile, paths.oci_log):
            _unlink(stale)
        eng.runtime.remove_runtime_files(self)
        if cfg.rootfs:
            rootfs = cfg.rootfs
        else:
            image = eng.images.lookup(cfg.image_id)
            storage = eng.container_storage
            storage.create(self.id, image)
            rootfs = storage.mount(self.id, image)
        self.state.mountpoint = rootfs
        try:
            user = _lookup_user(rootfs, cfg.user)
            extra_gids = list(user.sgids)
            if cfg.groups:
                from ..proto.passwd import get_container_groups

                extra_gids += get_container_groups(cfg.groups, rootfs)
            if cfg.workdir and not cfg.rootfs:
                _make_workdir(rootfs, cfg.workdir, user.uid, user.gid)
            etc_files = _write_etc_files(paths.userdata, cfg)
            env = build_env([], cfg.env, cfg.tty, cfg.hostname if cfg.network != "host" else os.uname().nodename, user.home, self._secret_env())
            spec = build_spec(
                cfg,
                rootfs=rootfs,
                args=cfg.args,
                env=env,
                cwd=cfg.workdir or "/",
                uid=user.uid,
                gid=user.gid,
                additional_gids=extra_gids,
                hard_limits=_hard_limits(),
                etc_files=etc_files,
                host_devices=_host_devices() if cfg.privileged else [],
                bounding=host_bounding_caps(),
                cgroups_path="" if eng.config.cgroup_manager == "disabled" else f"{eng.config.cgroup_parent}/pypod-{self.id}",
            )
            import json

            with open(paths.spec_file, "w") as f:
                json.dump(spec, f)
            pid, conmon_pid = eng.runtime.create_container(self, restore_from)
        except BaseException:
            self._teardown_storage()
            raise
        self.state.status = Status.CREATED
        self.state.pid = pid
        self.state.conmon_pid = conmon_pid
        self.state.exit_code = 0
        self.state.oom_killed = False
        self.state.finished_at = 0.0
        self.save()
        eng.events.write("container", "init", self.id, self.name, cfg.image)

    def _secret_env(self) -> list[str]:
        out = []
        for secret, env_name in self.config.secrets:
            _sid, _name, data, _meta = self.engine.store.lookup_secret(secret)
            out.append(f"{env_name}={data.decode(errors='replace')}")
        return out

    def init(self) -> None:
        with self.locked():
            self.sync()
            self._prepare_for_init()
            self._init()

    def _prepare_for_init(self) -> None:
        st = self.state.status
        if st in (Status.RUNNING, Status.PAUSED, Status.CREATED):
            raise AlreadyInState(f"container {self.id} has already been created in runtime: container state improper")
        if st == Status.STOPPED:
            self._cleanup_locked()

    def start(self) -> None:
        """Create in the runtime if needed, then start the process."""
        with self.locked():
            self.sync()
            st = self.state.status
            if st in (Status.RUNNING, Status.PAUSED):
                raise AlreadyInState(f"container {self.id} is already running: container already running")
            if st != Status.CREATED:
                self._prepare_for_init()
                self._init()
            self._start_locked()

    def _start_locked(self) -> None:
        try:
            self.engine.runtime.start_container(self)
        except PypodError:
            self.sync()
            raise
        self.state.status = Status.RUNNING
        self.state.started_at = time.time()
        self.save()
        self.engine.events.write("container", "start", self.id, self.name, self.config.image)

    def start_attached(self, streams: "AttachStreams") -> int | None:
        """Start and attach (attach first, so no output is missed); return the
        exit code, or None when the user detached."""
        from .attach import connect_attach

        with self.locked():
            self.sync()
            st = self.state.status
            if st in (Status.RUNNING, Status.PAUSED):
                raise AlreadyInState(f"container {self.id} is already running: container already running")
            if st != Status.CREATED:
                self._prepare_for_init()
                self._init()
            sock = connect_attach(self.engine.runtime.attach_socket_path(self))
            try:
                self._start_locked()
            except BaseException:
                sock.close()
                raise
        detached = self._pump(sock, streams)
        if detached:
            return None
        return self.wait()

    def attach(self, streams: "AttachStreams") -> int | None:
        from .attach import connect_attach

        with self.locked():
            self.sync()
            if self.state.status not in (Status.RUNNING, Status.CREATED):
                raise InvalidState("can only attach to created or running containers: container state improper")
            sock = connect_attach(self.engine.runtime.attach_socket_path(self))
        if self._pump(sock, streams):
            return None
        return self.wait()

    def _pump(self, sock, streams) -> bool:
        from .attach import attach_to_socket

        return attach_to_socket(self, sock, streams, tty=self.config.tty, stdin_open=self.config.stdin,
                                detach_keys=None, resize=self._resize_quiet)

    def _resize_quiet(self, height: int, width: int) -> None:
        self.engine.runtime.attach_resize(self, height, width)

    # -- signals and stopping ----------------------------------------------

    def kill(self, signal: int = 9) -> None:
        with self.locked():
            self.sync()
            if self.state.status not in (Status.RUNNING, Status.PAUSED, Status.CREATED):
                raise InvalidState(f"can only kill running containers. {self.id} is in state {self.state.status.value}: container state improper")
            self.engine.runtime.kill_container(self, signal)
            self.engine.events.write("container", "kill", self.id, self.name, self.config.image, signal=signal)

    def stop(self, timeout: int | None = None) -> None:
        """Stop signal, then SIGKILL after timeout seconds; then clean up."""
        timeout = self.config.stop_timeout if timeout is None else timeout
        with self.locked():
            self.sync()
            st = self.state.status
            if st in (Status.STOPPED, Status.EXITED, Status.CONFIGURED):
                if st == Status.STOPPED:
                    self._cleanup_locked()
                raise AlreadyInState(f"container {self.id} is already stopped")
            if st == Status.PAUSED:
                # A frozen process cannot act on the stop signal.
                self.engine.runtime.kill_container(self, 9)
                self.engine.runtime.unpause_container(self)
            self.engine.runtime.stop_container(self, timeout, self.state.pid)
            self.engine.runtime.wait_exit(self, self.state.pid, self.state.conmon_pid, timeout=10)
            self.sync()
            if self.state.status in _ACTIVE:
                self._mark_exited(missing_code=True)
            self.engine.events.write("container", "stop", self.id, self.name, self.config.image)
            self._cleanup_locked()

    def pause(self) -> None:
        with self.locked():
            self.sync()
            if self.state.status == Status.PAUSED:
                raise InvalidState(f"{self.id} is already paused: container state improper")
            if self.state.status != Status.RUNNING:
                raise InvalidState(f"{self.id} is not running, can't pause: container state improper")
            self.engine.runtime.pause_container(self)
            self.state.status = Status.PAUSED
            self.save()
            self.engine.events.write("container", "pause", self.id, self.name, self.config.image)

    def unpause(self) -> None:
        with self.locked():
            self.sync()
            if self.state.status != Status.PAUSED:
                raise InvalidState(f"{self.id} is not paused, can't unpause: container state improper")
            self.engine.runtime.unpause_container(self)
            self.state.status = Status.RUNNING
            self.save()
            self.engine.events.write("container", "unpause", self.id, self.name, self.config.image)

    def restart(self, timeout: int | None = None) -> None:
        with self.locked():
            self.sync()
            if self.state.status in (Status.RUNNING, Status.PAUSED):
                self.stop(timeout)
            self.start()
            self.state.restart_count += 1
            self.save()
            self.engine.events.write("container", "restart", self.id, self.name, self.config.image)

    def wait(self, timeout: float | None = None, conditions: tuple[Status, ...] = (Status.STOPPED, Status.EXITED)) -> int:
        """Block until the container reaches one of conditions; return its exit code."""
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.005
        while True:
            try:
                with self.locked():
                    self.sync()
            except NoSuchContainer:
                code = self.engine.store.removed_exit_code(self.id)
                if code is None:
                    raise
                return code
            st = self.state.status
            if st in conditions or (st == Status.CONFIGURED and self.state.finished_at):
                return self.state.exit_code
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError(f"timed out waiting for container {self.id}")
            if st in (Status.RUNNING, Status.PAUSED, Status.CREATED) and self.state.conmon_pid:
                # Sleep on the monitor itself: it exits right after recording the exit.
                self.engine.runtime.wait_exit(self, self.state.pid, self.state.conmon_pid, timeout=left if left is not None else 1.0)
            else:
                time.sleep(delay)
                delay = min(delay * 2, 0.25)

    # -- cleanup and removal -----------------------------------------------

    def cleanup(self) -> None:
        """After the process exited: unmount, delete from the runtime.  conmon's
        exit command runs this; it is safe to run any number of times."""
        with self.locked():
            self.sync()
            if self.state.status in (Status.RUNNING, Status.PAUSED):
                raise ContainerRunning(f"container {self.id} is running or paused, refusing to clean up: container state improper")
            self._cleanup_locked()

    def _cleanup_locked(self) -> None:
        if self.state.status in (Status.STOPPED, Status.CREATED) or self.state.mountpoint:
            from . import execs

            execs.on_container_stopped(self)
            self.engine.runtime.delete_container(self)
            self._teardown_storage()
            self.engine.runtime.remove_runtime_files(self)
            shutil.rmtree(self.paths.run_dir, ignore_errors=True)
            for leftover in ("ctl", "winsz", "attach", "oom"):
                _unlink(os.path.join(self.paths.userdata, leftover))
            if self.state.status in (Status.STOPPED, Status.CREATED):
                self.state.status = Status.EXITED
            self.state.mountpoint = ""
            self.save()
            self.engine.events.write("container", "cleanup", self.id, self.name, self.config.image)

    def _teardown_storage(self) -> None:
        if not self.config.rootfs:
            self.engine.container_storage.unmount(self.id)
        self.state.mountpoint = ""

    def remove(self, force: bool = False, timeout: int | None = None, volumes: bool = False) -> None:
        with self.locked() as lock:
            try:
                self.sync()
            except NoSuchContainer:
                return
            st = self.state.status
            if st in (Status.RUNNING, Status.PAUSED) or (st == Status.CREATED and not force):
                if not force:
                    raise ContainerRunning(
                        f"cannot remove container {self.id} as it is {st.value} - running or paused containers "
                        "cannot be removed without force: container state improper"
                    )
            if st in (Status.RUNNING, Status.PAUSED, Status.CREATED):
                try:
                    self.stop(0 if timeout is None and st == Status.CREATED else timeout)
                except AlreadyInState:
                    pass
            self.state.status = Status.REMOVING
            self.save()
            from . import execs

            execs.remove_all(self)
            # Each step tolerates its piece being gone: a crash here is finished by the next rm.
            self.engine.runtime.delete_container(self)
            if not self.config.rootfs:
                self.engine.container_storage.remove(self.id)
            self.engine.runtime.remove_runtime_files(self)
            shutil.rmtree(self.paths.run_dir, ignore_errors=True)
            shutil.rmtree(os.path.dirname(self.paths.userdata), ignore_errors=True)
            finished = self.state.finished_at or st in (Status.STOPPED, Status.EXITED)
            self.engine.store.remove_container(self.id, self.state.exit_code if finished else None)
            lock.unlink()
        self.engine.events.write("container", "remove", self.id, self.name, self.config.image)

    # -- checkpoint / restore -------------------------------------------------

    @property
    def checkpoint_dir(self) -> str:
        return os.path.join(self.paths.userdata, "checkpoint")

    def checkpoint(self, keep_running: bool = False, tcp_established: bool = False) -> None:
        """Dump the running container with CRIU (through the runtime)."""
        from ..errors import CheckpointUnsupported

        ok, why = self.engine.runtime.supports_checkpoint()
        if not ok:
            raise CheckpointUnsupported(why)
        with self.locked():
            self.sync()
            if self.state.status != Status.RUNNING:
                raise InvalidState(f"{self.id} is not running, cannot checkpoint: container state improper")
            self.engine.runtime.checkpoint_container(self, self.checkpoint_dir, keep_running, tcp_established)
            self.engine.events.write("container", "checkpoint", self.id, self.name, self.config.image)
            if not keep_running:
                self.engine.runtime.wait_exit(self, self.state.pid, self.state.conmon_pid, timeout=10)
                self.sync()
                if self.state.status in _ACTIVE:
                    self._mark_exited(missing_code=True)
                # Keep the rootfs mounted state out of it: restore mounts it again.
                self._cleanup_locked()

    def restore(self) -> None:
        """Start the container again from its last checkpoint."""
        from ..errors import CheckpointUnsupported

        ok, why = self.engine.runtime.supports_checkpoint()
        if not ok:
            raise CheckpointUnsupported(why)
        with self.locked():
            self.sync()
            if not os.path.isdir(self.checkpoint_dir):
                raise InvalidState(f"container {self.id} has no checkpoint to restore: container state improper")
            self._prepare_for_init()
            self._init(restore_from=self.checkpoint_dir)
            self.state.status = Status.RUNNING
            self.state.started_at = time.time()
            self.save()
            self.engine.events.write("container", "restore", self.id, self.name, self.config.image)

    # -- exec sessions -------------------------------------------------------

    def exec_create(self, config):
        from . import execs

        return execs.create(self, config)

    def exec_session(self, session_id: str):
        from . import execs

        return execs.get(self, session_id)

    def exec_sessions(self) -> list:
        from . import execs

        with self.locked():
            self.sync()
            execs.reap(self)
        return execs.sessions(self)

    def exec(self, command: list[str], streams: "AttachStreams | None" = None, **options) -> int | None:
        """The one-shot exec: run command in the container, return its exit code.

        options are ExecConfig fields (user, environment, workdir, terminal,
        attach_stdin, privileged, preserve_fds, detach_keys)."""
        from . import execs

        cfg = execs.ExecConfig(command=list(command), **options)
        if streams is None:
            streams = AttachStreams(stdin=None)
        return execs.run(self, cfg, streams)

    # -- output --------------------------------------------------------------

    def logs(self, **kw):
        from .logs import read_logs

        return read_logs(self, **kw)

    def top(self, ps_args: list[str] | None = None) -> tuple[list[str], list[list[str]]]:
        """The container's processes as `ps` shows them: (titles, rows)."""
        import subprocess

        with self.locked():
            self.sync()
            if self.state.status not in (Status.RUNNING, Status.PAUSED):
                raise InvalidState("top can only be used on running containers: container state improper")
            pids = self.engine.runtime.container_pids(self)
        fields = ps_args or ["-o", "user,pid,ppid,pcpu,etime,tty,time,args"]
        for arg in fields:
            if not arg.replace(",", "").replace("-", "").replace("=", "").replace("%", "").isalnum():
                raise InvalidArgument(f"invalid ps argument {arg!r}")
        proc = subprocess.run(["ps", *fields, "-p", ",".join(map(str, pids)) or "0"], capture_output=True, text=True)
        lines = proc.stdout.splitlines()
        if not lines:
            raise InvalidArgument(f"ps failed: {proc.stderr.strip()}")
        titles = lines[0].split()
        rows = [line.split(None, len(titles) - 1) for line in lines[1:]]
        return titles, rows

    def resize(self, height: int, width: int) -> None:
        if not self.config.tty:
            raise InvalidState(f"container {self.id} does not have a terminal: container state improper")
        with self.locked():
            self.sync()
            if self.state.status not in (Status.RUNNING, Status.CREATED, Status.PAUSED):
                raise InvalidState("can only resize created or running containers: container state improper")
        self.engine.runtime.attach_resize(self, height, width)

    def inspect(self) -> dict:
        from .inspect import inspect_container

        return inspect_container(self)


class AttachStreams:
    """Where an attach reads and writes: file descriptors (or None).

    frames: write each output chunk with Docker's 8-byte stream header (an
    HTTP attach without a TTY, where stdout and stderr share one connection).
    """

    def __init__(self, stdin: int | None = None, stdout: int | None = 1, stderr: int | None = 2,
                 detach_keys: str | None = None, frames: bool = False):
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.detach_keys = detach_keys
        self.frames = frames


# -- helpers for init -----------------------------------------------------------


def _read_int(path: str) -> int:
    try:
        with open(path) as f:
            return int(f.read().strip() or 0)
    except (OSError, ValueError):
        return 0


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _lookup_user(rootfs: str, spec: str):
    from ..proto.passwd import get_user_group_info

    return get_user_group_info(rootfs, spec)


def _make_workdir(rootfs: str, workdir: str, uid: int, gid: int) -> None:
    """podman creates a missing working directory, owned by the user."""
    from ..proto.passwd import secure_join

    path = secure_join(rootfs, workdir)
    if not os.path.isdir(path):
        os.makedirs(path, mode=0o755, exist_ok=True)
        os.chown(path, uid, gid)


def host_bounding_caps() -> list[str]:
    """Our own bounding set: what --privileged can give (here, for one, it
    lacks CAP_SYS_RESOURCE; asking for it would make the runtime fail)."""
    from ..proto.oci_spec import ALL_CAPS, caps_from_mask

    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapBnd:"):
                    return caps_from_mask(int(line.split()[1], 16))
    except OSError:
        pass
    return list(ALL_CAPS)


def _hard_limits() -> dict[str, int]:
    import resource

    out = {}
    for name in ("RLIMIT_NOFILE", "RLIMIT_NPROC"):
        hard = resource.getrlimit(getattr(resource, name))[1]
        if hard != resource.RLIM_INFINITY:
            out[name] = hard
    return out


def _host_devices() -> list[dict]:
    """--privileged gives the container the host's devices, as podman does."""
    import stat

    devices = []
    for root, dirs, files in os.walk("/dev"):
        dirs[:] = [d for d in dirs if d not in ("pts", "shm", "mqueue")]
        for name in files:
            path = os.path.join(root, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                if path in ("/dev/console", "/dev/ptmx", "/dev/tty"):
                    continue
                devices.append({
                    "path": path,
                    "type": "c" if stat.S_ISCHR(st.st_mode) else "b",
                    "major": os.major(st.st_rdev),
                    "minor": os.minor(st.st_rdev),
                    "fileMode": stat.S_IMODE(st.st_mode),
                    "uid": st.st_uid,
                    "gid": st.st_gid,
                })
    return devices


def _write_etc_files(userdata: str, cfg: ContainerConfig) -> dict[str, str]:
    """Generate /etc/hosts, /etc/hostname and /etc/resolv.conf for the container."""
    files = {}
    if cfg.network == "host":
        hostname = os.uname().nodename
        hosts = _read("/etc/hosts")
        resolv = _read("/etc/resolv.conf")
    else:
        hostname = cfg.hostname
        hosts = (
            "127.0.0.1\tlocalhost localhost.localdomain localhost4 localhost4.localdomain4\n"
            "::1\tlocalhost localhost.localdomain localhost6 localhost6.localdomain6\n"
            f"127.0.1.1\t{hostname} {cfg.name}\n"
        )
        resolv = _resolv_for_private_netns(_read("/etc/resolv.conf"))
    for dest, name, text in (("/etc/hosts", "hosts", hosts), ("/etc/hostname", "hostname", hostname + "\n"),
                             ("/etc/resolv.conf", "resolv.conf", resolv)):
        path = os.path.join(userdata, name)
        with open(path, "w") as f:
            f.write(text)
        files[dest] = path
    return files


def _resolv_for_private_netns(text: str) -> str:
    """A localhost resolver of the host is unreachable from another network
    namespace; drop it as podman does."""
    lines = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "nameserver" and (parts[1].startswith("127.") or parts[1] == "::1"):
            continue
        lines.append(line)
    return "\n".join(lines) + ("\n" if lines else "")


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""
