"""Exec sessions: processes started inside a running container (seeds 003, 001, 000).

A session is created (recorded only), started (conmon in exec mode runs
`runtime exec` with a process spec derived from the container's), and ends
stopped with the exit code conmon recorded.  The exit file in the session's
bundle is the truth even when no pypod was running when the process ended;
any pypod that looks at the container's sessions reaps those that ended.
"""

from __future__ import annotations

import os
import time
from ..lean import StrEnum, json_dumps, json_loads
from ..record import asdict, field, fields, record

from ..failpoints import failpoint
from .. import trace
from ..storage.tree import remove_what_can_go
from .container import StateRecord
from ..errors import (
    InvalidArgument,
    InvalidState,
    NoSuchExecSession,
    OCIRuntimeError,
)


class ExecStatus(StrEnum):
    CREATED = "created"
    RUNNING = "running"
    STOPPED = "stopped"

    def __str__(self) -> str:
        return self.value


@record
class ExecConfig:
    command: list[str] = field(default_factory=list)
    terminal: bool = False
    attach_stdin: bool = False
    attach_stdout: bool = True
    attach_stderr: bool = True
    #: None: the engine's default (ctrl-p,ctrl-q); "": detaching disabled
    detach_keys: str | None = None
    environment: dict[str, str] = field(default_factory=dict)
    privileged: bool = False
    user: str = ""
    workdir: str = ""
    preserve_fds: int = 0
    #: run by conmon when the process exits; filled in for detached starts
    exit_command: list[str] = field(default_factory=list)
    #: the one-shot `exec`'s session: removed once it ended, whoever notices
    auto_remove: bool = False

    @classmethod
    def from_dict(cls, d: dict) -> "ExecConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


@record
class ExecState(StateRecord):
    status: ExecStatus = ExecStatus.CREATED
    pid: int = 0
    exit_code: int = -1
    started_at: float = 0.0
    finished_at: float = 0.0
    #: the process that drives a one-shot session (pid, start time): when it
    #: died before launching the session, nobody will, and the row can go
    owner_pid: int = 0
    owner_started: float = 0.0


