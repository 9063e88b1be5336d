"""A container's life: init, start, attach, stop, cleanup, remove.

Concurrency: each container has a cross-process lock (engine/locks.py).
Everything that reads a container's state and acts on it holds the lock;
waiting for a container to exit never does, so others can stop it meanwhile.
Crash consistency: state is written after each step that changed the world,
and every step of teardown tolerates finding its piece already gone, so a
pypod killed at any point leaves work the next call can finish.
"""

from __future__ import annotations

import os
import time

from ..errors import (
    AlreadyInState,
    ContainerExists,
    ContainerRunning,
    InvalidArgument,
    InvalidState,
    NoSuchContainer,
    PypodError,
)
from .. import trace
from . import bundle
from .container import ContainerConfig, ContainerPaths, ContainerState, Status
from ..failpoints import failpoint
from ..lean import cached_property
from .locks import FileLock

TYPE_CHECKING = False  # typing's import would cost every command ~5 ms
if TYPE_CHECKING:
    from .attach import AttachStreams
    from .engine import Engine

#: states in which the runtime holds the container
ACTIVE = (Status.CREATED, Status.RUNNING, Status.PAUSED, Status.STOPPING)


class Container:
    """One container: its config, its last known state, and its operations.

    Methods that change state take the container's lock themselves.
    """

    def __init__(self, engine: Engine, config: ContainerConfig, state: ContainerState):
        self.engine = engine
        self.config = config
        self.state = state
        self.id = config.id
        #: held between start_attached(claim_exit=True) and finish_exit()
        self._exit_claim = None
        self._lock = FileLock(os.path.join(engine.config.locks_dir, config.id + ".lock"))

    def __repr__(self) -> str:
        return f"<Container {self.id[:12]} {self.name} {self.state.status.value}>"

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def runtime(self):
        """The OCI runtime this container was made with."""
        return self.engine.runtime_for(self.config.runtime)

    @cached_property
    def paths(self) -> ContainerPaths:
        c = self.engine.config
        return ContainerPaths(
            userdata=os.path.join(c.containers_dir, self.id, "userdata"),
            run_dir=c.container_run_dir(self.id),
            log_file=self.config.log_path,
        )

    def exit_command(self) -> list[str]:
        from .exitclaim import exit_command

        return exit_command(self.paths.run_dir, self.engine.exit_command(self.id, self.config.auto_remove))

    # -- locking and state -------------------------------------------------

    def locked(self) -> FileLock:
        if not os.path.isdir(self.engine.config.locks_dir):
            from .. import private

            private.makedirs(self.engine.config.locks_dir)
        return self._lock

    def reload(self) -> None:
        self.state = ContainerState.from_dict(self.engine.store.get_state(self.id))

    def save(self) -> None:
        self.engine.store.save_state(self.id, self.state.to_dict())

    def sync(self) -> None:
        """Bring the recorded state in line with the world; call with the lock held.

        The exit file is the truth about a process that ended (written by
        conmon even when no pypod was running); the runtime is asked only
        when that file is absent and the monitor is gone, or when a created
        or paused container may have changed behind a pypod that died.
        Raises NoSuchContainer when the container is (or has just been) removed.
        """
        try:
            self.reload()
        except NoSuchContainer:
            self._lock.unlink()  # held by us: do not leave it behind for a gone container
            raise
        trace.step("store: state read")
        st = self.state
        if st.status == Status.CONFIGURED:
            if st.mountpoint or os.path.exists(self.paths.conmon_pidfile):
                self._sync_interrupted_init()
            return
        if st.status == Status.STOPPED:
            # Exited but not cleaned up: conmon's exit command does that,
            # unless the monitor is gone, in which case nobody else will.
            if not self._monitor_alive():
                self._after_lost_monitor()
            return
        if st.status not in ACTIVE:
            return
        rt = self.runtime
        if rt.read_exit(self) is not None:
            self._mark_exited()
            if not self._monitor_alive():
                self._after_lost_monitor()
            return
        if st.status == Status.STOPPING and not _alive(st.stopping_pid):
            # The pypod that was stopping it died before the process did.
            rs = rt.container_status(self)
            st.stopping_pid = 0
            if rs.status in ("absent", "stopped"):
                self._mark_exited(missing_code=True)
                if not self._monitor_alive():
                    self._after_lost_monitor()
                return
            st.status = Status(rs.status)
            self.save()
            return
        if self._monitor_alive():
            if st.status == Status.RUNNING:
                from . import execs

                execs.reap(self)
            elif st.status in (Status.CREATED, Status.PAUSED):
                self._adopt_runtime_status(rt.container_status(self))
            return
        # The monitor is gone without an exit file: ask the runtime.
        rs = rt.container_status(self)
        if rs.status in ("absent", "stopped"):
            self._mark_exited(missing_code=True)
            self._after_lost_monitor()
        else:
            self._adopt_runtime_status(rs)

    def _adopt_runtime_status(self, rs) -> None:
        """Record what the runtime says, when it says more than we know:
        a start that its pypod died before recording keeps its real time."""
        st = self.state
        if rs.status not in ("created", "running", "paused") or Status(rs.status) == st.status:
            return
        before = st.status
        st.status = Status(rs.status)
        st.pid = rs.pid or st.pid
        if st.status in (Status.RUNNING, Status.PAUSED) and before in (Status.CONFIGURED, Status.CREATED):
            from ..oci.procs import process_start_time

            st.started_at = self.runtime.started_at(self) or process_start_time(st.pid) or time.time()
            st.finished_at = 0.0
            st.exit_code = 0
        self.save()

    def _monitor_alive(self) -> bool:
        """Is this container's conmon still there?  By its pid, and by its
        arguments, so a recycled pid is not taken for it."""
        pid = self.state.conmon_pid
        if pid <= 0:
            return False
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                return self.id.encode() in f.read().split(b"\0")
        except OSError:
            return False

    def _sync_interrupted_init(self) -> None:
        """A pypod killed during init may have left a mount, or a whole
        runtime container under a live conmon, that nothing recorded."""
        st = self.state
        if os.path.exists(self.paths.conmon_pidfile):
            st.conmon_pid = _read_int(self.paths.conmon_pidfile)
            rs = self.runtime.container_status(self)
            if rs.status in ("created", "running", "paused"):
                self._adopt_runtime_status(rs)
                return
            if rs.status == "stopped" or self.runtime.read_exit(self) is not None:
                self._mark_exited(missing_code=True)
                if not self._monitor_alive():
                    self._after_lost_monitor()
                return
            if self._monitor_alive():
                return  # conmon is still setting it up (or tearing it down)
        # Nothing runs: undo the half-made init so that nothing stays mounted.
        self.runtime.delete_container(self)
        self._teardown_storage()
        from . import namespaces

        namespaces.release(self)
        self.state.conmon_pid = 0
        _unlink(self.paths.conmon_pidfile)
        self.save()

    def _after_lost_monitor(self) -> None:
        """Do what conmon's exit command would have done: clean up, and
        remove a --rm container (then NoSuchContainer tells the caller)."""
        self._cleanup_locked()
        if self.config.auto_remove:
            self._remove_locked(self.state.status, volumes=True)
            from . import namespaces

            namespaces.release(self)
            raise NoSuchContainer(f'no container with ID "{self.id}" found: no such container')

    def sync_cheap(self, with_execs: bool = False) -> None:
        """For listings, without the lock unless a hint says the record is
        stale: an exit conmon recorded, a monitor that died, a start that no
        pypod recorded, an init that a crash interrupted (and with_execs, an
        exec session that ended or was abandoned).  Each hint costs a stat
        or a /proc read; only a stale record pays for the lock and sync."""
        st = self.state
        if st.status in ACTIVE or st.status == Status.STOPPED:
            stale = (os.path.exists(os.path.join(self.engine.config.exits_dir, self.id))
                     or not self._monitor_alive()
                     or (st.status == Status.CREATED and self.runtime.start_pending(self) is not True)
                     or (st.status == Status.STOPPING and not _alive(st.stopping_pid)))
        else:
            stale = st.status == Status.CONFIGURED and bool(st.mountpoint)
        if not stale and with_execs and st.status == Status.RUNNING:
            from . import execs

            stale = execs.stale(self)
        if stale:
            with self.locked():
                self.sync()

    def _mark_exited(self, missing_code: bool = False) -> None:
        st = self.state
        ex = self.runtime.read_exit(self)
        if ex is not None:
            st.exit_code, st.finished_at, st.oom_killed = ex
        elif missing_code:
            # libpod's value when the exit code was lost with the monitor
            st.exit_code, st.finished_at = 255, time.time()
        st.status = Status.STOPPED
        st.pid = 0
        self.save()
        failpoint("sync.after-exit-recorded")
        self.engine.events.container(self, "died", containerExitCode=st.exit_code)
        from . import execs

        execs.on_container_stopped(self)

    # -- init / start ------------------------------------------------------

    def _init(self, restore_from: str = "", keep_exit_code: bool = False) -> None:
        """Mount the rootfs, write the bundle, and create the container in the
        runtime (conmon + `runtime create`, or restore); state becomes 'created'."""
        from ..proto.oci_spec import build_env, merge_env

        eng = self.engine
        cfg = self.config
        paths = self.paths
        from .. import private

        private.makedirs(paths.userdata)
        private.makedirs(paths.run_dir)
        for stale in (paths.pidfile, paths.conmon_pidfile, paths.oci_log):
            _unlink(stale)
        self.runtime.remove_runtime_files(self)
        from . import namespaces

        # Namespaces first: netavark wires the network while the rootfs is
        # mounted and the runtime creates the container; finish() waits for
        # it before the container can start.
        plan = namespaces.prepare(self)
        trace.step("namespaces: prepared")
        try:
            if cfg.rootfs:
                rootfs = cfg.rootfs
                self.state.mountpoint = rootfs
            else:
                image = eng.images.lookup(cfg.image_id)
                storage = eng.container_storage
                storage.create(self.id, image)
                # Recorded before it is made: a crash in between leaves a record
                # of a mount that is not there (every unmount tolerates that),
                # never a mount that nothing knows of.
                trace.step("storage: container layer created")
                self.state.mountpoint = storage.merged_dir(self.id)
                self.save()
                failpoint("init.after-mount-recorded")
                try:
                    rootfs = storage.mount(self.id, image, volatile=cfg.auto_remove)
                except BaseException:
                    self._teardown_storage()
                    self.save()
                    raise
                failpoint("init.after-mount")
                trace.step("storage: overlay mounted")
        except BaseException:
            plan.close_held()
            namespaces.release(self)
            raise
        try:
            user = bundle.lookup_user(rootfs, cfg.user)
            extra_gids = list(user.sgids)
            if cfg.groups:
                from ..proto.passwd import get_container_groups

                extra_gids += get_container_groups(cfg.groups, rootfs)
            if cfg.workdir and not cfg.rootfs:
                bundle.make_workdir(rootfs, cfg.workdir, user.uid, user.gid)
            user_mounts = None
            if cfg.mounts or cfg.read_only:
                from . import mounts

                user_mounts = mounts.prepare(self, rootfs, user.uid, user.gid)
            passwd = bundle.write_passwd(self, rootfs, user.uid, user.gid)
            if passwd:
                plan.etc_files["/etc/passwd"] = passwd
            env = build_env([], cfg.env, cfg.tty, plan.hostname, user.home,
                            self._secret_env(), cfg.process.unsetenv, cfg.process.unsetenv_all)
            if cfg.process.env_merge:
                env = merge_env(env, cfg.process.env_merge)
            spec = bundle.container_spec(self, rootfs, user, extra_gids, env, plan, user_mounts)
            if eng.rootless:
                from .. import rootless

                rootless.adjust_spec(spec)
            if eng.config.hooks_dirs:
                from ..proto.oci_hooks import add_hooks, read_hook_dirs

                add_hooks(spec, read_hook_dirs(eng.config.hooks_dirs), any(m.type == "bind" for m in cfg.mounts))
            from ..lean import json_dumps

            private.write_file(paths.spec_file, json_dumps(spec))
            failpoint("init.after-spec")
            trace.step("spec: written")
            pid, conmon_pid = self.runtime.create_container(self, restore_from, held_fds=plan.held_fds())
            plan.close_held()
            failpoint("init.after-runtime-create")
            try:
                namespaces.finish(self, plan)
                trace.step("namespaces: network set up")
            except BaseException:
                self.runtime.delete_container(self)
                raise
        except BaseException:
            plan.close_held()
            self._release_mounts()
            self._teardown_storage()
            namespaces.release(self)
            try:
                self.save()
            except PypodError:
                pass
            raise
        self.state.status = Status.CREATED
        self.state.pid = pid
        self.state.conmon_pid = conmon_pid
        if not keep_exit_code:
            # (a restart keeps the last run's code: a `wait` that raced it reports that run)
            self.state.exit_code = 0
            self.state.oom_killed = False
            self.state.finished_at = 0.0
        self.save()
        failpoint("init.after-save")
        bundle.write_pid_files(self)
        eng.events.container(self, "init")
        trace.step("store: state 'created' saved, event written")

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
        self._start_dependencies()
        with self.locked():
            self.sync()
            st = self.state.status
            if st in (Status.RUNNING, Status.PAUSED):
                raise AlreadyInState(f"container {self.id} is already running: container already running")
            if st != Status.CREATED:
                self._prepare_for_init()
                self._init()
            self.state.restart_count = 0  # counts the policy's restarts since the user's start, as podman's
            self._start_locked()

    def _start_dependencies(self) -> None:
        from .depends import dependencies, start_dependencies

        if dependencies(self.config):
            start_dependencies(self)

    def _start_locked(self) -> None:
        try:
            self.runtime.start_container(self)
        except PypodError:
            self.sync()
            raise
        failpoint("start.after-runtime-start")
        self.state.status = Status.RUNNING
        self.state.started_at = time.time()
        self.state.stopped_by_user = False
        self.save()
        failpoint("start.after-save")
        self.engine.events.container(self, "start")
        trace.step("store: state 'running' saved, event written")
        if self.config.process.sdnotify == "conmon":
            bundle.notify_ready(self)
        if self.config.health.enabled:
            from . import health, healthtimer

            health.reset(self)
            healthtimer.start(self)

    def start_attached(self, streams: "AttachStreams", claim_exit: bool = False) -> int | None:
        """Start and attach (attach first, so no output is missed); return the
        exit code, or None when the user detached.

        claim_exit: this process will do what conmon's exit command would (clean
        up, or remove a --rm container) by calling finish_exit() after the exit
        code is back; the exit command then only waits and leaves
        (engine/exitclaim.py)."""
        from .attach import connect_attach
        from .exitclaim import ExitClaim

        self._start_dependencies()
        claim = self._exit_claim = ExitClaim(self.paths.run_dir)
        with self.locked():
            self.sync()
            st = self.state.status
            if st in (Status.RUNNING, Status.PAUSED):
                raise AlreadyInState(f"container {self.id} is already running: container already running")
            if st != Status.CREATED:
                self._prepare_for_init()
                self._init()
            sock = connect_attach(self.runtime.attach_socket_path(self))
            try:
                if claim_exit:
                    claim.take()  # before the start: the process cannot have exited yet
                self._start_locked()
            except BaseException:
                sock.close()
                claim.release(done=False)
                raise
        try:
            detached = self._pump(sock, streams)
            trace.step("attach: output closed" if not detached else "attach: detached")
            if detached:
                claim.release(done=False)  # the exit command finishes it, whenever that comes
                return None
            return self.wait()
        except BaseException:
            claim.release(done=False)  # unfinished: the exit command must not skip it
            raise

    def finish_exit(self) -> None:
        """After start_attached(claim_exit=True) returned an exit code: the exit
        command's work (cleanup, or removal with --rm), then the claim goes."""
        claim = self._exit_claim
        left = False
        try:
            if self.config.auto_remove:
                # --rm takes its anonymous volumes along; the network's
                # teardown is the exit command's, which waits for us anyway
                left = self.remove(force=True, volumes=True, defer_network=claim is not None)
            else:
                self.cleanup()
        except (NoSuchContainer, AlreadyInState):
            pass  # someone else got there first (`pypod rm` beside us)
        except BaseException:
            if claim is not None:
                claim.release(done=False)  # not done: the exit command tries again
            raise
        if claim is not None:
            claim.release(done=not left)

    def attach(self, streams: "AttachStreams") -> int | None:
        from .attach import connect_attach

        with self.locked():
            self.sync()
            if self.state.status not in (Status.RUNNING, Status.CREATED):
                raise InvalidState("can only attach to created or running containers: container state improper")
            sock = connect_attach(self.runtime.attach_socket_path(self))
        if self._pump(sock, streams):
            return None
        return self.wait()

    def _pump(self, sock, streams) -> bool:
        from .attach import attach_to_socket

        return attach_to_socket(self, sock, streams, tty=self.config.tty, stdin_open=self.config.stdin,
                                detach_keys=None, resize=self._resize_quiet)

    def _resize_quiet(self, height: int, width: int) -> None:
        self.runtime.attach_resize(self, height, width)

    # -- signals and stopping ----------------------------------------------

    def kill(self, signal: int = 9) -> None:
        with self.locked():
            self.sync()
            # A stopping container may be killed: the user got tired of waiting.
            if self.state.status not in (Status.RUNNING, Status.PAUSED, Status.STOPPING):
                raise InvalidState(f"can only kill running containers. {self.id} is in state {self.state.status.value}: container state improper")
            from ..errors import OCIRuntimeError

            try:
                self.runtime.kill_container(self, signal)
            except OCIRuntimeError:
                if _alive(self.state.pid) and not _zombie(self.state.pid):
                    raise
                # The process left between the sync and the signal (runc: "container
                # not running"): as for any container that is not running.
                self.sync()
                word = "exited" if self.state.status in (Status.RUNNING, Status.PAUSED, Status.STOPPING) else self.state.status.value
                raise InvalidState(f"can only kill running containers. {self.id} is in state {word}: container state improper") from None
            self.engine.events.container(self, "kill", signal=signal)

    def stop(self, timeout: int | None = None) -> None:
        """Stop signal, then SIGKILL after timeout seconds; then clean up.

        While it waits the container is 'stopping' and its lock is free, so
        `ps`, `kill` or `rm -f` from other processes are not held up."""
        timeout = self.config.stop_timeout if timeout is None else timeout
        with self.locked() as lock:
            self.sync()
            st = self.state.status
            if st in (Status.STOPPED, Status.EXITED, Status.CONFIGURED):
                if st == Status.STOPPED:
                    self._cleanup_locked()
                raise AlreadyInState(f"container {self.id} is already stopped")
            self.state.stopped_by_user = True
            self.save()
            if st == Status.PAUSED:
                # A frozen process cannot act on the stop signal: SIGKILL, then
                # thaw.  The kernel may let the kill through the freezer (then
                # there is nothing left to resume: runc says "not paused").
                from ..errors import OCIRuntimeError

                for step in (lambda: self.runtime.kill_container(self, 9),
                             lambda: self.runtime.unpause_container(self)):
                    try:
                        step()
                    except OCIRuntimeError:
                        pass
            pid, conmon_pid = self.state.pid, self.state.conmon_pid
            self.state.status = Status.STOPPING
            self.state.stopping_pid = os.getpid()
            self.save()
            with lock.suspended():
                killed = self.runtime.stop_container(self, timeout, pid)
                failpoint("stop.after-signal")
                if killed:
                    from .. import diag
                    from ..proto.signals import signal_name

                    diag.warn(f"StopSignal {signal_name(self.config.stop_signal)} failed to stop container "
                              f"{self.name} in {timeout} seconds, resorting to SIGKILL")
                self.runtime.wait_exit(self, pid, conmon_pid, timeout=10)
            try:
                self.sync()
            except NoSuchContainer:
                return  # removed meanwhile (its `--rm` cleanup, or an `rm -f`)
            self.state.stopping_pid = 0
            if self.state.status in ACTIVE:
                self._mark_exited(missing_code=True)
            self.engine.events.container(self, "stop")
            self._cleanup_locked()
            failpoint("stop.after-cleanup")

    def pause(self) -> None:
        with self.locked():
            self.sync()
            if self.state.status == Status.PAUSED:
                raise InvalidState(f"{self.id} is already paused: container state improper")
            if self.state.status != Status.RUNNING:
                raise InvalidState(f"{self.id} is not running, can't pause: container state improper")
            if self.engine.rootless:
                from .. import rootless

                rootless.refuse_without_cgroups("can not pause containers on rootless containers with cgroup V1: "
                                                "this container does not have a cgroup")
            self.runtime.pause_container(self)
            self.state.status = Status.PAUSED
            self.save()
            self.engine.events.container(self, "pause")

    def unpause(self) -> None:
        with self.locked():
            self.sync()
            if self.state.status != Status.PAUSED:
                raise InvalidState(f"{self.id} is not paused, can't unpause: container state improper")
            self.runtime.unpause_container(self)
            self.state.status = Status.RUNNING
            self.save()
            self.engine.events.container(self, "unpause")

    def restart(self, timeout: int | None = None) -> None:
        with self.locked():
            self.sync()
            # First, as podman's: the stop's and start's events follow it, so
            # a client refreshing on each event (Cockpit's page marks the
            # container "restarting" on this one) ends on the final state.
            self.engine.events.container(self, "restart")
            if self.state.status in (Status.RUNNING, Status.PAUSED, Status.STOPPING):
                try:
                    self.stop(timeout)
                except AlreadyInState:
                    pass  # it exited on its own meanwhile
            self.start()

    def wait(self, timeout: float | None = None, conditions: tuple[Status, ...] = (Status.STOPPED, Status.EXITED),
             interval: float | None = None) -> int:
        """Block until the container reaches one of conditions; return its
        exit code.  Waiting for an exit sleeps on the monitor; waiting for
        another state looks every interval seconds (podman's --interval)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.005
        only_exit = all(c in (Status.STOPPED, Status.EXITED) for c in conditions)
        run_started = self.state.started_at
        exits = Status.STOPPED in conditions or Status.EXITED in conditions
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
            if exits and run_started and self.state.started_at != run_started:
                # The run waited on ended and another began (its restart
                # policy's, or a restart) before this look.
                return self.state.exit_code
            if st in conditions or (st == Status.CONFIGURED and self.state.finished_at):
                trace.step(f"wait: exit code {self.state.exit_code}")
                return self.state.exit_code
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError(f"timed out waiting for container {self.id}")
            if only_exit and st in ACTIVE and self.state.conmon_pid:
                # Sleep on the monitor itself: it exits right after recording the exit.
                self.runtime.wait_exit(self, self.state.pid, self.state.conmon_pid, timeout=left if left is not None else 1.0)
            elif interval is not None or not only_exit:
                step = 0.25 if interval is None else interval
                time.sleep(step if left is None else max(0.0, min(step, left)))
            else:
                time.sleep(delay)
                delay = min(delay * 2, 0.25)

    # -- cleanup and removal -----------------------------------------------

    def cleanup(self) -> None:
        """After the process exited: unmount, delete from the runtime.  conmon's
        exit command runs this; it is safe to run any number of times."""
        with self.locked():
            self.sync()
            if self.state.status in (Status.RUNNING, Status.PAUSED, Status.STOPPING):
                raise ContainerRunning(f"container {self.id} is running or paused, refusing to clean up: container state improper")
            if self._restart_by_policy():
                return
            self._cleanup_locked()

    def _restart_by_policy(self) -> bool:
        """After the process exited: start again if the restart policy says
        so (lock held).  True when it did."""
        from .restart import should_restart

        st = self.state
        if st.status != Status.STOPPED or not should_restart(self.config.restart, st.exit_code, st.restart_count,
                                                              st.stopped_by_user):
            return False
        st.restart_count += 1
        self.save()
        self.engine.events.container(self, "restart")
        self._cleanup_locked()
        self._init(keep_exit_code=True)
        self._start_locked()
        return True

    def _cleanup_locked(self) -> None:
        if self.config.health.enabled:
            from . import healthtimer

            healthtimer.stop(self)
        if self.state.status in (Status.STOPPED, Status.CREATED) or (self.state.mountpoint and not self.state.user_mounts):
            from . import execs

            execs.on_container_stopped(self)
            self.runtime.delete_container(self)
            failpoint("cleanup.after-runtime-delete")
            self._release_mounts()
            from . import namespaces

            namespaces.release(self)
            self._teardown_storage()
            failpoint("cleanup.after-unmount")
            trace.step("storage: unmounted")
            self.runtime.remove_runtime_files(self)
            if self.config.namespaces.ipc == "shareable":
                bundle.unmount_shareable_shm(self.engine, self.id)
            from ..storage.tree import remove_what_can_go

            remove_what_can_go(self.paths.run_dir)
            for leftover in ("ctl", "winsz", "attach", "oom"):
                _unlink(os.path.join(self.paths.userdata, leftover))
            if self.state.status in (Status.STOPPED, Status.CREATED):
                self.state.status = Status.EXITED
            if not self.state.user_mounts:
                self.state.mountpoint = ""
            self.save()
            self.engine.events.container(self, "cleanup")

    def _release_mounts(self) -> None:
        if self.config.mounts:
            from . import mounts

            mounts.release(self)

    def _teardown_storage(self) -> None:
        if self.state.user_mounts:
            return  # `pypod mount` holds it until `pypod umount`
        if not self.config.rootfs:
            self.engine.container_storage.unmount(self.id)
        self.state.mountpoint = ""

    # -- the user's mounts of the rootfs (pypod mount / umount) ----------------

    def mount(self) -> str:
        """Mount the container's root filesystem for the user and return where
        it is; it stays mounted, running or not, until as many unmounts."""
        with self.locked():
            self.sync()
            if self.config.rootfs:
                return self.config.rootfs
            if not self.state.mountpoint:
                image = self.engine.images.lookup(self.config.image_id)
                self.state.mountpoint = self.engine.container_storage.mount(self.id, image)
            self.state.user_mounts += 1
            self.save()
            self.engine.events.container(self, "mount")
            return self.state.mountpoint

    def unmount(self, force: bool = False) -> None:
        """Undo one `mount` (all of them with force); the rootfs itself is
        unmounted once no mount is left and no process runs in it."""
        with self.locked():
            self.sync()
            st = self.state
            running = st.status in (Status.RUNNING, Status.PAUSED, Status.STOPPING)
            if running and st.user_mounts <= 1 and st.mountpoint and not self.config.rootfs and not force:
                if not st.user_mounts:
                    raise InvalidState(f"cannot unmount storage for container {self.id} as it is running or paused: "
                                       "container state improper")
            st.user_mounts = 0 if force else max(0, st.user_mounts - 1)
            if not st.user_mounts and not running and st.status != Status.CREATED and st.mountpoint:
                self._teardown_storage()
            self.save()
            self.engine.events.container(self, "unmount")

    def remove(self, force: bool = False, timeout: int | None = None, volumes: bool = False,
               defer_network: bool = False) -> bool:
        """defer_network: leave the network's teardown to conmon's exit command,
        which is waiting on this process's exit claim anyway (`run --rm`
        returns without waiting for netavark); the run dir, where the claim
        lives, stays for it.  Returns True when the network was left so."""
        from . import namespaces

        with self.locked():
            try:
                self.sync()
            except NoSuchContainer:
                if not defer_network:
                    namespaces.release(self)  # what a remover that deferred it left
                return False
            st = self.state.status
            dependents = [c.id for c in self.engine.dependents(self.id)]
            if dependents:
                raise ContainerExists(f"container {self.id} has dependent containers which must be removed before it: "
                                      f"{', '.join(dependents)}: container already exists")
            if st in (Status.RUNNING, Status.PAUSED, Status.STOPPING) or (st == Status.CREATED and not force):
                if not force:
                    raise ContainerRunning(
                        f"cannot remove container {self.id} as it is {st.value} - running or paused containers "
                        "cannot be removed without force: container state improper"
                    )
            if st in ACTIVE:
                try:
                    self.stop(0 if timeout is None and st == Status.CREATED else timeout)
                except AlreadyInState:
                    pass
                except NoSuchContainer:
                    return False  # a --rm container whose monitor was gone: stopping removed it
                try:
                    self.reload()
                except NoSuchContainer:
                    return False  # removed by someone else (a `--rm` cleanup) while it stopped
            deferred = defer_network and namespaces.has_sandbox(self)
            self._remove_locked(st, volumes, keep_run_dir=deferred)
        # Outside the lock, as podman's cleanup: whoever waits for this
        # container need not wait for netavark.  The sandbox outlives the
        # container's record, so a crash here leaves it for the next teardown.
        if not deferred:
            namespaces.release(self)
            trace.step("network: torn down")
        return deferred

    def _remove_locked(self, status_before: Status, volumes: bool = False, keep_run_dir: bool = False) -> None:
        """Delete everything of the container, the record last; call with
        the lock held and the process gone.  Each step tolerates its piece
        being gone already: a crash anywhere here is finished by the next rm."""
        self.state.status = Status.REMOVING
        self.save()
        failpoint("rm.after-removing-recorded")
        from . import execs

        execs.remove_all(self)
        # The runtime's delete (its state and cgroups) and the removal of our
        # files touch nothing of each other's: with the process gone, they run
        # side by side (a `runtime delete` is ~9 ms; unlinks here cost as
        # much under load), and the failpoints below fire once both are done.
        deleted = self.runtime.begin_delete(self)
        try:
            self._release_mounts()
            anonymous = []
            if volumes and self.config.mounts:
                from .mounts import anonymous_volumes

                anonymous = anonymous_volumes(self.engine, self.config)
            if not self.config.rootfs:
                self.engine.container_storage.remove(self.id)
                trace.step("storage: removed")
            self.runtime.remove_runtime_files(self)
            if self.config.namespaces.ipc == "shareable":
                bundle.unmount_shareable_shm(self.engine, self.id)
            from ..storage.tree import remove_what_can_go

            if not keep_run_dir:
                from .exitclaim import remove_claimed_dir

                remove_claimed_dir(self.paths.run_dir)
            remove_what_can_go(os.path.dirname(self.paths.userdata))
            trace.step("files: removed")
        except BaseException:
            try:
                deleted()  # reaped, whatever it says: the first error is the one to tell
            except PypodError:
                pass
            raise
        deleted()
        failpoint("rm.after-runtime-delete")
        failpoint("rm.after-storage-remove")
        failpoint("rm.after-files")
        finished = self.state.finished_at or status_before in (Status.STOPPED, Status.EXITED)
        self.engine.store.remove_container(self.id, self.state.exit_code if finished else None)
        trace.step("store: container removed")
        failpoint("rm.after-record-removed")
        self._lock.unlink()
        self.engine.events.container(self, "remove")
        if anonymous:
            # After the record is gone: a volume is removed only once no container names it.
            self.engine.volumes.remove_anonymous(anonymous)

    # -- checkpoint / restore -------------------------------------------------

    @property
    def checkpoint_dir(self) -> str:
        return os.path.join(self.paths.userdata, "checkpoint")

    def checkpoint(self, options=None) -> None:
        """Dump the running container with CRIU (through the runtime);
        options: engine.checkpoint.CheckpointOptions."""
        from ..errors import CheckpointUnsupported
        from .checkpoint import CheckpointOptions, check_checkpoint, not_carried_out, runtime_flags

        o = options or CheckpointOptions()
        check_checkpoint(o)
        ok, why = self.runtime.supports_checkpoint()
        if not ok:
            raise CheckpointUnsupported(why)
        if not_carried_out(o):
            raise CheckpointUnsupported(f"{not_carried_out(o)}: pypod does not write checkpoint archives or images")
        flags = runtime_flags(o)
        image_dir = self.checkpoint_dir
        if o.pre_checkpoint:
            image_dir = os.path.join(self.paths.userdata, "pre-checkpoint")
        elif o.with_previous:
            flags += ["--parent-path", "../pre-checkpoint"]
        with self.locked():
            self.sync()
            if self.state.status != Status.RUNNING:
                raise InvalidState(f"{self.id} is not running, cannot checkpoint: container state improper")
            started = time.monotonic()
            self.runtime.checkpoint_container(self, image_dir, flags)
            self.engine.events.container(self, "checkpoint")
            if o.print_stats:
                import json

                print(json.dumps({"podman_checkpoint_duration": int((time.monotonic() - started) * 1e6),
                                  "container_statistics": [{"Id": self.id, "Name": self.name}]}, indent=4))
            if not o.leave_running and not o.pre_checkpoint:
                self.runtime.wait_exit(self, self.state.pid, self.state.conmon_pid, timeout=10)
                self.sync()
                if self.state.status in ACTIVE:
                    self._mark_exited(missing_code=True)
                # Keep the rootfs mounted state out of it: restore mounts it again.
                self._cleanup_locked()

    def restore(self, options=None) -> None:
        """Start the container again from its last checkpoint; options:
        engine.checkpoint.RestoreOptions."""
        from ..errors import CheckpointUnsupported
        from .checkpoint import RestoreOptions, check_restore, not_carried_out, runtime_flags

        o = options or RestoreOptions()
        check_restore(o)
        ok, why = self.runtime.supports_checkpoint()
        if not ok:
            raise CheckpointUnsupported(why)
        if not_carried_out(o):
            raise CheckpointUnsupported(f"{not_carried_out(o)}: pypod does not read checkpoint archives")
        with self.locked():
            self.sync()
            if not os.path.isdir(self.checkpoint_dir):
                raise InvalidState(f"container {self.id} has no checkpoint to restore: container state improper")
            self._prepare_for_init()
            self.restore_flags = runtime_flags(o)
            self._init(restore_from=self.checkpoint_dir)
            self.state.status = Status.RUNNING
            self.state.started_at = time.time()
            self.save()
            self.engine.events.container(self, "restore")
            if not o.keep:
                import shutil

                shutil.rmtree(self.checkpoint_dir, ignore_errors=True)

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
            pids = self.runtime.container_pids(self)
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
        self.runtime.attach_resize(self, height, width)

    def rename(self, new_name: str) -> None:
        """podman rename: running or not; the name is checked as at create."""
        from .naming import validate_name

        validate_name(new_name)
        with self.locked():
            self.sync()
            self.engine.store.rename_container(self.id, new_name)
            old, self.config.name = self.config.name, new_name
        self.engine.events.container(self, "rename", oldName=old)

    def inspect(self) -> dict:
        from .inspect import inspect_container

        return inspect_container(self)


def _alive(pid: int) -> bool:
    from ..oci.procs import pid_alive

    return bool(pid) and pid_alive(pid)


def _zombie(pid: int) -> bool:
    """Exited, not yet reaped by its conmon."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rpartition(b")")[2].split()[0] in (b"Z", b"X")
    except (OSError, IndexError):
        return True


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
