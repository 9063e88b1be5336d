"""Detach keys: podman's key-spec syntax and a stream matcher for it.

The matcher is sans-IO: the attach loop feeds it whatever stdin chunks it
reads and forwards what comes back, so the rules about holding back a
partial sequence live here once and are testable without a terminal.
"""

from pypod.errors import InvalidArgument

DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"

# "ctrl-@" is NUL and "ctrl-_" is 0x1f: the caret-notation control codes.
_CTRL_NAMES = "@abcdefghijklmnopqrstuvwxyz[\\]^_"


def parse_detach_keys(spec: str) -> bytes:
    """Turn a spec such as "ctrl-p,ctrl-q" into its bytes; "" disables detaching."""
    if spec == "":
        return b""
    out = bytearray()
    for key in spec.split(","):
        if len(key) == 1:
            code = ord(key)
            # A single key must be one byte on the wire; podman measures the
            # key in bytes, so multibyte characters are refused too.
            if code > 0x7F:
                raise InvalidArgument(f"invalid detach keys: Unknown character: '{key}'")
            out.append(code)
            continue
        if key.startswith("ctrl-") and len(key) == 6:
            idx = _CTRL_NAMES.find(key[5])
            if idx >= 0:
                out.append(idx)
                continue
        if key == "DEL":
            out.append(0x7F)
            continue
        raise InvalidArgument(f"invalid detach keys: Unknown character: '{key}'")
    return bytes(out)


class DetachKeyMatcher:
    """Watches an input stream for the detach sequence.

    ``feed`` returns ``(forward, detached)``.  Bytes that could be the start
    of the sequence are held back until the next chunk shows whether they
    were; ``flush`` hands them back at end of input.  After a detach, the
    bytes that followed the sequence in the same chunk are in ``trailing``.
    """

    __slots__ = ("keys", "_held", "detached", "trailing")

    def __init__(self, keys: bytes):
        self.keys = bytes(keys)
        self._held = b""
        self.detached = False
        self.trailing = b""

    @property
    def pending(self) -> bytes:
        return self._held

    def feed(self, data: bytes) -> tuple:
        keys = self.keys
        if self.detached:
            return b"", True
        if not keys:
            return bytes(data), False
        buf = self._held + data if self._held else bytes(data)
        i = buf.find(keys)
        if i >= 0:
            self._held = b""
            self.detached = True
            self.trailing = buf[i + len(keys):]
            return buf[:i], True
        # Hold back the longest tail that is still a prefix of the sequence;
        # anything shorter would drop a possible match across the boundary.
        n = min(len(keys) - 1, len(buf))
        while n > 0:
            if buf.endswith(keys[:n]):
                self._held = buf[-n:]
                return buf[:-n], False
            n -= 1
        self._held = b""
        return buf, False

    def flush(self) -> bytes:
        """Release held-back bytes (end of input: they were not a detach)."""
        held, self._held = self._held, b""
        return held