class ExecSession:
    def __init__(self, ctr, session_id: str, config: ExecConfig, state: ExecState):
        self.container = ctr
        self.id = session_id
        self.config = config
        self.state = state
        #: its row is gone: the one-shot session ended with its driver there
        self.removed = False

    def __repr__(self) -> str:
        return f"<ExecSession {self.id[:12]} {self.state.status.value}>"

    @property
    def bundle(self) -> str:
        return exec_bundle(self.container, self.id)

    def save(self) -> None:
        self.container.engine.store.save_exec_state(self.id, self.state.to_dict())

    def reload(self) -> None:
        _cid, _cfg, st = self.container.engine.store.get_exec(self.id)
        self.state = ExecState.from_dict(st)

    # -- starting ---------------------------------------------------------

    def _launch(self, exit_command: list[str], passthrough: tuple[int, int, int] | None = None):
        """With the container lock held: write the process spec and start
        conmon; returns the monitor waiting for its attach (or, passthrough,
        already starting the process on those fds)."""
        ctr = self.container
        ctr.sync()
        from .container import Status

        if ctr.state.status != Status.RUNNING:
            raise InvalidState("can only start exec sessions when their container is running: container state improper")
        self.reload()
        if self.state.status != ExecStatus.CREATED:
            raise InvalidState(f"exec session {self.id} is in state {self.state.status.value}, only created sessions can be started: exec session state improper")
        remove_what_can_go(self.bundle)
        from .. import private

        private.makedirs(self.bundle)
        spec_path = os.path.join(self.bundle, "exec-process-spec.json")
        private.write_file(spec_path, json_dumps(process_spec(ctr, self.config)))
        trace.step("exec: process spec written")
        try:
            mon = ctr.runtime.exec_container(
                ctr, self.id, self.bundle, spec_path,
                terminal=self.config.terminal,
                stdin=self.config.attach_stdin,
                preserve_fds=self.config.preserve_fds,
                exit_command=exit_command,
                passthrough=passthrough,
            )
        except BaseException:
            self._remove_files()
            raise
        failpoint("exec.after-launch")
        return mon

    def _running(self, pid: int) -> None:
        self.state.status = ExecStatus.RUNNING
        self.state.pid = pid
        self.state.started_at = time.time()
        self.save()
        failpoint("exec.after-running-recorded")
        ctr = self.container
        ctr.engine.events.container(ctr, "exec", execID=self.id)
        trace.step("store: session 'running' saved, event written")

    def _failed_start(self, mon, err: Exception) -> None:
        """A process that never ran: the session is stopped with podman's code for why."""
        mon.close()
        self.state.status = ExecStatus.STOPPED
        self.state.exit_code = getattr(err, "exit_code", 125)
        self.state.finished_at = time.time()
        self.save()
        self._remove_files()

    def start_attached(self, streams, size: tuple[int, int] | None = None) -> int | None:
        """Start and attach; the exit code, or None when the user detached.
        streams: engine.AttachStreams (fds), or anything with the same pump."""
        from .attach import attach_to_socket, connect_attach

        ctr = self.container
        with ctr.locked():
            mon = self._launch(exit_command=[])
            try:
                # conmon says its attach socket is up; connect before the
                # process exists, so not one byte of output is missed.
                if mon.read_message(mon.attach) is None:
                    raise OCIRuntimeError(f"conmon failed to set up exec session {self.id} attach socket")
                sock = connect_attach(ctr.runtime.exec_attach_socket_path(self.bundle))
                trace.step("exec: attached to conmon")
                if size and self.config.terminal:
                    ctr.runtime.exec_resize(self.bundle, *size)
                mon.signal_start()
                pid = mon.read_pid(mon.oci_log, "exec")
                trace.step(f"conmon: runtime exec started pid {pid} (sync pipe)")
            except OCIRuntimeError as e:
                self._failed_start(mon, e)
                raise
            except BaseException:
                mon.close()
                self._remove_files()
                raise
            self._running(pid)
        detached = attach_to_socket(ctr, sock, streams, tty=self.config.terminal, stdin_open=self.config.attach_stdin,
                                    detach_keys=self.config.detach_keys, resize=lambda h, w: self.resize(h, w))
        failpoint("exec.after-output")
        trace.step("attach: output closed" if not detached else "attach: detached")
        if detached:
            mon.close()
            return None
        return self._finish(mon)

    def begin_passthrough(self, stdio: tuple[int, int, int]):
        """Start with stdio as the process's own stdin, stdout and stderr
        (conmon's passthrough log driver; engine/execpipe.py gives it pipes);
        returns the monitor whose sync pipe tells the exit (_finish)."""
        ctr = self.container
        with ctr.locked():
            mon = self._launch(exit_command=[], passthrough=stdio)
            try:
                pid = mon.read_pid(mon.oci_log, "exec")
                trace.step(f"conmon: runtime exec started pid {pid}, stdio passed through (sync pipe)")
            except OCIRuntimeError as e:
                self._failed_start(mon, e)
                raise
            except BaseException:
                mon.close()
                self._remove_files()
                raise
            self._running(pid)
        return mon

    def start_detached(self) -> int:
        """Start without attaching (left unimplemented in the seed): conmon's
        exit command records the end.  Returns the pid."""
        ctr = self.container
        with ctr.locked():
            exit_cmd = ctr.engine.exit_command(ctr.id, False)
            exit_cmd = exit_cmd[:-1] + ["--exec", self.id, ctr.id]
            mon = self._launch(exit_command=exit_cmd)
            try:
                if mon.read_message(mon.attach) is None:
                    raise OCIRuntimeError(f"conmon failed to set up exec session {self.id}")
                mon.signal_start()
                pid = mon.read_pid(mon.oci_log, "exec")
            except OCIRuntimeError as e:
                self._failed_start(mon, e)
                raise
            finally:
                mon.close()
            self._running(pid)
            return pid

    def _finish(self, mon, timeout: float | None = 60) -> int:
        """After the output closed (or, passthrough, while the process runs):
        conmon reports the exit code on the sync pipe."""
        try:
            msg = mon.read_message(mon.sync, timeout=timeout)
        except OCIRuntimeError:
            msg = None
        finally:
            mon.close()
        code = msg[0] if msg is not None else None
        trace.step(f"conmon: exit code {code} (sync pipe)")
        ctr = self.container
        with ctr.locked():
            try:
                self.reload()
            except NoSuchExecSession:
                # Another pypod saw it end first and removed the one-shot
                # session; conmon told us the code all the same.
                return code if code is not None else EXIT_CODE_UNKNOWN
            if self.state.status == ExecStatus.RUNNING:
                self._record_exit(code, remove=self.config.auto_remove)
            return self.state.exit_code

    def _record_exit(self, code: int | None, remove: bool = False) -> None:
        """Mark stopped with the real exit code; remove the session's files.
        remove: the one-shot session's own driver, which returns the code
        itself: the row goes instead of recording the end first (one write
        less per `exec`), after the files, so a crash between the two
        leaves a row for the next reap to finish."""
        rt = self.container.runtime
        file_code = rt.exec_read_exit(self.container, self.bundle)
        if file_code is not None:
            code = file_code
        if code is None:
            code = self._await_exit_file()
        self.state.status = ExecStatus.STOPPED
        self.state.exit_code = code if code is not None else EXIT_CODE_UNKNOWN
        self.state.finished_at = time.time()
        self.state.pid = 0
        if remove:
            self._remove_files()
            self.container.engine.store.remove_exec(self.id)
            self.removed = True
            failpoint("exec.after-exit-recorded")
            trace.step("store: exec session removed (ended; its files first)")
        else:
            self.save()
            failpoint("exec.after-exit-recorded")
            self._remove_files()
            trace.step("exec: session stopped, files removed")
        ctr = self.container
        ctr.engine.events.container(ctr, "exec_died", execID=self.id,
                                containerExitCode=self.state.exit_code)

    def _await_exit_file(self, timeout: float = 2.0) -> int | None:
        """The process is gone (or going): conmon writes the exit file just
        after reaping it, so give it a moment before calling the code lost."""
        from ..oci.procs import conmon_pids, pid_alive, wait_pid_exit

        rt = self.container.runtime
        wait_pid_exit(self.state.pid, 5)
        deadline = time.monotonic() + timeout
        while True:
            code = rt.exec_read_exit(self.container, self.bundle)
            if code is not None or time.monotonic() >= deadline:
                return code
            # conmon serving this bundle (its -b argument) gone: no file will come
            if not any(pid_alive(p) for p in conmon_pids(self.bundle)):
                return rt.exec_read_exit(self.container, self.bundle)
            time.sleep(0.01)

    def _remove_files(self) -> None:
        remove_what_can_go(self.bundle)
        try:
            os.rmdir(os.path.dirname(self.bundle))  # the last session's takes the exec dir along
        except OSError:
            pass
        from ..oci.conmon import remove_path

        remove_path(os.path.join(self.container.engine.config.sockets_dir, self.id))

    # -- after start ----------------------------------------------------------

    def resize(self, height: int, width: int) -> None:
        self.reload()
        if self.state.status != ExecStatus.RUNNING:
            raise InvalidState(f"cannot resize exec session {self.id} as it is not running: exec session state improper")
        if not self.config.terminal:
            return
        self.container.runtime.exec_resize(self.bundle, height, width)

    def stop(self, timeout: int = 10) -> None:
        ctr = self.container
        with ctr.locked():
            reap(ctr)
            self.reload()
            if self.state.status != ExecStatus.RUNNING:
                raise InvalidState(f"exec session {self.id} is not running: exec session state improper")
            pid = self.state.pid
        ctr.runtime.exec_stop(pid, timeout)
        with ctr.locked():
            self.reload()
            if self.state.status == ExecStatus.RUNNING:
                from ..oci.procs import wait_pid_exit

                wait_pid_exit(pid, 5)
                self._record_exit(None)

    def remove(self, force: bool = False) -> None:
        ctr = self.container
        with ctr.locked():
            reap(ctr)
            self.reload()
            if self.state.status == ExecStatus.RUNNING:
                if not force:
                    raise InvalidState(f"cannot remove exec session {self.id} as it is running: exec session state improper")
                ctr.runtime.exec_stop(self.state.pid, 0)
                self._record_exit(None)
            self._remove_files()
            ctr.engine.store.remove_exec(self.id)
            trace.step("store: exec session removed")

    def inspect(self) -> dict:
        """Docker's and podman's exec inspect shape."""
        ctr = self.container
        cfg, st = self.config, self.state
        return {
            "ID": self.id,
            "ContainerID": ctr.id,
            "Running": st.status == ExecStatus.RUNNING,
            # null until the process ended: a session never started has no code
            "ExitCode": st.exit_code if st.status == ExecStatus.STOPPED else None,
            "Pid": st.pid,
            "OpenStdin": cfg.attach_stdin,
            "OpenStdout": cfg.attach_stdout,
            "OpenStderr": cfg.attach_stderr,
            "CanRemove": st.status != ExecStatus.RUNNING,
            "DetachKeys": cfg.detach_keys or "",
            "ProcessConfig": {
                "tty": cfg.terminal,
                "entrypoint": cfg.command[0] if cfg.command else "",
                "arguments": cfg.command[1:],
                "privileged": cfg.privileged,
                "user": cfg.user,
                "workdir": cfg.workdir,
                "env": [f"{k}={v}" for k, v in cfg.environment.items()],
            },
            "Status": st.status.value,
        }


