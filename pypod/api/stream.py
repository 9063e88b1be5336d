"""The HTTP side of attach and exec: conmon's attach socket pumped to and
from a hijacked client connection.

engine/attach.py pumps between conmon and file descriptors with one poll
loop.  A hijacked HTTP connection differs in two ways that matter:

* stdin may already sit in the request handler's read buffer (a client can
  send its first stdin bytes in the same packet as the request), so stdin
  is read through that buffer, never from the raw socket fd;
* the client is a socket, so the end of output can wake the stdin reader
  with shutdown(SHUT_RD), and a client that half-closes (SHUT_WR) gives an
  EOF that becomes EOF on the process's stdin.

So one thread reads stdin (through the buffer) into conmon and the
request's thread moves output to the client, each blocking on its own side:
conmon, a single thread, reads no stdin while it is blocked writing output,
and output here never waits for stdin.
"""

from __future__ import annotations

import socket
import threading

from ..proto.conmon_attach import STDERR, STDOUT
from ..proto.docker_frames import encode_frame, encode_header

#: conmon reads at most this much stdin per message (CONN_SOCK_BUF_SIZE)
STDIN_CHUNK = 32 * 1024
RECV_SIZE = 64 * 1024
#: conmon messages (8 KiB at most each) gathered into one send to the client
BATCH = 64
#: Docker's default for people at a terminal
DEFAULT_TTY_DETACH_KEYS = "ctrl-p,ctrl-q"


def send_all(conn: socket.socket, parts: list) -> None:
    """sendmsg until every byte of parts is out."""
    while parts:
        n = conn.sendmsg(parts[:512])
        while n:
            first = parts[0]
            if n >= len(first):
                n -= len(first)
                parts.pop(0)
            else:
                parts[0] = memoryview(first)[n:]
                n = 0


def write_error(conn: socket.socket, message: str, tty: bool) -> None:
    """An error after the hijack goes onto the stream, as podman writes it:
    raw with a TTY, else as a stderr frame the client's demuxer shows."""
    data = f"Error: {message}\n".encode(errors="replace")
    try:
        conn.sendall(data if tty else encode_frame(2, data))
    except OSError:
        pass


class HTTPStreams:
    """Which directions of a hijacked connection an attach uses."""

    def __init__(self, conn: socket.socket, rfile, *, stdin: bool, stdout: bool, stderr: bool,
                 tty: bool, detach_keys: str | None = None):
        self.conn = conn
        self.rfile = rfile
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.tty = tty
        #: None: Docker's default with a TTY, none without; "": disabled
        self.detach_keys = detach_keys


def _shutdown(s: socket.socket, how: int) -> None:
    try:
        s.shutdown(how)
    except OSError:
        pass


