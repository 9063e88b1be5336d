"""Commands that move containers through their life: start, stop, kill,
restart, pause, unpause, rm, init, wait, and `container exists`.

Each takes its targets podman's way (names, --all, --latest, --filter,
--cidfile, --ignore: cli/targets.py), fails as a whole before acting when a
named container does not exist, and prints what it acted on."""

from __future__ import annotations

import sys

from ..errors import AlreadyInState, InvalidArgument, InvalidState, NoSuchContainer, PypodError
from .targets import add_target_flags, check_target_args, in_parallel, resolve, run_each, select


def _add_time_flag(p, what: str) -> None:
    p.add_argument("-t", "--time", "--timeout", dest="time", type=_seconds, default=None, metavar="SECONDS",
                   help=f"seconds to wait for the stop signal to work before killing the container ({what})")


def _seconds(text: str) -> int:
    """podman's uint: negative or above 2**64-1 is refused in strconv's words."""
    from ..specgen.numbers import UINT64_MAX, parse_int

    return parse_int(text, "-t, --time", 0, UINT64_MAX)


# -- start -------------------------------------------------------------------------


def add_start_args(p) -> None:
    p.add_argument("-a", "--attach", action="store_true", help="attach to the container's STDOUT and STDERR")
    p.add_argument("-i", "--interactive", action="store_true", help="keep STDIN open and pass it to the container (with --attach)")
    p.add_argument("--detach-keys", default=None, metavar="KEYS", help="key sequence that detaches from the container")
    p.add_argument("--sig-proxy", default=None, metavar="BOOL",
                   help="pass signals pypod receives to the container (only with --attach; default true then)")
    add_target_flags(p, all_help="start all containers, whatever their state", all_short=False, filters=True)


def cmd_start(engine, a) -> int:
    from .containers import _truthy, proxied_signals

    if not (a.containers or a.latest or a.all or a.filter):
        raise InvalidArgument("start requires at least one argument")
    if a.all and a.latest:
        raise InvalidArgument("--all and --latest cannot be used together")
    if a.containers and a.latest:
        raise InvalidArgument("--latest and containers cannot be used together")
    if len(a.containers) > 1 and a.attach:
        raise InvalidArgument("you cannot start and attach multiple containers at once")
    if (a.containers or a.latest) and a.all:
        raise InvalidArgument("either start all containers or the container(s) provided in the arguments")
    if a.attach and a.all:
        raise InvalidArgument("you cannot start and attach all containers at once")
    sig_proxy = a.attach if a.sig_proxy is None else _truthy(a.sig_proxy)
    if sig_proxy and not a.attach:
        raise InvalidArgument("you cannot use sig-proxy without --attach: invalid argument")
    targets = resolve(engine, a)
    if a.attach:
        if len(targets) != 1:
            raise InvalidArgument("you cannot start and attach multiple containers at once")
        from ..engine.attach import AttachStreams

        ctr = targets[0][0]
        if a.detach_keys is not None:
            from ..proto.detach_keys import parse_detach_keys

            parse_detach_keys(a.detach_keys)
        want = ctr.config.process.attach or ("stdin", "stdout", "stderr")  # what create -a named
        streams = AttachStreams(stdin=0 if a.interactive and "stdin" in want else None,
                                stdout=1 if "stdout" in want else None, stderr=2 if "stderr" in want else None,
                                detach_keys=a.detach_keys)
        with proxied_signals(ctr, enabled=sig_proxy and not ctr.config.tty):
            code = ctr.start_attached(streams, claim_exit=True)
        if code is None:
            return 0
        try:
            ctr.finish_exit()  # conmon's exit command, run by conmon, then only waits for this
        except PypodError:
            pass
        return code

    def start(ctr):
        try:
            ctr.start()
        except AlreadyInState:
            pass  # podman: starting a running container is not an error

    return run_each(targets, start)


# -- stop / kill / restart / pause / unpause ---------------------------------------------


def add_stop_args(p) -> None:
    _add_time_flag(p, "default: the container's stop timeout")
    add_target_flags(p, all_help="stop all running containers", filters=True, cidfile=True, ignore=True)