#: recorded when a session's process ended and conmon recorded no code
#: (conmon itself was killed); libpod's value for a lost exit code
EXIT_CODE_UNKNOWN = 255


def exec_bundle(ctr, session_id: str) -> str:
    return os.path.join(ctr.paths.run_dir, "exec", session_id)


# -- the container's side -----------------------------------------------------------


def create(ctr, cfg: ExecConfig) -> ExecSession:
    """Record a new session; only on a running container."""
    from .container import Status

    if not cfg.command or not any(cfg.command):
        raise InvalidArgument("must provide a non-empty command to start an exec session: invalid argument")
    if cfg.preserve_fds < 0:
        raise InvalidArgument("preserve-fds must be 0 or greater: invalid argument")
    for fd in range(3, 3 + cfg.preserve_fds):
        try:
            os.fstat(fd)
        except OSError:
            raise InvalidArgument(f"file descriptor {fd} is not available - the preserve-fds option requires that all file descriptors must be passed") from None
    if cfg.detach_keys:
        from ..proto.detach_keys import parse_detach_keys

        parse_detach_keys(cfg.detach_keys)
    with ctr.locked():
        ctr.sync()
        if ctr.state.status != Status.RUNNING:
            raise InvalidState("can only create exec sessions on running containers: container state improper")
        from .naming import new_id

        sid = new_id()
        state = ExecState()
        if cfg.auto_remove:
            from ..oci.procs import process_start_time

            state.owner_pid = os.getpid()
            state.owner_started = process_start_time(state.owner_pid)
        ctr.engine.store.add_exec(sid, ctr.id, asdict(cfg), state.to_dict())
        failpoint("exec.after-create")
    trace.step("store: exec session recorded")
    return ExecSession(ctr, sid, cfg, state)