def pump(sock: socket.socket, streams: HTTPStreams, stdin_open: bool = True) -> bool:
    """Move bytes until the process closes its output; True when the client
    detached (detach keys) or went away, so the caller must not wait for an
    exit that may be far off.  Closes sock."""
    from ..proto.detach_keys import DetachKeyMatcher, parse_detach_keys

    conn = streams.conn
    tty = streams.tty
    keys = streams.detach_keys
    if keys is None:
        keys = DEFAULT_TTY_DETACH_KEYS if tty else ""
    matcher = DetachKeyMatcher(parse_detach_keys(keys)) if keys else None
    state = {"detached": False, "done": False}
    sock.setblocking(True)

    def stdin_loop() -> None:
        try:
            while True:
                try:
                    data = streams.rfile.read1(STDIN_CHUNK)
                except (OSError, ValueError):
                    data = b""
                if state["done"]:
                    return
                eof = not data
                if not stdin_open:
                    # Nobody reads it, yet it must leave the connection: a unix
                    # socket closed with unread input resets, and the client
                    # loses the output still on its way.
                    if eof:
                        return
                    continue
                detach = False
                if matcher is not None:
                    # At EOF a held-back partial detach sequence was just input.
                    data, detach = matcher.feed(data) if data else (matcher.flush(), False)
                for i in range(0, len(data), STDIN_CHUNK):
                    try:
                        sock.send(data[i:i + STDIN_CHUNK])
                    except OSError:
                        return  # the process's stdin is gone; output still drains
                if detach:
                    state["detached"] = True
                    _shutdown(sock, socket.SHUT_RD)  # wakes the output side
                    return
                if eof:
                    _shutdown(sock, socket.SHUT_WR)  # EOF for the process
                    return
        except Exception:  # a stdin failure must never stop the output
            _shutdown(sock, socket.SHUT_WR)

    reader = None
    if streams.stdin:
        reader = threading.Thread(target=stdin_loop, name="api-stdin", daemon=True)
        reader.start()
    # conmon's stream bytes are one more than Docker's ids (stdout 2, stderr 3)
    outs = {STDOUT: streams.stdout, STDERR: streams.stderr if not tty else streams.stdout}
    gone = False
    try:
        while True:
            try:
                msg = sock.recv(RECV_SIZE)
            except OSError:
                msg = b""
            if not msg:
                break
            parts: list = []
            taken = 0
            while True:
                if len(msg) > 1 and outs.get(msg[0]):
                    if not tty:
                        parts.append(encode_header(msg[0] - 1, len(msg) - 1))
                    parts.append(memoryview(msg)[1:])
                taken += 1
                if taken >= BATCH:
                    msg = None
                    break
                try:
                    msg = sock.recv(RECV_SIZE, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    msg = None
                    break
                except OSError:
                    msg = b""
                if not msg:
                    break
            if parts:
                try:
                    send_all(conn, parts)
                except OSError:
                    gone = True
                    break
            if msg == b"":
                break
    finally:
        state["done"] = True
        if reader is not None:
            _shutdown(conn, socket.SHUT_RD)  # wakes the stdin reader
            reader.join(5)
        sock.close()
    return state["detached"] or gone


def exec_start_attached(sess, streams: HTTPStreams, size=None) -> int | None:
    """ExecSession.start_attached with the HTTP pump in place of the fd one.

    A thin adapter over the session's own pieces (launch, conmon's attach
    and start handshake, finish); once the engine takes the pump as a
    parameter, this goes.  size() gives the terminal size known at the last
    moment before the process starts: clients resize right after the
    hijack, racing the start."""
    from ..engine.attach import connect_attach
    from ..errors import OCIRuntimeError

    ctr = sess.container
    with ctr.locked():
        mon = sess._launch(exit_command=[])
        try:
            # conmon's attach socket is up: connect before the process
            # exists, so not one byte of output is missed.
            if mon.read_message(mon.attach) is None:
                raise OCIRuntimeError(f"conmon failed to set up exec session {sess.id} attach socket")
            sock = connect_attach(ctr.runtime.exec_attach_socket_path(sess.bundle))
            try:
                hw = size() if size is not None and sess.config.terminal else None
                if hw and hw[0] > 0 and hw[1] > 0:
                    ctr.runtime.exec_resize(sess.bundle, *hw)
                mon.signal_start()
                pid = mon.read_pid(mon.oci_log, "exec")
            except BaseException:
                sock.close()
                raise
        except OCIRuntimeError as e:
            sess._failed_start(mon, e)
            raise
        except BaseException:
            mon.close()
            sess._remove_files()
            raise
        sess._running(pid)
        hw = size() if size is not None and sess.config.terminal else None
        if hw and hw[0] > 0 and hw[1] > 0:
            ctr.runtime.exec_resize(sess.bundle, *hw)
    if pump(sock, streams, stdin_open=sess.config.attach_stdin):
        mon.close()  # the session runs on; the next reap records its end
        return None
    return sess._finish(mon)


# -- exec without a terminal: pipes instead of conmon's attach socket -------------------


def can_pipe(sess, streams: HTTPStreams) -> bool:
    """Whether exec_start_piped serves this session: no terminal, no detach
    keys to watch for (both need pypod between client and process)."""
    return not streams.tty and not streams.detach_keys


def exec_start_piped(sess, streams: HTTPStreams) -> int | None:
    """A non-terminal exec whose output pypod reads from pipes and frames
    onto the client's socket, each pipeful one Docker frame whose payload
    the kernel splices from pipe to socket (engine/execpipe.py); stdin goes
    from the client (h11's buffer first) into a third pipe.  The exit code,
    or None when the client went away first (the session runs on; the next
    reap records its end)."""
    import os

    from ..engine.execpipe import ExecPipes

    want_in = streams.stdin and sess.config.attach_stdin
    pipes = ExecPipes(stdout=streams.stdout, stderr=streams.stderr, stdin_pipe=want_in)
    try:
        mon = sess.begin_passthrough(pipes.stdio)
        pipes.started()
        stdin_w = pipes.take_stdin() if want_in else -1
    except BaseException:
        pipes.close()
        raise
    done = threading.Event()

    def stdin_loop() -> None:
        try:
            while not done.is_set():
                data = streams.rfile.read1(STDIN_CHUNK)
                if not data:
                    break
                view = memoryview(data)
                while view:
                    view = view[os.write(stdin_w, view):]
        except OSError:
            pass
        finally:
            os.close(stdin_w)  # EOF for the process

    reader = None
    if stdin_w >= 0:
        reader = threading.Thread(target=stdin_loop, name="api-stdin", daemon=True)
        reader.start()
    conn = streams.conn
    gone = False
    try:
        pipes.forward(mon.sync, {1: conn.fileno(), 2: conn.fileno()}, frames=True)
    except OSError:
        gone = True
    finally:
        done.set()
        if reader is not None:
            _shutdown(conn, socket.SHUT_RD)  # wakes the stdin reader
            reader.join(5)
        pipes.close()
    if gone:
        mon.close()
        return None
    return sess._finish(mon)
