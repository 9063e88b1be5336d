"""The OCI runtime driven through conmon, as libpod's ConmonOCIRuntime.

conmon is the container's monitor: it runs `runtime create`, holds the
container's stdio (attach socket, logs), records the exit code in the exits
dir and runs pypod's exit command.  It daemonizes, so containers outlive the
pypod process that made them.  Short runtime calls (start, kill, state,
delete, pause) run the runtime binary directly.
"""

from __future__ import annotations

# The C modules under signal and socket, and conmon and the runtime started by
# oci/spawn.py: the enums of signal and socket, and what subprocess imports,
# would cost an exec or a run ~10 ms of imports.
import _signal
import _socket
import os
import time

from .. import private
from .. import trace
from ..lean import json_dumps, json_loads, start_thread
from ..errors import InvalidArgument, OCIRuntimeError
from . import spawn
from .procs import pid_alive, wait_pid_exit
from .runtime import ComponentInfo, OCIRuntime, RuntimeContainer, RuntimeStatus

#: libpod's ContainerCreateTimeout
CREATE_TIMEOUT = 240.0


def find_binary(name: str, paths: list[str]) -> str | None:
    """The first executable of paths, then name on $PATH (the seeds' fallback)."""
    for p in paths:
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    import shutil  # shutil brings zlib, bz2 and lzma: only for this fallback

    return shutil.which(name)


