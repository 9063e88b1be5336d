"""conmon's attach socket and ctl FIFO messages.

conmon prefixes every SOCK_SEQPACKET message on the attach socket with one
byte naming the stream it came from; what the client sends is raw stdin.
The ctl FIFO takes text lines "<type> <a> <b>\\n".
"""

# conmon's stdpipe_t values (libpod's AttachPipeStdin/Stdout/Stderr): one
# more than Docker's stream ids, which http_payload translates to.
STDIN = 1
STDOUT = 2
STDERR = 3

# conmon reads at most STDIO_BUF_SIZE bytes per message and adds the stream
# byte in front, so a receive buffer one byte larger never truncates a
# SOCK_SEQPACKET record (a truncated record loses its tail silently).
STDIO_BUF_SIZE = 8192
ATTACH_BUFFER_SIZE = STDIO_BUF_SIZE + 1

CTL_RESIZE = 1
CTL_REOPEN_LOG = 2


class AttachProtocolError(ValueError):
    """A message from conmon that cannot be routed."""


def parse_attach_message(msg: bytes) -> tuple:
    """Split one attach-socket record into ``(stream, payload)``."""
    if not msg:
        raise AttachProtocolError("empty attach message")
    stream = msg[0]
    if not STDIN <= stream <= STDERR:
        raise AttachProtocolError(f"received unexpected attach type {stream}")
    return stream, msg[1:]


def resize_message(height: int, width: int) -> bytes:
    height = int(height)
    width = int(width)
    if height < 0 or width < 0 or height > 0xFFFF or width > 0xFFFF:
        # The kernel's winsize holds unsigned shorts.
        raise ValueError(f"invalid terminal size {height}x{width}")
    return b"%d %d %d\n" % (CTL_RESIZE, height, width)


def reopen_log_message() -> bytes:
    return b"%d 0 0\n" % CTL_REOPEN_LOG


def http_payload(msg: bytes, terminal: bool, stdin: bool = False,
                 stdout: bool = True, stderr: bool = True) -> bytes:
    """What an HTTP attach writes for one conmon record (b"" to drop it).

    With a terminal everything arrives as stdout and is passed through raw;
    otherwise each record becomes one Docker frame, and streams the client
    did not ask for are dropped, as libpod's attach copy loops do.
    """
    stream, payload = parse_attach_message(msg)
    if terminal:
        return payload if stream == STDOUT and stdout else b""
    wanted = stdout if stream == STDOUT else stderr if stream == STDERR else stdin
    if not wanted:
        return b""
    from pypod.proto.docker_frames import encode_frame
    return encode_frame(stream - 1, payload)
