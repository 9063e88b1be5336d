"""Where a command's time goes: each step with its milliseconds.

`PYPOD_TRACE=1` (or `--log-level debug`) prints one line per step on
stderr, from start-up to the last cleanup::

    pypod[4711] trace    23.1 ms   +2.4 ms  lock: 3f2a….lock taken

The first column is the time since this module was imported (the first
thing pypod does), the second the time since the previous step.  The
start-up line says what the interpreter cost before that: wall time since
exec (the kernel keeps it in 10 ms ticks) and the CPU time it spent.

Off, a step costs one global test and formats nothing: the calls stay in
the hot paths for good.
"""

from __future__ import annotations

import os
import sys
import time

_T0 = time.perf_counter()
#: CPU the interpreter spent before the first pypod module
_CPU0 = time.process_time()
_last = _T0

_TARGET = os.environ.get("PYPOD_TRACE", "")
#: read by callers that want to skip building a costly message
enabled = _TARGET not in ("", "0")
#: PYPOD_TRACE=/abs/path appends there instead of stderr: how the trace of
#: conmon's exit command (whose stdio is /dev/null) is seen
_FILE = _TARGET if _TARGET.startswith("/") else ""
_announced = False


def enable() -> None:
    global enabled
    enabled = True


def step(what: str) -> None:
    """Record that a step just ended."""
    if enabled:
        _emit(what)


def _emit(what: str) -> None:
    global _last, _announced
    if not _announced:
        _announced = True
        _startup()
    now = time.perf_counter()
    gap, _last = now - _last, now
    _write(f"pypod[{os.getpid()}] trace {(now - _T0) * 1000:7.1f} ms {gap * 1000:+6.1f} ms  {what}\n")


def _write(line: str) -> None:
    try:
        if _FILE:
            fd = os.open(_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                os.write(fd, line.encode())  # one write: lines of concurrent processes stay whole
            finally:
                os.close(fd)
        else:
            sys.stderr.write(line)
            sys.stderr.flush()
    except (OSError, ValueError):
        pass  # tracing never breaks a command


def _startup() -> None:
    """The interpreter's own start-up, before the first pypod module."""
    wall = ""
    try:
        with open("/proc/self/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")
        since_exec = time.clock_gettime(time.CLOCK_BOOTTIME) - started
        wall = f"~{(since_exec - (time.perf_counter() - _T0)) * 1000:.0f} ms wall (10 ms ticks), "
    except (OSError, ValueError, IndexError):
        pass
    _write(f"pypod[{os.getpid()}] trace   start-up: {wall}{_CPU0 * 1000:.1f} ms CPU; argv {' '.join(sys.argv[1:])}\n")