def get(ctr, session_id: str) -> ExecSession:
    store = ctr.engine.store
    sid = store.lookup_exec_id(session_id)
    cid, cfg, st = store.get_exec(sid)
    if cid != ctr.id:
        raise NoSuchExecSession(f"no exec session with ID {session_id} found in container {ctr.id}: no such exec session")
    return ExecSession(ctr, sid, ExecConfig.from_dict(cfg), ExecState.from_dict(st))


def lookup(engine, session_id: str) -> ExecSession:
    """Find a session by id alone (the REST API addresses them so)."""
    sid = engine.store.lookup_exec_id(session_id)
    cid, cfg, st = engine.store.get_exec(sid)
    ctr = engine._load(cid)
    return ExecSession(ctr, sid, ExecConfig.from_dict(cfg), ExecState.from_dict(st))


def sessions(ctr, unsettled: bool = False) -> list[ExecSession]:
    """unsettled: only the sessions reap() may still change (Store.container_execs)."""
    return [ExecSession(ctr, sid, ExecConfig.from_dict(c), ExecState.from_dict(s))
            for sid, c, s in ctr.engine.store.container_execs(ctr.id, unsettled)]


def reap(ctr) -> None:
    """Bring every session's record in line with the world; call with the
    container lock held (so no session is being started meanwhile).

    A session whose process ended is marked stopped with its real exit
    code; one whose starter died after launching it is adopted (running)
    or finished; a one-shot session that ended, or whose starter died
    before launching it, is removed."""
    for sess in sessions(ctr, unsettled=True):
        _reap_one(ctr, sess)


