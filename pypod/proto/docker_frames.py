"""Docker's multiplexed stream framing for non-TTY attach and exec.

Every frame is an 8-byte header (stream id, three zero bytes, big-endian
uint32 payload length) followed by the payload.
"""

from struct import Struct

STDIN = 0
STDOUT = 1
STDERR = 2
# Docker uses stream 3 for an error written after the connection was hijacked.
SYSTEMERR = 3

HEADER_SIZE = 8
_HEADER = Struct(">BxxxI")
MAX_PAYLOAD = 0xFFFFFFFF


class FrameError(ValueError):
    """The byte stream is not Docker stream framing."""


def encode_frame(stream: int, data: bytes) -> bytes:
    # An empty frame would read as a zero-length write, which some clients
    # treat as end of stream; sending nothing is what Docker does.
    if not data:
        return b""
    if not 0 <= stream <= 255:
        raise ValueError(f"invalid stream id {stream}")
    if len(data) > MAX_PAYLOAD:
        raise ValueError("frame payload larger than 4 GiB")
    return _HEADER.pack(stream, len(data)) + data


def encode_header(stream: int, length: int) -> bytes:
    """The header alone, for writers that send the payload separately (no copy)."""
    return _HEADER.pack(stream, length)


class FrameDecoder:
    """Incremental decoder: ``feed`` chunks of any size, get complete frames back."""

    __slots__ = ("_buf", "_pos", "strict")

    def __init__(self, strict: bool = True):
        self._buf = bytearray()
        self._pos = 0
        # strict refuses stream ids other than 0-3, which is how a reader
        # notices it is looking at raw TTY output instead of frames.
        self.strict = strict

    def feed(self, data: bytes) -> list:
        buf = self._buf
        buf += data
        pos = self._pos
        end = len(buf)
        frames = []
        append = frames.append
        unpack = _HEADER.unpack_from
        strict = self.strict
        while end - pos >= HEADER_SIZE:
            stream, length = unpack(buf, pos)
            if strict and (stream > SYSTEMERR or buf[pos + 1] or buf[pos + 2] or buf[pos + 3]):
                raise FrameError(f"invalid frame header {bytes(buf[pos:pos + HEADER_SIZE])!r}")
            start = pos + HEADER_SIZE
            if end - start < length:
                break
            append((stream, bytes(buf[start:start + length])))
            pos = start + length
        # Compact only once the consumed prefix dominates, so a flood of tiny
        # frames does not turn into quadratic copying.
        if pos == end:
            buf.clear()
            pos = 0
        elif pos > 65536 and pos * 2 > end:
            del buf[:pos]
            pos = 0
        self._pos = pos
        return frames

    @property
    def buffered(self) -> int:
        """Bytes of an incomplete frame held back; non-zero at EOF means truncation."""
        return len(self._buf) - self._pos
