"""`pypod logs`: one or more containers' logs, podman's way.

Several containers' lines come out in time order (merged by their
timestamps; with --follow, as they arrive), each prefixed by the
container's short ID, or its name with --names, and colored per container
with --color.
"""

from __future__ import annotations

import sys

from ..errors import InvalidArgument

#: podman's per-container colors: light gray, red, yellow, blue, magenta, cyan, green
COLORS = (b"\x1b[37m", b"\x1b[31m", b"\x1b[33m", b"\x1b[34m", b"\x1b[35m", b"\x1b[36m", b"\x1b[32m")
RESET = b"\x1b[0m"


def add_logs_args(p) -> None:
    from ..specgen.numbers import arg_type

    p.add_argument("-f", "--follow", action="store_true", help="keep printing new lines until the containers stop")
    p.add_argument("--tail", type=arg_type("--tail"), default=-1, metavar="N", help="print only the last N lines of each container (-1: all)")
    p.add_argument("--since", default="", metavar="TIME", help="only lines after TIME (RFC 3339, unix time, or a duration back from now)")
    p.add_argument("--until", default="", metavar="TIME", help="only lines before TIME (RFC 3339, unix time, or a duration)")
    p.add_argument("-t", "--timestamps", action="store_true", help="put each line's time first")
    p.add_argument("-n", "--names", action="store_true", help="prefix lines with the container's name (not its ID) when there are several")
    p.add_argument("--color", action="store_true", help="color each container's lines differently")
    p.add_argument("-l", "--latest", action="store_true", help="show the latest container's logs")
    p.add_argument("containers", nargs="*", metavar="CONTAINER")


def cmd_logs(engine, a) -> int:
    from ..proto.k8s_log import parse_time

    if a.latest and a.containers:
        raise InvalidArgument("--latest and containers cannot be used together")
    if not a.latest and not a.containers:
        raise InvalidArgument('"pypod logs" requires a name, id, or the "--latest" flag')
    for flag, value, since in (("--since", a.since, True), ("--until", a.until, False)):
        if value:
            try:
                parse_time(value, since=since)
            except InvalidArgument as e:
                raise InvalidArgument(f'parsing {flag} "{value}": {e}') from None
    targets = [engine.latest_container()] if a.latest else [engine.container(n) for n in a.containers]
    multi = len(targets) > 1
    streams = [ctr.logs(follow=a.follow, tail=a.tail, since=a.since, until=a.until) for ctr in targets]
    labels = [(c.name if a.names else c.id[:12]).encode() + b" " if multi else b"" for c in targets]
    if a.follow and multi:
        records = _as_they_come(streams)
    elif multi:
        records = _in_time_order(streams)
    else:
        records = ((0, r) for r in streams[0])
    write_records(records, labels, timestamps=a.timestamps, color=a.color, flush=a.follow)
    return 0


def write_records(records, labels: list[bytes], *, timestamps: bool, color: bool, flush: bool) -> None:
    """records: (container index, (time, stream, line bytes))."""
    from ..proto.k8s_log import format_timestamp

    out = {"stdout": sys.stdout.buffer, "stderr": sys.stderr.buffer}
    sys.stdout.flush()
    for i, (ts, stream, line) in records:
        head = labels[i]
        if timestamps:
            head += format_timestamp(ts).encode("ascii", "replace") + b" "
        if color:
            body, nl = (line[:-1], b"\n") if line.endswith(b"\n") else (line, b"")
            data = COLORS[i % len(COLORS)] + head + body + RESET + nl
        else:
            data = head + line
        f = out.get(stream, sys.stdout.buffer)
        f.write(data)
        if flush:
            f.flush()
    for f in out.values():
        f.flush()


def _in_time_order(streams):
    """Merge each container's (already ordered) lines by timestamp; equal
    times keep the order of the containers on the command line."""
    import heapq

    from ..proto.k8s_log import line_time

    def keyed(i, records):
        for r in records:
            yield line_time(r), i, r

    for _t, i, r in heapq.merge(*(keyed(i, s) for i, s in enumerate(streams))):
        yield i, r


def _as_they_come(streams):
    """--follow over several containers: a thread per container, lines
    printed as they arrive, until every container has stopped."""
    import queue
    import threading

    q: queue.Queue = queue.Queue(maxsize=1024)
    done = object()

    def pump(i, records):
        try:
            for r in records:
                q.put((i, r))
        finally:
            q.put(done)

    for i, s in enumerate(streams):
        threading.Thread(target=pump, args=(i, s), daemon=True).start()
    left = len(streams)
    while left:
        item = q.get()
        if item is done:
            left -= 1
            continue
        yield item