class ConmonOCIRuntime(OCIRuntime):
    def __init__(self, name: str, path: str, conmon_path: str, config):
        self.name = name
        self.path = path
        self.conmon_path = conmon_path
        self.cfg = config
        self.runtime_root = config.runtime_root
        self.exits_dir = config.exits_dir
        self.sockets_dir = config.sockets_dir
        # runc and crun both accept --log-format=json; the error text then
        # comes from the runtime itself instead of conmon's paraphrase.
        self.supports_json_errors = name in ("runc", "crun")
        #: --runtime-flag: global runtime flags for every call, spelt as podman does ("debug" -> --debug)
        self.global_flags = [f if f.startswith("-") else "--" + f for f in getattr(config, "runtime_flags", ())]

    # -- helpers ---------------------------------------------------------

    def _runtime(self, *args: str, check: bool = True, notify: bool = False) -> spawn.Completed:
        return self._runtime_begin(*args, check=check, notify=notify)()

    def _runtime_begin(self, *args: str, check: bool = True, notify: bool = False):
        """Start a runtime call; returns the function that waits for it and
        gives what _runtime() would, so the caller can work meanwhile.
        NOTIFY_SOCKET goes only where asked: `runc start` with it waits for
        the container's READY=1 and relays it."""
        env = None
        if not notify and "NOTIFY_SOCKET" in os.environ:
            env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
        argv = [self.path, *self.global_flags, "--root", self.runtime_root, *args]
        proc = spawn.spawn(argv, env=env, stdin=spawn.DEVNULL, stdout=spawn.PIPE, stderr=spawn.PIPE)

        def finish() -> spawn.Completed:
            out, err = proc.communicate()
            trace.step(f"runtime: {self.name} {args[0]} (exit {proc.returncode})")
            if check and proc.returncode != 0:
                raise OCIRuntimeError(_runtime_message(err) or f"{self.name} {args[0]} failed")
            return spawn.Completed(argv, proc.returncode, out, err)

        return finish

    def _conmon_env(self) -> tuple[dict, list[int]]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
            "XDG_RUNTIME_DIR": self.cfg.runroot,
            "HOME": os.environ.get("HOME", "/root"),
        }
        for var in ("PYPOD_CONFIG", "PYPOD_TRACE"):  # the exit command is pypod too
            if var in os.environ:
                env[var] = os.environ[var]
        fds: list[int] = []
        if "NOTIFY_SOCKET" in os.environ:
            env["NOTIFY_SOCKET"] = os.environ["NOTIFY_SOCKET"]
        # Socket activation: the fds start at 3 and keep their numbers through
        # pass_fds; the container sees itself as the listener (LISTEN_PID=1).
        listen = os.environ.get("LISTEN_FDS")
        if listen and listen.isdigit() and os.environ.get("LISTEN_PID") in (None, str(os.getpid())):
            env["LISTEN_FDS"] = listen
            env["LISTEN_PID"] = "1"
            fds = list(range(3, 3 + int(listen)))
        return env, fds

    def _shared_args(self, ctr: RuntimeContainer, cuuid: str, bundle: str, pidfile: str, exit_dir: str, oci_log: str, log_spec: str) -> list[str]:
        """conmon arguments common to a container and its exec sessions."""
        cfg = ctr.config
        args = [self.conmon_path, "--api-version", "1", "-c", ctr.id, "-u", cuuid, "-r", self.path, "-b", bundle, "-p", pidfile]
        args += ["-l", log_spec]
        args += ["--exit-dir", exit_dir, "--socket-dir-path", self.sockets_dir]
        if cfg.log_size_max >= 0:
            args += ["--log-size-max", str(cfg.log_size_max)]
        level = {"warning": "warning", "warn": "warning"}.get(self.cfg.log_level, self.cfg.log_level)
        args += ["--log-level", level]
        if level == "debug":
            args.append("--syslog")
        for flag in self.global_flags:
            args.append(f"--runtime-arg={flag}")
        args += ["--runtime-arg", "--root", "--runtime-arg", self.runtime_root]
        if oci_log:
            args += ["--runtime-arg", "--log-format=json", "--runtime-arg", "--log", f"--runtime-arg={oci_log}"]
        if cfg.log_tag and log_spec.startswith("journald"):
            # conmon refuses a tag with k8s-file logs; only journald records one
            args += ["--log-tag", _log_tag(ctr)]
        if self.cfg.cgroup_manager == "disabled" and self.name == "crun":
            args += ["--runtime-arg", "--cgroup-manager", "--runtime-arg", "disabled"]
        return args

    def _move_to_cgroup_soon(self, pid: int, parent: str = "") -> None:
        """Put conmon's daemon under the cgroup parent, so the container's
        resources and its monitor's are accounted together (as libpod does).

        Moving a process between cgroups (v1) waits for an RCU grace period
        in the kernel (~10 ms here), and so does runc create (or exec) when
        it moves the container's first process (or the exec's) into the
        container's cgroups.  Started in a thread as soon as conmon has
        daemonized, this move overlaps the runtime's, which then finds the
        grace period passed: a run is ~10 ms faster than with the move done
        before conmon goes on (what libpod does), an exec ~15 ms faster than
        with no move at all.  What the
        daemon forks afterwards (the runtime, the exit command) starts in
        its cgroup.  Not a daemon thread: the process waits for it.
        parent: the container's --cgroup-parent ("" the engine's)."""
        if not pid or self.cfg.cgroup_manager == "disabled" or os.environ.get("INVOCATION_ID"):
            return
        start_thread(self._move_to_cgroup, pid, parent)

    def _move_to_cgroup(self, pid: int, parent: str = "") -> None:
        rel = (parent or self.cfg.cgroup_parent).strip("/") + "/conmon"
        base = "/sys/fs/cgroup"
        if os.path.exists(os.path.join(base, "cgroup.controllers")):
            targets = [os.path.join(base, rel)]
        else:
            targets = [
                os.path.join(base, c, rel)
                for c in ("memory", "pids", "cpu", "blkio")
                if os.path.isdir(os.path.join(base, c))
            ]
        for d in targets:
            try:
                os.makedirs(d, exist_ok=True)
                with open(os.path.join(d, "cgroup.procs"), "w") as f:
                    f.write(str(pid))
            except OSError:
                # As libpod: a monitor outside the sandbox cgroup is a warning, not a
                # failure (and a conmon already gone has nothing to move).
                pass
        trace.step("conmon: moved into its cgroup")

    # -- lifecycle -------------------------------------------------------

    # -- checkpoint / restore (CRIU) ---------------------------------------

    def supports_checkpoint(self) -> tuple[bool, str]:
        if self.name not in ("runc", "crun"):
            return False, f"the {self.name} runtime does not support checkpointing"
        import shutil

        criu = shutil.which("criu")
        if not criu:
            return False, "checkpoint/restore requires CRIU, which is not installed"
        import subprocess

        proc = subprocess.run([criu, "check"], capture_output=True, text=True)
        if proc.returncode != 0:
            why = (proc.stderr or proc.stdout).strip().splitlines()
            return False, f"CRIU cannot checkpoint on this machine (`criu check` failed: {why[-1] if why else proc.returncode})"
        return True, ""

    def checkpoint_container(self, ctr: RuntimeContainer, image_path: str, flags: list[str]) -> None:
        """flags: the runtime's checkpoint flags (engine/checkpoint.py's runtime_flags)."""
        self._runtime("checkpoint", "--image-path", image_path, "--work-path", ctr.paths.bundle, *flags, ctr.id)

    def create_container(self, ctr: RuntimeContainer, restore_from: str = "", held_fds: list[int] = ()) -> tuple[int, int]:
        paths = ctr.paths
        private.makedirs(paths.persist_dir)
        oci_log = paths.oci_log if self.supports_json_errors and self.cfg.log_level != "debug" else ""
        cfg = ctr.config
        log_spec = {"none": "none:", "journald": "journald:", "passthrough": "passthrough:"}.get(cfg.log_driver, f"k8s-file:{paths.log}")
        args = self._shared_args(ctr, ctr.id, paths.bundle, paths.pidfile, self.exits_dir, oci_log, log_spec)
        if cfg.tty:
            args.append("-t")
        elif cfg.stdin:
            args.append("-i")
        args += ["--conmon-pidfile", paths.conmon_pidfile, "-n", cfg.name, "--persist-dir", paths.persist_dir]
        exit_cmd = ctr.exit_command()
        if exit_cmd:
            args += ["--exit-command", exit_cmd[0]]
            for a in exit_cmd[1:]:
                args += ["--exit-command-arg", a]
            if self.cfg.exit_command_delay:
                args += ["--exit-delay", str(self.cfg.exit_command_delay)]
        if restore_from:
            args += ["--restore", restore_from]
            for flag in getattr(ctr, "restore_flags", ()):  # restore --tcp-established, --file-locks
                args += ["--runtime-opt", flag]
        if cfg.process.timeout:
            args += ["--timeout", str(cfg.process.timeout)]
        # --preserve-fds of `run`: the caller's fds 3.. go through conmon to the runtime
        preserve = getattr(ctr, "preserve_fds", 0)
        if preserve:
            args += ["--runtime-opt", "--preserve-fds", "--runtime-opt", str(preserve)]
        # --cgroups no-conmon or disabled: conmon stays in our own cgroup
        own_cgroup = cfg.resources.cgroups in ("", "enabled")
        pid = self._launch_conmon(args, paths.bundle, oci_log, on_fail=lambda: self._delete_quiet(ctr),
                                  conmon_pidfile=paths.conmon_pidfile, preserve_fds=preserve,
                                  notify=cfg.process.sdnotify == "container",
                                  cgroup=cfg.resources.cgroup_parent if own_cgroup else None,
                                  stdio=(0, 1, 2) if cfg.log_driver == "passthrough" else None,
                                  held_fds=held_fds)
        for written in (paths.pidfile, paths.conmon_pidfile, oci_log):
            if written:
                private.tighten(written)  # made with conmon's umask, which containers inherit
        return pid, _read_pidfile(paths.conmon_pidfile)

    def _launch_conmon(self, args: list[str], cwd: str, oci_log: str, on_fail=None, conmon_pidfile: str = "",
                       preserve_fds: int = 0, notify: bool = True, cgroup: str | None = "",
                       stdio: tuple[int, int, int] | None = None, held_fds: list[int] = ()) -> int:
        """Run conmon for a container; return the container pid it reports.
        cgroup: the parent to put conmon under ("" the engine's; None: leave it)."""
        mon = self._spawn(args, cwd, preserve_fds=preserve_fds, notify=notify, stdio=stdio, held_fds=held_fds)
        try:
            mon.begin()
            if conmon_pidfile and cgroup is not None:
                self._move_to_cgroup_soon(_read_pidfile(conmon_pidfile), cgroup)
            pid = mon.read_pid(oci_log)
            trace.step(f"conmon: {self.name} create done, pid {pid} (sync pipe)")
            return pid
        except BaseException:
            if on_fail:
                on_fail()
            raise
        finally:
            mon.close()

    def _spawn(self, args: list[str], cwd: str, attach_pipe: bool = False, preserve_fds: int = 0,
               notify: bool = True, stdio: tuple[int, int, int] | None = None,
               held_fds: list[int] = ()) -> "Monitor":
        """Start conmon with its sync and start (and, for exec, attach)
        socketpairs; conmon finds them by the fd numbers in its environment.
        notify: hand NOTIFY_SOCKET on to the container (--sdnotify container).
        stdio: conmon's own stdin, stdout, stderr (the passthrough log driver,
        passthrough exec).  held_fds are inherited by conmon and kept (podman
        leaks its port sockets to conmon the same way); runc closes them for
        the container."""
        pairs = [_socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET) for _ in range(3 if attach_pipe else 2)]
        env, listen_fds = self._conmon_env()
        if not notify:
            env.pop("NOTIFY_SOCKET", None)
        env["_OCI_SYNCPIPE"] = str(pairs[0][1].fileno())
        env["_OCI_STARTPIPE"] = str(pairs[1][1].fileno())
        if attach_pipe:
            env["_OCI_ATTACHPIPE"] = str(pairs[2][1].fileno())
        debug = self.cfg.log_level == "debug"
        try:
            proc = spawn.spawn(
                args,
                cwd=cwd,
                env=env,
                stdin=stdio[0] if stdio else spawn.DEVNULL,
                stdout=stdio[1] if stdio else None if debug else spawn.DEVNULL,
                # conmon's own complaints (bad arguments, ...) come here; read
                # without waiting for EOF, which its daemon child would delay.
                stderr=stdio[2] if stdio else None if debug else spawn.PIPE,
                # Preserved fds keep their numbers (3..3+N-1), as runc expects.
                pass_fds=(*(p[1].fileno() for p in pairs), *listen_fds, *range(3, 3 + preserve_fds), *held_fds),
                process_group=0,
            )
        except OSError as e:
            for a, b in pairs:
                a.close()
                b.close()
            raise OCIRuntimeError(f"starting conmon {self.conmon_path}: {e}") from None
        for _a, child in pairs:
            child.close()
        trace.step("conmon: spawned")
        return Monitor(proc, pairs[0][0], pairs[1][0], pairs[2][0] if attach_pipe else None)

    def _delete_quiet(self, ctr: RuntimeContainer) -> None:
        self._runtime("delete", "--force", ctr.id, check=False)

    def start_container(self, ctr: RuntimeContainer) -> None:
        self._runtime("start", ctr.id, notify=ctr.config.process.sdnotify == "container")

    def kill_container(self, ctr: RuntimeContainer, signal: int, all_processes: bool = False) -> None:
        args = ["kill"] + (["--all"] if all_processes else []) + [ctr.id, str(signal)]
        proc = self._runtime(*args, check=False)
        if proc.returncode != 0:
            msg = _runtime_message(proc.stderr)
            raise OCIRuntimeError(f"error sending signal to container {ctr.id}: {msg}")

    def stop_container(self, ctr: RuntimeContainer, timeout: int, pid: int) -> bool:
        if timeout > 0:
            try:
                self.kill_container(ctr, ctr.config.stop_signal)
            except OCIRuntimeError:
                # The process may be gone already; the state check below decides.
                if not pid_alive(pid):
                    return False
            if wait_pid_exit(pid, timeout):
                return False
        try:
            self.kill_container(ctr, _signal.SIGKILL, all_processes=False)
        except OCIRuntimeError:
            if not pid_alive(pid):
                return False
            raise
        if not wait_pid_exit(pid, 5):
            raise OCIRuntimeError(f"timed out waiting for container {ctr.id} to exit after SIGKILL")
        return timeout > 0

    def delete_container(self, ctr: RuntimeContainer) -> None:
        self.begin_delete(ctr)()

    def begin_delete(self, ctr: RuntimeContainer):
        finish = self._runtime_begin("delete", "--force", ctr.id, check=False)

        def done() -> None:
            proc = finish()
            if proc.returncode != 0 and b"does not exist" not in proc.stderr and b"not found" not in proc.stderr:
                raise OCIRuntimeError(_runtime_message(proc.stderr))

        return done

    def pause_container(self, ctr: RuntimeContainer) -> None:
        self._runtime("pause", ctr.id)

    def unpause_container(self, ctr: RuntimeContainer) -> None:
        self._runtime("resume", ctr.id)

    def update_resources(self, ctr: RuntimeContainer, resources: dict, scratch: str) -> None:
        from .. import private

        private.write_file(scratch, json_dumps(resources))
        try:
            self._runtime("update", "--resources", scratch, ctr.id)
        finally:
            os.unlink(scratch)

    def container_ids(self) -> list[str]:
        proc = self._runtime("list", "-q", check=False)
        return [line.strip() for line in proc.stdout.decode(errors="replace").splitlines() if line.strip()]

    def start_pending(self, ctr: RuntimeContainer) -> bool | None:
        # runc and crun hold a created container's process on exec.fifo in
        # their state dir and remove it when `start` opens it.
        if self.name not in ("runc", "crun"):
            return None
        return os.path.exists(os.path.join(self.runtime_root, ctr.id, "exec.fifo"))

    def started_at(self, ctr: RuntimeContainer) -> float:
        # Removing exec.fifo at start is the last change to the state dir.
        if self.name not in ("runc", "crun") or self.start_pending(ctr):
            return 0.0
        try:
            return os.stat(os.path.join(self.runtime_root, ctr.id)).st_mtime
        except OSError:
            return 0.0

    def container_status(self, ctr: RuntimeContainer) -> RuntimeStatus:
        proc = self._runtime("state", ctr.id, check=False)
        if proc.returncode != 0:
            if b"does not exist" in proc.stderr or b"not found" in proc.stderr:
                return RuntimeStatus("absent")
            raise OCIRuntimeError(f"error getting container {ctr.id} state: {_runtime_message(proc.stderr)}")
        try:
            data = json_loads(proc.stdout)
        except ValueError:
            raise OCIRuntimeError(f"error decoding container status for container {ctr.id}") from None
        return RuntimeStatus(data.get("status", "stopped"), int(data.get("pid") or 0))

    def read_exit(self, ctr: RuntimeContainer) -> tuple[int, float, bool] | None:
        path = os.path.join(self.exits_dir, ctr.id)
        try:
            with open(path) as f:
                text = f.read().strip()
            when = os.stat(path).st_mtime
        except FileNotFoundError:
            return None
        try:
            code = int(text)
        except ValueError:
            return None  # conmon is still writing it
        oom = os.path.exists(os.path.join(ctr.paths.persist_dir, "oom")) or os.path.exists(
            os.path.join(ctr.paths.bundle, "oom")
        )
        return code, when, oom

    def wait_exit(self, ctr: RuntimeContainer, pid: int, conmon_pid: int, timeout: float | None = None) -> bool:
        # Not conmon's own exit: conmon lingers until its exit command (a
        # whole `pypod container cleanup`) is done.  The container process
        # ends first; conmon reaps it and writes the exit file right after.
        exit_file = os.path.join(self.exits_dir, ctr.id)
        deadline = None if timeout is None else time.monotonic() + timeout
        if pid > 0 and not wait_pid_exit(pid, timeout):
            return os.path.exists(exit_file)
        delay = 0.0005
        while not os.path.exists(exit_file):
            if conmon_pid <= 0 or not pid_alive(conmon_pid):
                return os.path.exists(exit_file)
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        return True

    def remove_runtime_files(self, ctr: RuntimeContainer) -> None:
        try:
            os.unlink(os.path.join(self.exits_dir, ctr.id))
        except FileNotFoundError:
            pass
        remove_path(os.path.join(self.sockets_dir, ctr.id))

    def container_pids(self, ctr: RuntimeContainer) -> list[int]:
        proc = self._runtime("ps", "--format", "json", ctr.id)
        try:
            return [int(p) for p in json_loads(proc.stdout or b"[]")]
        except (ValueError, TypeError):
            raise OCIRuntimeError(f"cannot parse the process list of container {ctr.id}") from None

    def attach_socket_path(self, ctr: RuntimeContainer) -> str:
        # conmon binds it in the bundle (its link under --socket-dir-path
        # only exists to keep the path short, which connect_attach does itself).
        return os.path.join(ctr.paths.bundle, "attach")

    def attach_resize(self, ctr: RuntimeContainer, height: int, width: int) -> None:
        write_ctl(ctr.paths.ctl, f"1 {height} {width}\n")

    # -- exec sessions (seeds 001, 000) -------------------------------------

    def exec_container(self, ctr: RuntimeContainer, session_id: str, bundle: str, spec_path: str, *,
                       terminal: bool, stdin: bool, preserve_fds: int, exit_command: list[str],
                       passthrough: tuple[int, int, int] | None = None) -> "Monitor":
        """Start conmon in exec mode and let it set up; the caller then waits
        for the attach pipe, attaches, and sends the second start byte.

        passthrough: (stdin, stdout, stderr) file descriptors that become the
        process's own (conmon's passthrough log driver): its output goes
        straight where the caller's goes, past conmon's 8 KiB messages and
        every copy; there is no attach socket, the process starts at once,
        and the exit code comes on the sync pipe.  Never terminals: conmon
        refuses them (a process could push keystrokes into a host terminal)."""
        oci_log = os.path.join(bundle, "oci-log") if self.supports_json_errors and self.cfg.log_level != "debug" else ""
        exit_dir = os.path.join(bundle, "exit")
        private.makedirs(exit_dir)
        log_spec = "passthrough" if passthrough else "none:"
        args = self._shared_args(ctr, session_id, bundle, os.path.join(bundle, "exec_pid"), exit_dir, oci_log, log_spec)
        if preserve_fds:
            args += ["--runtime-opt", "--preserve-fds", "--runtime-opt", str(preserve_fds)]
        if terminal:
            args.append("-t")
        if stdin and not passthrough:
            args.append("-i")
        args += ["-e", *([] if passthrough else ["--exec-attach"]), "--exec-process-spec", spec_path]
        conmon_pidfile = os.path.join(bundle, "conmon.pid")
        args += ["--conmon-pidfile", conmon_pidfile]
        if exit_command:
            args += ["--exit-command", exit_command[0]]
            for a in exit_command[1:]:
                args += ["--exit-command-arg", a]
            if self.cfg.exit_command_delay:
                args += ["--exit-delay", str(self.cfg.exit_command_delay)]
        mon = self._spawn(args, bundle, attach_pipe=not passthrough, preserve_fds=preserve_fds, stdio=passthrough)
        mon.oci_log = oci_log
        try:
            mon.begin()
            # As libpod moves an exec's conmon too.  Done in a thread while
            # runc exec starts, it makes the exec faster, not slower: runc's
            # own move of the process into the container's cgroups then finds
            # the kernel's grace period passed (see _move_to_cgroup_soon).
            self._move_to_cgroup_soon(_read_pidfile(conmon_pidfile))
        except BaseException:
            mon.close()
            raise
        return mon

    def exec_attach_socket_path(self, bundle: str) -> str:
        return os.path.join(bundle, "attach")

    def exec_resize(self, bundle: str, height: int, width: int) -> None:
        write_ctl(os.path.join(bundle, "ctl"), f"1 {height} {width}\n")

    def exec_read_exit(self, ctr: RuntimeContainer, bundle: str) -> int | None:
        # conmon names exit files after -c, the container, even for exec
        try:
            with open(os.path.join(bundle, "exit", ctr.id)) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def exec_stop(self, pid: int, timeout: int) -> None:
        """SIGTERM, up to timeout seconds, then SIGKILL (the seed's second
        SIGTERM is a bug), waiting on the pid throughout."""
        if not pid_alive(pid):
            return
        if timeout > 0:
            try:
                os.kill(pid, _signal.SIGTERM)
            except ProcessLookupError:
                return
            if wait_pid_exit(pid, timeout):
                return
        try:
            os.kill(pid, _signal.SIGKILL)
        except ProcessLookupError:
            return
        if not wait_pid_exit(pid, 5):
            raise OCIRuntimeError(f"timed out waiting for exec session PID {pid} to stop after SIGKILL")

    def info(self) -> tuple[ComponentInfo, ComponentInfo]:
        return (
            ComponentInfo("conmon", self.conmon_path, _version_of(self.conmon_path), _package_of(self.conmon_path)),
            ComponentInfo(self.name, self.path, _version_of(self.path), _package_of(self.path)),
        )


