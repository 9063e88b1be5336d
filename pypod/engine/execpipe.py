"""An exec's output through pipes pypod owns, moved by the kernel.

Through conmon's attach socket every 8 KiB of output is a message: conmon
reads it from the process, writes it to the socket, pypod receives it and
writes it again.  That path bounds an exec's stdout (and podman's, which
takes the same one).  Without a terminal and without detach keys to watch
for, pypod needs none of it: conmon's passthrough log driver gives the
process pypod's pipes as its stdout and stderr, and pypod moves what each
pipe holds with splice(2) to where it goes (the CLI's stdout, or, behind a
Docker frame header, the API client's socket), whole pipefuls at a time and
without the bytes ever entering Python.

The forwarding ends when the process exits (conmon writes the exit code on
the sync pipe): a background child that keeps the pipes open does not keep
the exec attached, as it does not through conmon either.
"""

from __future__ import annotations

import errno
import fcntl
import os
import select
import struct
import termios

from ..proto.docker_frames import encode_header

#: pipe capacity asked for (the default /proc/sys/fs/pipe-max-size)
PIPE_SIZE = 1024 * 1024
_F_SETPIPE_SZ = 1031
_NOT_SPLICEABLE = (errno.EINVAL, errno.ENOSYS, errno.EBADF, errno.ESPIPE)


class ExecPipes:
    """stdout and stderr pipes for an exec (and stdin's, on request)."""

    def __init__(self, stdout: bool, stderr: bool, stdin: int | None = None, stdin_pipe: bool = False):
        self._ours: list[int] = []
        self._theirs: list[int] = []
        self.stdin_w = -1
        #: our read end -> Docker stream id (1 stdout, 2 stderr)
        self.outs: dict[int, int] = {}
        null = -1
        try:
            if stdin is None and not stdin_pipe or not (stdout and stderr):
                null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
                self._theirs.append(null)
            fds = [null if stdin is None else stdin, null, null]
            if stdin_pipe:
                fds[0], self.stdin_w = os.pipe2(os.O_CLOEXEC)
                self._theirs.append(fds[0])
                self._ours.append(self.stdin_w)
            for want, slot in ((stdout, 1), (stderr, 2)):
                if want:
                    r, fds[slot] = os.pipe2(os.O_CLOEXEC)
                    self._ours.append(r)
                    self._theirs.append(fds[slot])
                    self.outs[r] = slot
                    try:
                        fcntl.fcntl(r, _F_SETPIPE_SZ, PIPE_SIZE)
                    except OSError:
                        pass  # a smaller pipe only means smaller chunks
        except BaseException:
            self.close()
            raise
        #: what the process gets as stdin, stdout, stderr
        self.stdio = (fds[0], fds[1], fds[2])

    def started(self) -> None:
        """The process (and conmon) hold their ends now: drop ours, so EOF can come."""
        for fd in self._theirs:
            os.close(fd)
        self._theirs.clear()

    def take_stdin(self) -> int:
        """The stdin pipe's write end, now the caller's to write and close."""
        fd, self.stdin_w = self.stdin_w, -1
        self._ours.remove(fd)
        return fd

    def forward(self, exit_sock, dests: dict[int, int], frames: bool = False) -> None:
        """Move output to dests (stream id -> fd) until the process exits and
        the pipes are drained.  frames: a Docker header before each chunk
        (stdout and stderr then share one destination).  OSError when a
        destination fails (the reader went away)."""
        poller = select.poll()
        for fd in self.outs:
            poller.register(fd, select.POLLIN)
        poller.register(exit_sock, select.POLLIN)
        exit_fd = exit_sock.fileno()
        open_fds = set(self.outs)
        exited = False
        while open_fds and not exited:
            for fd, _ev in poller.poll():
                if fd == exit_fd:
                    exited = True
                elif fd in open_fds and not self._chunk(fd, dests[self.outs[fd]], frames):
                    poller.unregister(fd)
                    open_fds.discard(fd)
        for fd in open_fds:  # exited: what it wrote before is all in the pipes
            os.set_blocking(fd, False)
            try:
                while self._chunk(fd, dests[self.outs[fd]], frames):
                    pass
            except BlockingIOError:
                pass

    def _chunk(self, fd: int, dest: int, frames: bool) -> bool:
        """What fd holds now, to dest; False at EOF."""
        n = struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]
        if n == 0:  # readable and empty: EOF, unless bytes came in since
            data = os.read(fd, PIPE_SIZE)
            if not data:
                return False
            _write_all(dest, [encode_header(self.outs[fd], len(data)), data] if frames else [data])
            return True
        if frames:
            _write_all(dest, [encode_header(self.outs[fd], n)])
        while n:
            try:
                n -= os.splice(fd, dest, n)
            except OSError as e:
                if e.errno not in _NOT_SPLICEABLE:
                    raise
                # dest takes no splice (a file opened O_APPEND, ...): copy this once
                data = os.read(fd, n)
                _write_all(dest, [data])
                n -= len(data)
        return True

    def close(self) -> None:
        for fd in self._ours + self._theirs:
            try:
                os.close(fd)
            except OSError:
                pass
        self._ours.clear()
        self._theirs.clear()


def _write_all(fd: int, parts: list) -> None:
    while parts:
        try:
            n = os.writev(fd, parts)
        except BlockingIOError:
            select.select([], [fd], [])
            continue
        while n:
            if n >= len(parts[0]):
                n -= len(parts[0])
                parts.pop(0)
            else:
                parts[0] = memoryview(parts[0])[n:]
                n = 0
