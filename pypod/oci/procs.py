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
        if timeout is None:
            return bool(p.poll(None))
        # poll takes a C int of milliseconds: a timeout of years waits in slices
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if p.poll(max(0, min(int(left * 1000), _MAX_POLL_MS))):
                return True
            if left * 1000 <= _MAX_POLL_MS:
                return False
    finally:
        os.close(fd)


#: the longest single poll(2) wait, in milliseconds (fits a C int)
_MAX_POLL_MS = 2**31 - 1


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


def _boot_time() -> float:
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("btime "):
                return float(line.split()[1])
    return 0.0


def process_start_time(pid: int) -> float:
    """When pid started, as a unix time (0.0 if it is gone): the truth about
    a container that was started by a pypod that died before saying so."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return 0.0
    # comm may hold spaces and parentheses: the fields start after the last ')'
    fields = stat[stat.rfind(b")") + 2:].split()
    try:
        ticks = int(fields[19])
    except (IndexError, ValueError):
        return 0.0
    return _boot_time() + ticks / os.sysconf("SC_CLK_TCK")
