"""Reading a container's k8s-file log: tail, since/until, follow."""

from __future__ import annotations

import os
import time

from ..errors import InvalidArgument


def read_logs(ctr, follow: bool = False, tail: int = -1, since: str = "", until: str = "", stop=None):
    """An iterator of (timestamp, stream, line bytes) in order; timestamps as conmon wrote them.  With
    follow, it keeps going until the container is no longer running and the file is drained.

    The log is opened here, before the first record is asked for: a
    container removed right after it exits (docker-py's run(remove=True)
    removes it before reading the follow stream it opened) unlinks the
    log, and what the file held must still reach the reader."""
    from ..proto import k8s_log

    if ctr.config.log_driver == "none":
        raise InvalidArgument("this container is using the 'none' log driver, cannot read logs: this container is not logging output")
    since_ns = k8s_log.parse_time(since, since=True) if since else 0
    until_ns = k8s_log.parse_time(until, since=False) if until else 0
    path = ctr.paths.log

    def keep(ts: str) -> bool:
        if not (since_ns or until_ns):
            return True
        t = k8s_log.parse_rfc3339(ts)
        return (not since_ns or t > since_ns) and (not until_ns or t < until_ns)

    return _records(ctr, _open(path), path, follow, tail, keep, stop, until_ns)


def _records(ctr, f, path: str, follow: bool, tail: int, keep, stop, until_ns: int):
    from ..proto import k8s_log

    parser = k8s_log.LogParser()
    try:
        data = f.read() if f else b""
        offset = len(data)
        records = [r for r in parser.feed(data) if keep(r[0])]
        if not follow:
            records += [r for r in parser.close() if keep(r[0])]
        if tail >= 0:
            records = records[-tail:] if tail else []
        yield from records
        if not follow:
            return
        while True:
            alive = _running(ctr)
            if f is None or _replaced(f, path):
                # made since, or made anew: read the new file from its start
                if f is not None:
                    f.close()
                f, offset, parser = _open(path), 0, k8s_log.LogParser()
            size = os.fstat(f.fileno()).st_size if f else 0
            if size < offset:
                offset = 0  # conmon truncated the log at --log-size-max
                parser = k8s_log.LogParser()
            if size > offset:
                f.seek(offset)
                chunk = f.read(size - offset)
                offset += len(chunk)
                for r in parser.feed(chunk):
                    if keep(r[0]):
                        yield r
                continue
            if not alive or (stop is not None and stop()):
                yield from (r for r in parser.close() if keep(r[0]))
                return
            if until_ns and time.time_ns() > until_ns:
                return
            time.sleep(0.05)
    finally:
        if f is not None:
            f.close()


def _open(path: str):
    try:
        return open(path, "rb")
    except FileNotFoundError:
        return None


def _replaced(f, path: str) -> bool:
    """A different file now at path (a gone one is not: keep reading ours)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    own = os.fstat(f.fileno())
    return (st.st_ino, st.st_dev) != (own.st_ino, own.st_dev)


def _running(ctr) -> bool:
    from .container import Status

    try:
        ctr.reload()
    except Exception:
        return False
    if ctr.state.status in (Status.RUNNING, Status.PAUSED, Status.CREATED):
        return not os.path.exists(os.path.join(ctr.engine.config.exits_dir, ctr.id))
    return False
