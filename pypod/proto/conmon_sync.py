"""conmon's sync-pipe messages (``--api-version 1``) and their meaning.

conmon writes one JSON object per line: ``{"data": N}`` or
``{"data": N, "message": "..."}``.  For a container, N is the pid or, when
negative, a failure whose message is the runtime's output.  For an exec
session the first message carries the pid and, after the process ends, a
second one its exit status.  The attach pipe uses the same shape with N = 0
for "attach socket ready".  Before api version 1 the key was "pid" or
"exit_code"; both are accepted so an old conmon still works.
"""

from pypod.errors import OCIRuntimeError, runtime_error_from_text

_KEYS = ("data", "pid", "exit_code")


class SyncProtocolError(ValueError):
    """A line on the sync pipe that is not a conmon message."""


def parse_sync_line(line) -> tuple:
    """Parse one line into ``(data, message_or_None)``."""
    if isinstance(line, (bytes, bytearray)):
        text = bytes(line).decode("utf-8", "surrogateescape")
    else:
        text = line
    text = text.strip()
    from ..lean import json_loads

    try:
        obj = json_loads(text)
    except ValueError:
        obj = _lenient(text)
    if not isinstance(obj, dict):
        raise SyncProtocolError(f"unexpected message from conmon: {text!r}")
    for key in _KEYS:
        value = obj.get(key)
        if value is not None:
            break
    else:
        raise SyncProtocolError(f"unexpected message from conmon: {text!r}")
    if isinstance(value, bool) or not isinstance(value, int):
        raise SyncProtocolError(f"unexpected message from conmon: {text!r}")
    message = obj.get("message")
    if message is not None and not isinstance(message, str):
        message = str(message)
    return value, message or None


_GESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
             "\\": "\\", '"': '"', "/": "/"}


def _lenient(text: str):
    # Older conmons escape the message with g_strescape, which writes octal
    # escapes (\303) and \v that strict JSON rejects; the runtime's error is
    # exactly what the user needs, so decode that dialect instead of failing.
    if not text.startswith("{") or not text.endswith("}"):
        raise SyncProtocolError(f"unexpected message from conmon: {text!r}")
    body = text[1:-1]
    mpos = body.find('"message"')
    head = body if mpos < 0 else body[:mpos]
    out = {}
    for part in head.split(","):
        if ":" not in part:
            continue
        k, v = part.split(":", 1)
        k = k.strip().strip('"')
        try:
            out[k] = int(v.strip())
        except ValueError:
            raise SyncProtocolError(f"unexpected message from conmon: {text!r}") from None
    if mpos >= 0:
        rest = body[mpos + len('"message"'):].lstrip()
        if not rest.startswith(":"):
            raise SyncProtocolError(f"unexpected message from conmon: {text!r}")
        rest = rest[1:].strip()
        if len(rest) < 2 or rest[0] != '"' or rest[-1] != '"':
            raise SyncProtocolError(f"unexpected message from conmon: {text!r}")
        out["message"] = _unescape(rest[1:-1])
    return out


def _unescape(s: str) -> str:
    raw = bytearray()
    i = 0
    n = len(s)
    while i < n:
        c = s[i]
        if c != "\\" or i + 1 == n:
            raw += c.encode("utf-8", "surrogateescape")
            i += 1
            continue
        e = s[i + 1]
        if e in _GESCAPES:
            raw += _GESCAPES[e].encode()
            i += 2
        elif e == "u" and i + 6 <= n:
            raw += chr(int(s[i + 2:i + 6], 16)).encode("utf-8", "surrogatepass")
            i += 6
        elif "0" <= e <= "7":
            j = i + 1
            while j < n and j < i + 4 and "0" <= s[j] <= "7":
                j += 1
            raw.append(int(s[i + 1:j], 8) & 0xFF)
            i = j
        else:
            raw += e.encode("utf-8", "surrogateescape")
            i += 2
    return raw.decode("utf-8", "replace")


class SyncReader:
    """Incremental line splitter for the sync pipe; ``feed`` returns messages."""

    __slots__ = ("_buf",)

    def __init__(self):
        self._buf = b""

    def feed(self, data: bytes) -> list:
        buf = self._buf + data if self._buf else bytes(data)
        msgs = []
        start = 0
        while True:
            nl = buf.find(b"\n", start)
            if nl < 0:
                break
            line = buf[start:nl]
            start = nl + 1
            if line.strip():
                msgs.append(parse_sync_line(line))
        self._buf = buf[start:]
        return msgs

    def close(self) -> list:
        """End of pipe: a final line without newline still counts."""
        rest, self._buf = self._buf, b""
        return [parse_sync_line(rest)] if rest.strip() else []

    @property
    def buffered(self) -> bytes:
        return self._buf


def runtime_log_error(text) -> "str | None":
    """The last error-level ``msg`` of a runtime's ``--log-format=json`` log."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", "replace")
    if not text:
        return None
    from ..lean import json_loads

    found = None
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            entry = json_loads(line)
        except ValueError:
            continue
        if not isinstance(entry, dict):
            continue
        if entry.get("level", "error") in ("error", "fatal", "panic"):
            msg = entry.get("msg")
            if isinstance(msg, str) and msg:
                found = msg
    return found


def pid_from_message(msg, runtime_log=None, what: str = "container create") -> int:
    """The pid a sync message reports, or the error it stands for.

    ``msg`` is ``(data, message)`` as parsed, or None when the pipe closed
    before conmon said anything.  The runtime's JSON log is preferred to
    conmon's message because it holds the runtime's own words without the
    wrapping conmon adds.
    """
    if msg is not None and msg[0] >= 0:
        return msg[0]
    logged = runtime_log_error(runtime_log)
    if logged:
        raise runtime_error_from_text(logged)
    if msg is None:
        raise OCIRuntimeError(f"{what} failed (no logs from conmon)")
    if msg[1]:
        raise runtime_error_from_text(msg[1])
    raise OCIRuntimeError(f"{what} failed")


def exit_code_from_message(msg) -> int:
    """An exec session's exit status from conmon's second sync message."""
    if msg is None:
        raise OCIRuntimeError("exec session exited without reporting a status")
    return msg[0]