def _stop_one(timeout):
    def stop(ctr):
        try:
            ctr.stop(timeout)
        except AlreadyInState:
            pass  # already stopped: podman prints it all the same
        except NoSuchContainer:
            pass  # removed (its --rm cleanup) as it stopped

    return stop


def cmd_stop(engine, a) -> int:
    return run_each(resolve(engine, a), _stop_one(a.time))


def add_kill_args(p) -> None:
    p.add_argument("-s", "--signal", default="KILL", help="signal to send to the container (name or number; default KILL)")
    add_target_flags(p, all_help="signal all running containers", cidfile=True)


def cmd_kill(engine, a) -> int:
    from ..proto.signals import parse_signal

    sig = parse_signal(a.signal)
    targets = resolve(engine, a)
    # With --all, containers that are not running are passed over quietly.
    return run_each(targets, lambda c: c.kill(sig), skip=InvalidState if a.all else ())


def add_restart_args(p) -> None:
    _add_time_flag(p, "default: the container's stop timeout")
    p.add_argument("--running", action="store_true", help="restart only the containers that are running")
    add_target_flags(p, all_help="restart all containers", filters=True, cidfile=True)


def cmd_restart(engine, a) -> int:
    if a.running:
        from ..engine.container import Status

        if a.containers or a.latest or a.cidfile:
            check_target_args(a)
        targets = [(c, c.id) for c in engine.containers() if c.state.status == Status.RUNNING]
    else:
        targets = resolve(engine, a)
    return run_each(targets, lambda c: c.restart(a.time))


def add_pause_args(p) -> None:
    add_target_flags(p, all_help="pause all running containers", filters=True, cidfile=True)


def cmd_pause(engine, a) -> int:
    return run_each(resolve(engine, a), lambda c: c.pause(), skip=InvalidState if a.all else ())


def add_unpause_args(p) -> None:
    add_target_flags(p, all_help="unpause all paused containers", filters=True, cidfile=True)


def cmd_unpause(engine, a) -> int:
    from .. import rootless

    rootless.refuse_without_cgroups("unpause is not supported for cgroupv1 rootless containers")
    return run_each(resolve(engine, a), lambda c: c.unpause(), skip=InvalidState if a.all else ())


# -- rm --------------------------------------------------------------------------------


def add_rm_args(p) -> None:
    p.add_argument("-f", "--force", action="store_true", help="stop running or paused containers first, and remove them")
    p.add_argument("-t", "--time", type=_seconds, default=None, metavar="SECONDS",
                   help="with --force: seconds to wait for the stop signal before killing")
    p.add_argument("-v", "--volumes", action="store_true", help="remove the anonymous volumes of the containers too")
    p.add_argument("--depend", action="store_true", help="remove the containers that depend on these ones too (first)")
    add_target_flags(p, all_help="remove all containers", filters=True, filter_short=False, cidfile=True, ignore=True)


def cmd_rm(engine, a) -> int:
    """podman's exit codes: 1 when a container did not exist, 2 when one was
    running or paused, 125 for anything else."""
    from ..errors import ContainerRunning

    if a.time is not None and not a.force:
        raise InvalidArgument("--force option must be specified to use the --time option")
    check_target_args(a)
    sel = select(engine, a)
    codes: set[int] = set()

    def fail(e: PypodError) -> None:
        print(f"Error: {e}", file=sys.stderr)
        codes.add(1 if isinstance(e, NoSuchContainer) else 2 if isinstance(e, ContainerRunning) else 125)

    if sel.error is not None and not a.ignore and not (a.force and isinstance(sel.error, NoSuchContainer)):
        fail(sel.error)
        return min(codes)
    targets = sel.targets
    if a.depend or a.all:
        targets = _with_dependents(engine, targets)

    def remove(ctr) -> None:
        ctr.remove(force=a.force, timeout=a.time, volumes=a.volumes)

    # In waves, in parallel within each: a container goes once nothing left depends on it.
    left = list(targets)
    while left:
        ids = {c.id for c, _label in left}
        wave = [(c, label) for c, label in left if not any(d in ids and d != c.id for d in _dependents_of(engine, c))]
        wave = wave or left  # a cycle: remove what is left at once
        for label, err in in_parallel(wave, remove):
            if err is None:
                print(label)
            elif not (a.force and isinstance(err, NoSuchContainer)):
                fail(err)
        left = [t for t in left if t not in wave]
    if a.all:
        engine.remove_stale_locks()
    return min(codes) if codes else 0


