"""Waiting on processes that are not our children (conmon double-forks)."""

from __future__ import annotations

import os
import select
import time


def wait_pid_exit(pid: int, timeout: float | None) -> bool:
    """True once pid is gone, False if it still runs after timeout seconds.

    A pidfd wakes us the moment the process exits; kill(pid, 0) polling is
    the fallback for kernels without pidfd_open.
    """
    if pid <= 0:
        return True
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    except (OSError, AttributeError):
        return _poll_pid(pid, timeout)
    try:
        p = select.poll()
        p.register(fd, select.POLLIN)
        return bool(p.poll(None if timeout is None else max(0, int(timeout * 1000))))
    finally:
        os.close(fd)


def _poll_pid(pid: int, timeout: float | None) -> bool:
    deadline = None if timeout is None else time.monotonic() + timeout
    delay = 0.001
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
        if deadline is not None and time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def conmon_pids(needle: str, exact: bool = True) -> list[int]:
    """conmon processes with needle among their arguments (exact) or in one."""
    pids = []
    want = needle.encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"conmon") and (want in argv if exact else any(want in a for a in argv)):
            pids.append(int(entry))
    return pids
