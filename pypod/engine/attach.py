"""Local attach: a terminal or pipes on one side, conmon's attach socket on the other.

One poll loop moves bytes both ways, so neither direction can starve the
other and nothing is buffered beyond one read.  Output keeps stdout and
stderr apart by the stream byte conmon puts in front of every message.
"""

from __future__ import annotations

# The C modules under signal and socket: their enums would cost an exec ~5 ms of
# imports (enum, functools, collections), and only calls and constants are used.
import _signal
import _socket
import errno
import os
import select

from ..errors import OCIRuntimeError, PypodError

#: conmon reads at most this much stdin per message (its CONN_SOCK_BUF_SIZE);
#: a longer SOCK_SEQPACKET message would be cut short.
STDIN_CHUNK = 32 * 1024
RECV_SIZE = 64 * 1024


def connect_attach(path: str) -> _socket.socket:
    """Connect to conmon's attach socket, whatever the length of its path:
    going through /proc/self/fd of the open directory keeps sun_path short."""
    dfd = os.open(os.path.dirname(path), os.O_PATH | os.O_CLOEXEC)
    try:
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_SEQPACKET | _socket.SOCK_CLOEXEC)
        try:
            sock.connect(f"/proc/self/fd/{dfd}/{os.path.basename(path)}")
        except OSError as e:
            sock.close()
            raise OCIRuntimeError(f"failed to connect to container's attach socket: {path}: {e}") from None
        return sock
    finally:
        os.close(dfd)


def _write_all(fd: int, parts: list) -> None:
    """writev until every byte of parts is out (fds may be non-blocking)."""
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
                parts[0] = parts[0][n:]
                n = 0


#: messages handled per wake-up before stdin gets its turn again
DRAIN_BATCH = 128


def _drain_output(sock: _socket.socket, outs: dict, frames: bool = False) -> bool:
    """Move what conmon has sent to our stdout/stderr; False at its EOF.

    conmon sends at most 8 KiB per message: reading a batch and writing it
    with one writev per stream keeps the syscalls per byte low.  With
    frames, each chunk gets Docker's header (conmon's stream id less one)."""
    from ..proto.docker_frames import encode_header

    batch: list = []
    cur = None
    alive = True
    for _ in range(DRAIN_BATCH):
        try:
            msg = sock.recv(RECV_SIZE)
        except BlockingIOError:
            break
        except ConnectionResetError:
            msg = b""
        if not msg:
            alive = False
            break
        out = outs.get(msg[0])
        if out != cur and batch:
            _write_all(cur, batch)
            batch = []
        cur = out
        if out is not None and len(msg) > 1:
            if frames:
                batch.append(encode_header(msg[0] - 1, len(msg) - 1))
            batch.append(memoryview(msg)[1:])
    if batch:
        _write_all(cur, batch)
    return alive


def attach_to_socket(ctr, sock: _socket.socket, streams, *, tty: bool, stdin_open: bool,
                     detach_keys: str | None, resize) -> bool:
    """Pump until the container closes its output (True if the user detached).

    resize(height, width) forwards the local terminal's size."""
    from ..proto.detach_keys import DetachKeyMatcher, parse_detach_keys

    keys = detach_keys if detach_keys is not None else streams.detach_keys
    stdin = streams.stdin if (streams.stdin is not None and stdin_open) else None
    if keys is None:
        # The default sequence is for people at a terminal: in piped binary
        # data ctrl-p,ctrl-q is just two bytes, and must reach the process.
        keys = ctr.engine.config.detach_keys if stdin is not None and os.isatty(stdin) else ""
    matcher = DetachKeyMatcher(parse_detach_keys(keys)) if stdin is not None and keys else None
    restore = None
    old_winch = None
    if tty and stdin is not None and os.isatty(stdin):
        restore = _make_raw(stdin)
    if tty and streams.stdout is not None and os.isatty(streams.stdout):
        def on_winch(*_):
            _resize_from(resize, streams.stdout)

        old_winch = _signal.signal(_signal.SIGWINCH, on_winch)
        _resize_from(resize, streams.stdout)
    from ..proto.conmon_attach import STDERR, STDOUT

    outs = {STDOUT: streams.stdout, STDERR: streams.stderr if not tty else streams.stdout}
    frames = streams.frames and not tty
    # conmon is one thread: while it is blocked writing output to us it
    # reads no stdin.  So the socket is non-blocking and output is always
    # drained, even while stdin waits for room to be sent.
    sock.setblocking(False)
    poller = select.poll()
    pending: list[bytes] = []  # stdin chunks not yet accepted by conmon
    stdin_polled = False
    shutdown_after = detach_after = False
    IN, OUT = select.POLLIN | select.POLLHUP | select.POLLERR, select.POLLOUT
    poller.register(sock, IN)
    try:
        while True:
            want_stdin = stdin is not None and not pending and not (shutdown_after or detach_after)
            if want_stdin != stdin_polled:
                if want_stdin:
                    poller.register(stdin, select.POLLIN | select.POLLHUP)
                else:
                    poller.unregister(stdin)
                stdin_polled = want_stdin
            poller.modify(sock, IN | OUT if pending else IN)
            try:
                events = poller.poll()
            except InterruptedError:
                continue
            for fd, ev in events:
                if fd == stdin and stdin_polled:
                    try:
                        data = os.read(stdin, STDIN_CHUNK)
                    except BlockingIOError:
                        continue
                    except OSError as e:
                        if e.errno != errno.EIO:
                            raise
                        data = b""
                    eof = not data
                    if matcher is not None:
                        # At EOF a held-back partial detach sequence was just input.
                        data, detach_after = matcher.feed(data) if data else (matcher.flush(), False)
                    pending.extend(data[i:i + STDIN_CHUNK] for i in range(0, len(data), STDIN_CHUNK))
                    shutdown_after = eof
                elif fd == sock.fileno():
                    if ev & select.POLLOUT and pending:
                        try:
                            sock.send(pending[0])
                            pending.pop(0)
                        except BlockingIOError:
                            pass
                        except (BrokenPipeError, ConnectionResetError):
                            pending.clear()
                            stdin = None
                    if ev & IN and not _drain_output(sock, outs, frames):
                        return False
            if not pending:
                if detach_after:
                    return True
                if shutdown_after and stdin is not None:
                    # EOF on our stdin becomes EOF on the container's.
                    try:
                        sock.shutdown(_socket.SHUT_WR)
                    except OSError:
                        pass
                    if stdin_polled:
                        poller.unregister(stdin)
                        stdin_polled = False
                    stdin = None
    finally:
        sock.close()
        if restore:
            restore()
        if old_winch is not None:
            _signal.signal(_signal.SIGWINCH, old_winch)


def _resize_from(resize, fd: int) -> None:
    try:
        size = os.get_terminal_size(fd)
        resize(size.lines, size.columns)
    except (OSError, PypodError):
        pass


def _make_raw(fd: int):
    import termios
    import tty

    old = termios.tcgetattr(fd)
    tty.setraw(fd)

    def restore():
        termios.tcsetattr(fd, termios.TCSADRAIN, old)

    return restore


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
