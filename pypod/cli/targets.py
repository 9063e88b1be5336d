"""Which containers a command acts on: names and IDs, `--all`, `--latest`,
`--filter`, `--cidfile`, `--ignore`, checked and resolved as podman does,
and the per-container report printed the way podman prints it."""

from __future__ import annotations

import sys

from ..errors import InvalidArgument, NoSuchContainer, PypodError
from ..record import field, record


def add_target_flags(p, *, all_help: str = "", latest: bool = True, filters: bool = False, cidfile: bool = False,
                     ignore: bool = False, all_short: bool = True, filter_short: bool = True) -> None:
    if all_help:
        if all_short:
            p.add_argument("-a", "--all", action="store_true", help=all_help)
        else:
            p.add_argument("--all", action="store_true", help=all_help)
    if latest:
        p.add_argument("-l", "--latest", action="store_true", help="act on the latest container pypod knows about")
    if filters:
        p.add_argument(*(("-f",) if filter_short else ()), "--filter", action="append", default=[], metavar="KEY=VALUE",
                       help="act on the containers that match (ps's filters: name=, label=, status=, ...)")
    if cidfile:
        p.add_argument("--cidfile", action="append", default=[], metavar="FILE",
                       help="read the container ID from FILE (repeatable)")
    if ignore:
        p.add_argument("-i", "--ignore", action="store_true", help="do not fail on containers that do not exist")
    p.add_argument("containers", nargs="*", metavar="CONTAINER")


def check_target_args(a, *, need: bool = True) -> None:
    """podman's checks of --all, --latest, --cidfile, --filter and names together."""
    names = a.containers
    all_ = getattr(a, "all", False)
    latest = getattr(a, "latest", False)
    cidfiles = getattr(a, "cidfile", []) or []
    if getattr(a, "filter", None):
        if names:
            raise InvalidArgument("--filter takes no arguments")
        return
    if cidfiles and (all_ or latest):
        raise InvalidArgument("--all, --latest, and --cidfile cannot be used together")
    if all_ and latest:
        raise InvalidArgument("--all and --latest cannot be used together")
    if names and all_:
        raise InvalidArgument("no arguments are needed with --all")
    if names and latest:
        raise InvalidArgument("--latest and containers cannot be used together")
    if need and not (names or all_ or latest or cidfiles):
        raise InvalidArgument("you must provide at least one name or id")


def read_cidfiles(paths: list[str], ignore: bool = False) -> list[str]:
    """The first line of each file; a missing file with --ignore is skipped."""
    out = []
    for path in paths:
        try:
            with open(path, "rb") as f:  # any bytes: a file that holds no ID names no container
                first = f.read().split(b"\n", 1)[0].strip().decode(errors="replace")
        except FileNotFoundError:
            if ignore:
                continue
            raise InvalidArgument(f"reading CIDFile: open {path}: no such file or directory") from None
        except OSError as e:
            raise InvalidArgument(f"reading CIDFile: open {path}: {(e.strerror or str(e)).lower()}") from None
        if first:
            out.append(first)
    return out


@record
class Selection:
    #: (container, what to print for it: the name the user gave, else the ID)
    targets: list = field(default_factory=list)
    #: the first lookup that failed, if any (podman fails the whole command on it)
    error: PypodError | None = None


def select(engine, a) -> Selection:
    """Resolve the command's targets without acting on any."""
    from ..engine.filters import container_predicate, parse_filters

    names = list(a.containers) + read_cidfiles(getattr(a, "cidfile", []) or [], getattr(a, "ignore", False))
    sel = Selection()
    if getattr(a, "filter", None):
        keep = container_predicate(engine, parse_filters(a.filter))
        for ctr in engine.containers():
            if keep(ctr) and (not names or ctr.id in names or ctr.name in names):
                sel.targets.append((ctr, ctr.id))
        return sel
    if getattr(a, "all", False):
        sel.targets = [(c, c.id) for c in engine.containers()]
        return sel
    if getattr(a, "latest", False):
        ctr = engine.latest_container()
        sel.targets = [(ctr, ctr.id)]
        return sel
    for name in names:
        try:
            sel.targets.append((engine.container(name), name))
        except PypodError as e:
            sel.error = sel.error or e
    return sel


def resolve(engine, a, *, need: bool = True) -> list:
    """select() for commands that fail as a whole when a name is unknown
    (unless --ignore is given and the name simply does not exist)."""
    check_target_args(a, need=need)
    sel = select(engine, a)
    if sel.error is not None and not (getattr(a, "ignore", False) and isinstance(sel.error, NoSuchContainer)):
        raise sel.error
    return sel.targets


def run_each(targets: list, action, *, skip=(), out=None) -> int:
    """Apply action to each (container, label), several at once; print the
    label of each success and every error in the order given, podman's
    way; return the exit code (0, or 125 when one failed)."""
    out = out or sys.stdout
    failed = False
    for label, err in in_parallel(targets, action, skip=skip):
        if err is SKIPPED:
            continue
        if err is not None:
            print(f"Error: {err}", file=sys.stderr)
            failed = True
            continue
        print(label, file=out)
    return 125 if failed else 0


#: what in_parallel reports for a container whose error was one to skip
SKIPPED = object()


def in_parallel(targets: list, action, *, skip=()) -> list:
    """[(label, None | the PypodError | SKIPPED)] for action over (container,
    label) targets, in their order.  podman's --parallel workers: several at
    once (3 per CPU, at least 8: most of a stop is waiting), each worker
    with its own engine, since a SQLite connection serves one thread at a
    time; so 20 containers that ignore SIGTERM stop in one timeout, not in
    twenty after each other."""

    def one(ctr, label):
        try:
            action(ctr)
        except skip:
            return label, SKIPPED
        except PypodError as e:
            return label, e
        return label, None

    if len(targets) <= 1:
        return [one(c, label) for c, label in targets]
    import os
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from ..engine.engine import Engine

    config = targets[0][0].engine.config
    local = threading.local()
    made: list = []
    made_lock = threading.Lock()

    def work(target):
        ctr, label = target
        eng = getattr(local, "engine", None)
        if eng is None:
            eng = local.engine = Engine(config)
            with made_lock:
                made.append(eng)
        try:
            mine = eng.container(ctr.id)
        except PypodError as e:
            return label, e
        return one(mine, label)

    try:
        with ThreadPoolExecutor(max_workers=min(len(targets), max(8, 3 * (os.cpu_count() or 1)))) as pool:
            return list(pool.map(work, targets))
    finally:
        for eng in made:
            eng.close()