def _dependents_of(engine, ctr) -> list[str]:
    return [d.id for d in engine.dependents(ctr.id)]


def _with_dependents(engine, targets: list) -> list:
    """`rm --depend` (and --all): the targets and, transitively, every
    container that depends on one of them (printed by ID)."""
    out, seen = [], set()
    todo = list(targets)
    while todo:
        ctr, label = todo.pop(0)
        if ctr.id in seen:
            continue
        seen.add(ctr.id)
        out.append((ctr, label))
        todo += [(d, d.id) for d in engine.dependents(ctr.id) if d.id not in seen]
    return out


# -- init / wait / exists ------------------------------------------------------------------


def add_init_args(p) -> None:
    add_target_flags(p, all_help="initialize all containers")


def cmd_init(engine, a) -> int:
    targets = resolve(engine, a)
    return run_each(targets, lambda c: c.init(), skip=AlreadyInState if a.all else ())


def add_wait_args(p) -> None:
    p.add_argument("--condition", action="append", default=[], metavar="STATE",
                   help="state to wait for (stopped, exited, running, paused, created, ...; default stopped)")
    p.add_argument("-i", "--interval", default="250ms", help="how often to look at the state (a duration, or milliseconds)")
    p.add_argument("--ignore", action="store_true", help="print -1 for containers that do not exist instead of failing")
    add_target_flags(p)


def parse_interval(text: str) -> float:
    from ..proto.k8s_log import parse_go_duration

    for candidate in (text, text + "ms"):
        try:
            return parse_go_duration(candidate) / 1e9
        except ValueError:
            continue
    raise InvalidArgument(f'time: invalid duration "{text}"')


def cmd_wait(engine, a) -> int:
    from ..engine.container import Status

    interval = parse_interval(a.interval)
    conds: list[Status] = []
    for word in a.condition:
        for c in word.split(","):
            try:
                s = Status("created" if c == "configured" else c)
            except ValueError:
                raise InvalidArgument(f"unknown container state: {c}: invalid argument") from None
            conds.append(s)
    if not conds or Status.STOPPED in conds:
        conds += [Status.STOPPED, Status.EXITED]
    if not a.latest and not a.containers:
        raise InvalidArgument('"pypod wait" requires a name, id, or the "--latest" flag')
    if a.latest and a.containers:
        raise InvalidArgument("--latest and containers cannot be used together")
    refs = [engine.latest_container().id] if a.latest else a.containers
    rc = 0
    for ref in refs:
        try:
            print(engine.container(ref).wait(conditions=tuple(conds), interval=interval), flush=True)
        except NoSuchContainer as e:
            if a.ignore:
                print(-1)
                continue
            print(f"Error: {e}", file=sys.stderr)
            rc = 125
    return rc


def add_exists_args(p) -> None:
    p.add_argument("--external", action="store_true", help="count containers that only exist in storage (not pypod's) too")
    p.add_argument("container", metavar="CONTAINER")


def cmd_exists(engine, a) -> int:
    """Exit 0 when the container exists, 1 when it does not (nothing printed)."""
    try:
        engine.container(a.container)
        return 0
    except NoSuchContainer:
        pass
    if a.external and a.container in engine.external_containers():
        return 0
    return 1


# -- prune -------------------------------------------------------------------------------


def add_container_prune_args(p) -> None:
    p.add_argument("--filter", action="append", default=[], metavar="KEY=VALUE",
                   help="only containers that match: label=, label!=, until= (repeatable)")
    p.add_argument("-f", "--force", action="store_true", help="do not ask for confirmation")


def cmd_container_prune(engine, a) -> int:
    from ..engine.filters import parse_filters
    from .images import confirm

    filters = parse_filters(a.filter)
    if not a.force and not confirm("WARNING! This will remove all non running containers.\nAre you sure you want to continue?"):
        return 0
    for cid, _size in engine.prune_containers(filters):
        print(cid)
    return 0