def _reap_one(ctr, sess: "ExecSession") -> None:
    from ..oci.procs import pid_alive

    rt = ctr.runtime
    st = sess.state
    if st.status == ExecStatus.STOPPED:
        if _abandoned(sess):
            sess._remove_files()
            ctr.engine.store.remove_exec(sess.id)
        return
    launched = os.path.isdir(sess.bundle)
    if st.status == ExecStatus.CREATED and not launched:
        if _abandoned(sess):
            ctr.engine.store.remove_exec(sess.id)  # its `exec` died before starting it
        return
    code = rt.exec_read_exit(ctr, sess.bundle)
    if code is not None:
        sess._record_exit(code)
    elif st.status == ExecStatus.CREATED:
        # Launched by a pypod that died before recording the start.
        pid = _read_pid(os.path.join(sess.bundle, "exec_pid"))
        if pid_alive(pid):
            sess.state.pid = pid
            sess._running(pid)
            return
        if _exec_monitor_alive(sess):
            return  # conmon is between launching and reporting: leave it be
        sess.state.pid = pid
        sess._record_exit(sess._await_exit_file(timeout=0.5))
    elif not pid_alive(st.pid):
        sess._record_exit(sess._await_exit_file())
    else:
        return
    if _abandoned(sess):
        ctr.engine.store.remove_exec(sess.id)


def stale(ctr) -> bool:
    """Without the lock: does any session's record look out of date?  (An
    exit file, a dead process, an abandoned launch or one-shot session.)"""
    from ..oci.procs import pid_alive

    rt = ctr.runtime
    for sess in sessions(ctr, unsettled=True):
        st = sess.state
        if st.status == ExecStatus.STOPPED:
            if _abandoned(sess):
                return True
        elif st.status == ExecStatus.CREATED:
            if os.path.isdir(sess.bundle) or _abandoned(sess):
                return True
        elif rt.exec_read_exit(ctr, sess.bundle) is not None or not pid_alive(st.pid):
            return True
    return False


def _abandoned(sess: "ExecSession") -> bool:
    """A one-shot session whose driving process is gone (while it lives,
    that process removes the session itself)."""
    from ..oci.procs import pid_alive, process_start_time

    st = sess.state
    if not sess.config.auto_remove:
        return False
    return not pid_alive(st.owner_pid) or abs(process_start_time(st.owner_pid) - st.owner_started) > 1.0


def _exec_monitor_alive(sess: "ExecSession") -> bool:
    from ..oci.procs import conmon_pids

    return bool(conmon_pids(sess.bundle))


def _read_pid(path: str) -> int:
    try:
        with open(path) as f:
            return int(f.read().strip() or 0)
    except (OSError, ValueError):
        return 0


def on_container_stopped(ctr) -> None:
    """A container that stops takes its exec sessions with it."""
    for sess in sessions(ctr):
        if sess.state.status == ExecStatus.RUNNING:
            sess._record_exit(None)
        else:
            sess._remove_files()
        if _abandoned(sess):
            ctr.engine.store.remove_exec(sess.id)


def remove_all(ctr) -> None:
    for sess in sessions(ctr):
        if sess.state.status == ExecStatus.RUNNING:
            ctr.runtime.exec_stop(sess.state.pid, 0)
            sess._record_exit(None)
        sess._remove_files()
        ctr.engine.store.remove_exec(sess.id)
    remove_what_can_go(os.path.join(ctr.paths.run_dir, "exec"))


def cleanup_session(ctr, session_id: str) -> None:
    """conmon's exit command for a detached session."""
    with ctr.locked():
        try:
            sess = get(ctr, session_id)
        except NoSuchExecSession:
            return
        if sess.state.status == ExecStatus.RUNNING:
            sess._record_exit(None)


def can_pipe(cfg: ExecConfig, streams) -> bool:
    """Whether a one-shot exec's output may go through pipes (engine/execpipe.py)
    rather than conmon's attach socket: not with a terminal, and not when
    detach keys must be watched for in stdin, which then is pypod's to read
    (without them the process reads it itself: conmon refuses a terminal
    there, as a process could push keystrokes into it)."""
    if cfg.terminal or getattr(streams, "frames", False):
        return False
    stdin = streams.stdin if cfg.attach_stdin else None
    if stdin is not None:
        keys = cfg.detach_keys if cfg.detach_keys is not None else streams.detach_keys
        if keys or os.isatty(stdin):
            return False
    return True


