"""Starting conmon and the runtime as subprocess.Popen would, without
subprocess's imports.

`import subprocess` brings signal, threading, selectors, locale and
contextlib, and through them enum, functools, collections and re: about
8 ms of every `pypod exec`, which needs one call of it.  spawn() makes the
call Popen makes on CPython 3.11 (_posixsubprocess.fork_exec: vfork where
it can, fds closed but the ones passed, exec errors sent back through a
close-on-exec pipe) with the arguments Popen gives it.  On another Python,
or if that private call turns out to have another signature, Popen does the
work, with the same arguments and the same result.
"""

from __future__ import annotations

import os
import sys

#: stdin/stdout/stderr: /dev/null, or (stdout, stderr) a pipe the caller reads from
DEVNULL = -3
PIPE = -1


class Completed:
    """subprocess.CompletedProcess: a finished program's exit and output."""

    def __init__(self, args: list[str], returncode: int, stdout: bytes | None, stderr: bytes | None):
        self.args = args
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


class Spawned:
    """The part of a Popen pypod uses of a started program."""

    def __init__(self, pid: int, stdout, stderr):
        self.pid = pid
        self.returncode: int | None = None
        #: the read ends of the stdout and stderr pipes (binary files), or None
        self.stdout = stdout
        self.stderr = stderr

    def wait(self) -> int:
        if self.returncode is None:
            _pid, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def communicate(self) -> tuple[bytes | None, bytes | None]:
        """Popen.communicate(): what the child writes to its pipes until it
        closes them, then its exit (both pipes read as they fill, so that
        neither blocks the child)."""
        import select

        pipes = [f for f in (self.stdout, self.stderr) if f is not None]
        got: dict[int, list[bytes]] = {f.fileno(): [] for f in pipes}
        poller = select.poll()
        for fd in got:
            poller.register(fd, select.POLLIN)
        left = len(got)
        while left:
            for fd, _event in poller.poll():
                data = os.read(fd, 65536)
                if data:
                    got[fd].append(data)
                else:
                    poller.unregister(fd)
                    left -= 1
        out = [b"".join(got[f.fileno()]) if f is not None else None for f in (self.stdout, self.stderr)]
        for f in pipes:
            f.close()
        self.wait()
        return out[0], out[1]


def spawn(argv: list[str], *, cwd: str | None = None, env: dict[str, str] | None = None, stdin: int | None = None,
          stdout: int | None = None, stderr: int | None = None, pass_fds: tuple[int, ...] = (),
          process_group: int = -1):
    """Popen(argv, cwd=, env=, stdin=, stdout=, stderr=, pass_fds=,
    process_group=) with close_fds: each stream None (inherited), an fd,
    DEVNULL, or for stdout and stderr PIPE; env None is this process's.
    Raises OSError as Popen does when the program cannot be run."""
    if sys.implementation.name == "cpython" and sys.version_info[:2] == (3, 11):
        try:
            return _fork_exec(argv, cwd, env, stdin, stdout, stderr, pass_fds, process_group)
        except _SignatureMismatch:
            pass
    return _popen(argv, cwd, env, stdin, stdout, stderr, pass_fds, process_group)


class _SignatureMismatch(Exception):
    pass


def _popen(argv, cwd, env, stdin, stdout, stderr, pass_fds, process_group):
    import subprocess

    def stream(value):
        return {DEVNULL: subprocess.DEVNULL, PIPE: subprocess.PIPE}.get(value, value)

    return subprocess.Popen(argv, cwd=cwd, env=env, stdin=stream(stdin), stdout=stream(stdout),
                            stderr=stream(stderr), pass_fds=pass_fds, process_group=process_group)


def _fork_exec(argv, cwd, env, stdin, stdout, stderr, pass_fds, process_group) -> Spawned:
    import _posixsubprocess

    env_list = None  # this process's environment
    if env is not None:
        env_list = []
        for k, v in env.items():
            k = os.fsencode(k)
            if b"=" in k:
                raise ValueError("illegal environment variable name")
            env_list.append(k + b"=" + os.fsencode(v))
    exe = os.fsencode(argv[0])
    exe_list = (exe,) if os.path.dirname(exe) else tuple(os.path.join(os.fsencode(d), exe)
                                                         for d in os.get_exec_path(env))
    child_ends: list[int] = []  # ours to close once the child has them
    parent_ends: list[int] = []  # the pipes' read ends, kept unless this fails
    devnull = -1

    def fd_for(value: int | None, pipe: bool = False) -> tuple[int, int]:
        """(the parent's end or -1, the child's fd or -1) for a stream."""
        nonlocal devnull
        if value is None:
            return -1, -1
        if value == DEVNULL:
            if devnull < 0:
                devnull = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
                child_ends.append(devnull)
            return -1, devnull
        if value == PIPE and pipe:
            r, w = os.pipe()
            parent_ends.append(r)
            child_ends.append(w)
            return r, w
        return -1, value

    errpipe_read, errpipe_write = os.pipe()  # the child's exec error, if any; closed on exec
    try:
        try:
            _none, p2cread = fd_for(stdin)
            c2pread, c2pwrite = fd_for(stdout, pipe=True)
            errread, errwrite = fd_for(stderr, pipe=True)
            pid = _posixsubprocess.fork_exec(
                argv, exe_list, True, tuple(sorted({*pass_fds, errpipe_write})), cwd, env_list,
                p2cread, -1, c2pread, c2pwrite, errread, errwrite,
                errpipe_read, errpipe_write,
                True, False, process_group, None, None, None, -1, None, True)
        except TypeError as e:
            raise _SignatureMismatch(str(e)) from None
        finally:
            os.close(errpipe_write)
            for fd in child_ends:
                os.close(fd)
        data = b""
        while True:
            part = os.read(errpipe_read, 50000)
            data += part
            if not part or len(data) > 50000:
                break
        if data:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
            raise _child_error(data, argv[0], cwd)
    except BaseException:
        for fd in parent_ends:
            os.close(fd)
        raise
    finally:
        os.close(errpipe_read)
    return Spawned(pid, open(c2pread, "rb") if c2pread >= 0 else None,
                   open(errread, "rb") if errread >= 0 else None)


def _child_error(data: bytes, exe: str, cwd: str) -> Exception:
    """What the child wrote before its exec failed ("OSError:hex errno:msg"),
    as the exception Popen raises for it."""
    import builtins

    try:
        name, hex_errno, msg = data.split(b":", 2)
        msg_text = msg.decode()
        kind = getattr(builtins, name.decode("ascii"), None)
    except ValueError:
        return OSError(f"bad exception data from child: {data!r}")
    if isinstance(kind, type) and issubclass(kind, OSError) and hex_errno:
        errno_num = int(hex_errno, 16)
        filename = cwd if msg_text == "noexec" else exe  # "noexec": the chdir failed
        return kind(errno_num, os.strerror(errno_num) if errno_num else msg_text, filename)
    return OSError(msg_text)