def write_ctl(ctl_path: str, message: str) -> None:
    """Write to conmon's control FIFO without ever blocking on a gone conmon."""
    try:
        fd = os.open(ctl_path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        raise OCIRuntimeError(f"could not open ctl file for terminal resize: {e}") from None
    try:
        os.write(fd, message.encode())
    finally:
        os.close(fd)


def _log_tag(ctr: RuntimeContainer) -> str:
    """--log-opt tag may be a Go template over the container (seed 002's getLogTag)."""
    tag = ctr.config.log_tag
    if "{{" not in tag:
        return tag
    from ..proto.gotemplate import render

    cfg = ctr.config
    data = {"ID": ctr.id, "Name": cfg.name, "ImageName": cfg.image, "ImageID": cfg.image_id,
            "Hostname": cfg.hostname, "Labels": cfg.labels}
    return render(tag, data)


def remove_path(path: str) -> None:
    """Remove a file, a symlink (never its target) or a directory tree."""
    from ..storage.tree import remove_what_can_go

    remove_what_can_go(path)


def _read_pidfile(path: str) -> int:
    try:
        with open(path) as f:
            return int(f.read().strip() or 0)
    except (OSError, ValueError):
        return 0


class Monitor:
    """A conmon just started, seen through its pipes (seed 002's execPipes)."""

    def __init__(self, proc: spawn.Spawned, sync: _socket.socket, start: _socket.socket, attach: _socket.socket | None):
        self.proc = proc
        self.sync = sync
        self.start = start
        self.attach = attach
        self.oci_log = ""
        self._readers: dict = {}
        self._pending: dict = {}

    def begin(self) -> None:
        """Let conmon go on: it forks its daemon and its first process exits."""
        try:
            self.start.send(b"\0")
        except OSError:
            pass  # conmon is already gone; its exit status and stderr say why
        code = self.proc.wait()
        trace.step("conmon: daemonized")
        if code != 0:
            raise OCIRuntimeError(f"conmon failed: {self.stderr_text() or f'exit status {self.proc.returncode}'}")

    def stderr_text(self) -> str:
        if self.proc.stderr is None:
            return ""
        os.set_blocking(self.proc.stderr.fileno(), False)
        try:
            data = self.proc.stderr.read() or b""
        except OSError:
            data = b""
        return data.decode(errors="replace").strip().replace("[conmon:e]: ", "").replace("[conmon:e] ", "")

    def signal_start(self) -> None:
        """For exec: the second start byte runs the process (after attach)."""
        self.start.send(b"\0")

    def read_message(self, sock: _socket.socket, timeout: float | None = CREATE_TIMEOUT) -> tuple[int, str | None] | None:
        """The next (data, message) conmon sends on sock, or None at EOF
        (timeout None: however long the process runs)."""
        from ..proto.conmon_sync import SyncReader

        reader = self._readers.setdefault(sock.fileno(), SyncReader())
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._pending.get(sock.fileno()):
                return self._pending[sock.fileno()].pop(0)
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise OCIRuntimeError("container creation timeout: internal libpod error")
            sock.settimeout(left)
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            except ConnectionResetError:
                chunk = b""
            msgs = reader.feed(chunk) if chunk else reader.close()
            if not chunk and not msgs:
                return None
            self._pending.setdefault(sock.fileno(), []).extend(msgs)

    def read_pid(self, oci_log: str, what: str = "container create") -> int:
        from ..proto.conmon_sync import pid_from_message

        return pid_from_message(self.read_message(self.sync), _read_text(oci_log), what)

    def close(self) -> None:
        for s in (self.sync, self.start, self.attach):
            if s is not None:
                s.close()
        if self.proc.stderr is not None:
            self.proc.stderr.close()


def _read_text(path: str) -> str:
    if not path:
        return ""
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def _runtime_message(stderr: bytes) -> str:
    """The last error a runtime printed, whether as JSON log lines or plain text."""
    text = stderr.decode(errors="replace").strip()
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json_loads(line).get("msg", line)
            except ValueError:
                pass
        if line:
            return line
    return text


def _version_of(path: str) -> str:
    import subprocess

    try:
        out = subprocess.run([path, "--version"], capture_output=True, timeout=10).stdout.decode()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return out.strip().replace("\n", ", ", 1).split("\n")[0] if out else "unknown"


def _package_of(path: str) -> str:
    import subprocess

    try:
        out = subprocess.run(["dpkg", "-S", os.path.realpath(path)], capture_output=True, timeout=10).stdout.decode()
        pkg = out.split(":", 1)[0].strip()
        if pkg:
            ver = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, timeout=10).stdout.decode()
            return f"{pkg}_{ver}"
    except (OSError, subprocess.TimeoutExpired):
        pass
    return "Unknown"


def select_runtime(config, fallback: bool = True) -> ConmonOCIRuntime:
    """The configured runtime if it is there, else (with fallback) the first
    other one found."""
    conmon = find_binary("conmon", config.conmon_paths)
    if not conmon:
        raise OCIRuntimeError("could not find a working conmon binary (configured options: "
                              f"{config.conmon_paths}): invalid argument")
    order = [config.runtime] + ([n for n in config.runtime_paths if n != config.runtime] if fallback else [])
    for name in order:
        path = find_binary(name, config.runtime_paths.get(name, []))
        if path:
            if name != config.runtime and os.path.sep not in config.runtime:
                import sys

                print(f"WARN: OCI runtime {config.runtime!r} not found; using {name} ({path})", file=sys.stderr)
            return ConmonOCIRuntime(name, path, conmon, config)
    if os.path.sep in config.runtime and os.access(config.runtime, os.X_OK):
        return ConmonOCIRuntime(os.path.basename(config.runtime), config.runtime, conmon, config)
    raise InvalidArgument(f"default OCI runtime \"{config.runtime}\" not found: invalid argument")
