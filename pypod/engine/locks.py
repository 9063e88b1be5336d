"""Per-container locks that hold across processes.

A lock is an flock(2) on a file under the run root.  Removing a container
unlinks its lock file while holding it, so a waiter that wakes up holding a
lock on an unlinked inode must notice and start again; otherwise two
processes could each believe they hold "the" lock.
"""

from __future__ import annotations

import fcntl
import os

from .. import trace


class FileLock:
    def __init__(self, path: str):
        self.path = path
        self._fd = -1
        self._depth = 0

    def acquire(self, shared: bool = False) -> None:
        if self._depth:
            self._depth += 1
            return
        op = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            fcntl.flock(fd, op)
            try:
                st = os.stat(self.path)
            except FileNotFoundError:
                st = None
            if st is not None and st.st_ino == os.fstat(fd).st_ino:
                self._fd = fd
                self._depth = 1
                trace.step(f"lock: {os.path.basename(self.path)} taken")
                return
            os.close(fd)  # unlinked (or replaced) while we waited: retry

    def release(self) -> None:
        if not self._depth:
            return
        self._depth -= 1
        if self._depth == 0:
            os.close(self._fd)
            self._fd = -1

    def suspended(self) -> "_Suspended":
        """Let go of the lock for a while (whatever the nesting depth), and
        hold it again at the same depth afterwards: for long waits other
        processes must not be blocked by (a stop's wait for the exit)."""
        return _Suspended(self)

    def unlink(self) -> None:
        """Remove the lock file; call while holding it."""
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def __enter__(self) -> "FileLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


class _Suspended:
    """FileLock.suspended()'s `with` block (a class, not contextlib's
    decorator: contextlib would cost an exec its import of collections)."""

    def __init__(self, lock: FileLock):
        self.lock = lock
        self.depth = 0

    def __enter__(self) -> None:
        self.depth = self.lock._depth
        if self.depth:
            self.lock._depth = 1
            self.lock.release()

    def __exit__(self, *exc) -> None:
        if self.depth:
            self.lock.acquire()
            self.lock._depth = self.depth