def run(ctr, cfg: ExecConfig, streams, size: tuple[int, int] | None = None) -> int | None:
    """The one-shot exec: create, start attached (or through pipes, where
    that is allowed), remove; the exit code."""
    cfg.auto_remove = True
    sess = create(ctr, cfg)
    try:
        code = _run_piped(sess, streams) if can_pipe(cfg, streams) else sess.start_attached(streams, size=size)
    except BaseException:
        _remove_quiet(sess)
        raise
    if code is not None and not sess.removed:
        _remove_quiet(sess)
    return code


def _run_piped(sess: ExecSession, streams) -> int:
    from .execpipe import ExecPipes

    cfg = sess.config
    out = streams.stdout if cfg.attach_stdout else None
    err = streams.stderr if cfg.attach_stderr else None
    pipes = ExecPipes(stdout=out is not None, stderr=err is not None,
                      stdin=streams.stdin if cfg.attach_stdin else None)
    try:
        mon = sess.begin_passthrough(pipes.stdio)
        pipes.started()
        try:
            pipes.forward(mon.sync, {1: out, 2: err})
        except BaseException:
            mon.close()
            raise
        failpoint("exec.after-output")
        trace.step("exec: output forwarded")
        return sess._finish(mon)
    finally:
        pipes.close()


def _remove_quiet(sess: ExecSession) -> None:
    from ..errors import PypodError

    try:
        sess.remove(force=True)
    except PypodError:
        pass


# -- the process spec (seed 000's prepareProcessExec) -------------------------------


def process_spec(ctr, cfg: ExecConfig) -> dict:
    """The container's process, changed for this session: args, terminal,
    env, cwd, user and groups looked up in the container's rootfs,
    capabilities by the seed's rules, HOME from passwd when unset."""
    from ..proto.passwd import get_container_groups, get_user_group_info
    from .bundle import host_bounding_caps

    with open(ctr.paths.spec_file) as f:
        ctr_spec = json_loads(f.read())
    ctr_proc = ctr_spec["process"]
    proc = json_loads(json_dumps(ctr_proc))
    proc["args"] = list(cfg.command)
    proc["terminal"] = bool(cfg.terminal)
    env = list(proc.get("env") or [])
    extra = [f"{k}={v}" for k, v in cfg.environment.items()]
    extra += ctr._secret_env()
    if extra:
        keys = {e.split("=", 1)[0] for e in extra}
        env = [e for e in env if e.split("=", 1)[0] not in keys] + extra
    if cfg.workdir:
        proc["cwd"] = cfg.workdir
    rootfs = ctr.state.mountpoint
    user = cfg.user
    add_groups: list[str] = []
    if not user:
        user = ctr.config.user
        add_groups = list(ctr.config.groups)
    exec_user = get_user_group_info(rootfs, user)
    sgids = get_container_groups(add_groups, rootfs) if add_groups else []
    if user or sgids:
        if user:
            sgids = [*sgids, *exec_user.sgids]
        proc["user"] = {"uid": exec_user.uid, "gid": exec_user.gid, **({"additionalGids": sgids} if sgids else {})}
    ctr_caps = ctr_proc.get("capabilities") or {}
    bounding = host_bounding_caps() if cfg.privileged else list(ctr_caps.get("bounding") or [])
    if exec_user.uid == 0:
        caps = {k: list(bounding) for k in ("bounding", "effective", "inheritable", "permitted", "ambient")}
    elif user == ctr.config.user:
        eff = list(ctr_caps.get("effective") or [])
        caps = {"bounding": bounding, **{k: list(eff) for k in ("effective", "inheritable", "permitted", "ambient")}}
    else:
        caps = {"bounding": bounding, "effective": [], "inheritable": [], "permitted": [], "ambient": []}
    proc["capabilities"] = caps
    if not any(e.startswith("HOME=") for e in env):
        env.append(f"HOME={exec_user.home}")
    proc["env"] = env
    return proc
