"""Container commands: run, create, start, stop, kill, restart, pause, unpause,
rm, ps, inspect, logs, wait and attach."""

from __future__ import annotations

import json
import os
import sys
import time

from ..engine.container import Status, status_text
from ..proto.humanize import human_ago
from ..errors import AlreadyInState, InvalidArgument, NoSuchContainer, NoSuchImage, PypodError

# -- run / create -----------------------------------------------------------------


#: run and create use -h for --hostname, as podman does
OWN_HELP = ("run", "create")


def add_run_args(p) -> None:
    from .runflags import add_create_flags, add_run_only_flags

    add_create_flags(p)
    add_run_only_flags(p)


def add_create_args(p) -> None:
    from .runflags import add_create_flags

    add_create_flags(p)


def _create(engine, a):
    if a.detach_keys is not None:
        from ..proto.detach_keys import parse_detach_keys

        parse_detach_keys(a.detach_keys)
    from .runflags import config_from_args

    cfg = config_from_args(a)
    cidfile = cfg.process.cidfile
    if cidfile and os.path.exists(cidfile):
        raise InvalidArgument(f"container id file exists. Ensure another container is not using it or delete {cidfile}")
    if a.replace and cfg.name:
        try:
            engine.container(cfg.name).remove(force=True)
        except NoSuchContainer:
            pass
    try:
        ctr = engine.create_container(cfg)
    except NoSuchImage as e:
        raise NoSuchImage(f"{cfg.image}: image not known") if "image not known" not in str(e) else e
    if cidfile:
        try:
            with open(cidfile, "x") as f:
                f.write(ctr.id)
        except OSError as e:
            _discard(ctr)
            raise InvalidArgument(f"opening cidfile {cidfile}: {e.strerror.lower()}") from None
    return ctr


def cmd_create(engine, a) -> int:
    ctr = _create(engine, a)
    print(ctr.id)
    return 0


def _run_streams(a):
    """Which of our stdio the container gets: all (stdin with -i), or those -a names."""
    from ..engine.attach import AttachStreams

    want = set(a.attach) or {"stdin", "stdout", "stderr"}
    return AttachStreams(stdin=0 if a.interactive and "stdin" in want else None,
                         stdout=1 if "stdout" in want else None, stderr=2 if "stderr" in want else None,
                         detach_keys=a.detach_keys)


def cmd_run(engine, a) -> int:
    if a.detach and a.attach:
        raise InvalidArgument("the --attach and --detach flags cannot be used together")
    if a.rmi and not a.rm:
        raise InvalidArgument("the --rmi option does not work without --rm")
    if a.preserve_fds < 0:
        raise InvalidArgument("--preserve-fds must be 0 or greater")
    for fd in range(3, 3 + a.preserve_fds):
        try:
            os.fstat(fd)
        except OSError:
            raise InvalidArgument(f"file descriptor {fd} is not available - the preserve-fds option requires that "
                                  "all file descriptors between 3 and 3+N be open") from None
    ctr = _create(engine, a)
    ctr.preserve_fds = a.preserve_fds
    if a.detach:
        try:
            ctr.start()
        except BaseException:
            _discard(ctr)
            raise
        print(ctr.id)
        return 0
    if ctr.config.log_driver == "passthrough":
        return _run_passthrough(ctr, a)
    try:
        with proxied_signals(ctr, enabled=_truthy(a.sig_proxy) and not a.tty):
            code = ctr.start_attached(_run_streams(a), claim_exit=True)
    except BaseException:
        _discard(ctr)
        raise
    if code is None:
        return 0  # detached: the container goes on
    # conmon's exit command, done here (a restart policy's restart too); conmon's then only waits for this
    ctr.finish_exit()
    if a.rmi:
        _remove_image(engine, ctr.config.image)
    return code


def _run_passthrough(ctr, a) -> int:
    """--log-driver passthrough: conmon hands our stdio to the container
    itself, so there is nothing to attach to; wait for the exit."""
    try:
        with proxied_signals(ctr, enabled=_truthy(a.sig_proxy)):
            ctr.start()
            code = ctr.wait()
    except BaseException:
        _discard(ctr)
        raise
    if not ctr.config.restart.active:
        try:
            ctr.remove(force=True) if ctr.config.auto_remove else ctr.cleanup()
        except (NoSuchContainer, AlreadyInState):
            pass
    return code


def _remove_image(engine, ref: str) -> None:
    try:
        engine.remove_image(ref)
    except PypodError as e:
        print(f"Error: failed removing image {ref}: {e}", file=sys.stderr)


def _truthy(text: str) -> bool:
    if text.lower() in ("true", "1", "yes", ""):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise InvalidArgument(f"invalid boolean {text!r}")


class proxied_signals:
    """While attached, signals sent to pypod go to the container's process
    (podman's --sig-proxy); with a TTY the terminal already delivers them."""

    SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")

    def __init__(self, ctr, enabled: bool = True):
        self.ctr = ctr
        self.enabled = enabled
        self.saved: dict = {}

    def _forward(self, signum, _frame) -> None:
        try:
            self.ctr.engine.runtime.kill_container(self.ctr, signum)
        except PypodError:
            pass  # the container is gone: nothing left to signal

    def __enter__(self):
        if self.enabled:
            import signal

            for name in self.SIGNALS:
                num = getattr(signal, name)
                self.saved[num] = signal.signal(num, self._forward)
        return self

    def __exit__(self, *exc) -> None:
        import signal

        for num, old in self.saved.items():
            signal.signal(num, old)


def _discard(ctr) -> None:
    """A run that failed before its process ran leaves no container behind."""
    try:
        ctr.remove(force=True, volumes=True)
    except PypodError:
        pass


# -- lifecycle commands -------------------------------------------------------------


def _add_targets(p, latest=True, all_flag=True) -> None:
    if all_flag:
        p.add_argument("-a", "--all", action="store_true", help="act on all containers")
    if latest:
        p.add_argument("-l", "--latest", action="store_true", help="act on the latest container pypod knows about")
    p.add_argument("containers", nargs="*", metavar="CONTAINER")


def _targets(engine, a, need=True):
    if getattr(a, "all", False):
        return engine.containers(sync=False)
    if getattr(a, "latest", False):
        return [engine.latest_container()]
    if not a.containers and need:
        raise InvalidArgument("you must provide at least one name or id")
    return list(a.containers)


def _each(engine, a, action, print_ref=True) -> int:
    """Apply action to each target; report errors per container as podman does."""
    rc = 0
    for target in _targets(engine, a):
        ref = target if isinstance(target, str) else target.id
        try:
            ctr = engine.container(ref) if isinstance(target, str) else target
            action(ctr)
            if print_ref:
                print(ref)
        except PypodError as e:
            print(f"Error: {e}", file=sys.stderr)
            rc = e.exit_code if rc == 0 else rc
    return rc


def add_start_args(p) -> None:
    p.add_argument("-a", "--attach", action="store_true", help="attach container's STDOUT and STDERR")
    p.add_argument("-i", "--interactive", action="store_true", help="make STDIN available to the contained process")
    p.add_argument("--detach-keys", default=None, help="override the key sequence for detaching")
    p.add_argument("--all", action="store_true", help="start all containers regardless of their state")
    p.add_argument("-l", "--latest", action="store_true", help="act on the latest container")
    p.add_argument("containers", nargs="*", metavar="CONTAINER")


def cmd_start(engine, a) -> int:
    if a.attach:
        from ..engine.attach import AttachStreams

        targets = _targets(engine, a)
        if len(targets) != 1:
            raise InvalidArgument("you cannot start and attach multiple containers at once")
        ctr = engine.container(targets[0]) if isinstance(targets[0], str) else targets[0]
        streams = AttachStreams(stdin=0 if a.interactive else None, detach_keys=a.detach_keys)
        code = ctr.start_attached(streams, claim_exit=True)
        if code is None:
            return 0
        try:
            ctr.finish_exit()
        except PypodError:
            pass
        return code

    def start(ctr):
        try:
            ctr.start()
        except AlreadyInState:
            pass  # podman: starting a running container is not an error

    return _each(engine, a, start)


def add_stop_args(p) -> None:
    _add_targets(p)
    p.add_argument("-t", "--time", type=int, default=None, help="seconds to wait before killing the container")
    p.add_argument("-i", "--ignore", action="store_true", help="ignore errors when a container does not exist")


def cmd_stop(engine, a) -> int:
    def stop(ctr):
        try:
            ctr.stop(a.time)
        except AlreadyInState:
            pass

    if a.ignore:
        a.containers = [c for c in a.containers if _exists(engine, c)]
        if not a.containers and not a.all and not a.latest:
            return 0
    return _each(engine, a, stop)


def _exists(engine, ref: str) -> bool:
    try:
        engine.store.lookup_id(ref)
        return True
    except NoSuchContainer:
        return False


def add_kill_args(p) -> None:
    _add_targets(p)
    p.add_argument("-s", "--signal", default="KILL", help="signal to send to the container")


def cmd_kill(engine, a) -> int:
    from ..proto.signals import parse_signal

    sig = parse_signal(a.signal)
    return _each(engine, a, lambda c: c.kill(sig))


def add_restart_args(p) -> None:
    _add_targets(p)
    p.add_argument("-t", "--time", type=int, default=None, help="seconds to wait before killing the container")


def cmd_restart(engine, a) -> int:
    return _each(engine, a, lambda c: c.restart(a.time))


def add_pause_args(p) -> None:
    _add_targets(p)


def cmd_pause(engine, a) -> int:
    return _each(engine, a, lambda c: c.pause())


add_unpause_args = add_pause_args


def cmd_unpause(engine, a) -> int:
    return _each(engine, a, lambda c: c.unpause())


def add_rm_args(p) -> None:
    _add_targets(p)
    p.add_argument("-f", "--force", action="store_true", help="force removal of a running or unusable container")
    p.add_argument("-t", "--time", type=int, default=None, help="seconds to wait for stop before killing the container")
    p.add_argument("-v", "--volumes", action="store_true", help="remove the container's anonymous volumes too")
    p.add_argument("-i", "--ignore", action="store_true", help="ignore errors when a container does not exist")


def cmd_rm(engine, a) -> int:
    """podman's exit codes: 1 when a container did not exist, 2 when one was
    running or paused, 125 for anything else."""
    from ..errors import ContainerRunning

    if a.ignore:
        a.containers = [c for c in a.containers if _exists(engine, c)]
        if not a.containers and not a.all and not a.latest:
            return 0
    worst = 0
    for target in _targets(engine, a):
        ref = target if isinstance(target, str) else target.id
        try:
            ctr = engine.container(ref) if isinstance(target, str) else target
            ctr.remove(force=a.force, timeout=a.time, volumes=a.volumes)
            print(ref)
        except PypodError as e:
            print(f"Error: {e}", file=sys.stderr)
            code = 1 if isinstance(e, NoSuchContainer) else 2 if isinstance(e, ContainerRunning) else 125
            worst = max(worst, code)
    return worst


# -- ps ------------------------------------------------------------------------------


def add_ps_args(p) -> None:
    p.add_argument("-a", "--all", action="store_true", help="show all the containers, default is only running")
    p.add_argument("-q", "--quiet", action="store_true", help="print the numeric IDs of the containers only")
    p.add_argument("--format", default="", help="pretty-print containers: json or a Go template")
    p.add_argument("-f", "--filter", action="append", default=[], help="filter output based on conditions given")
    p.add_argument("--no-trunc", action="store_true", help="display the extended information")
    p.add_argument("-n", "--last", type=int, default=-1, help="print the n last created containers")
    p.add_argument("-l", "--latest", action="store_true", help="act on the latest container")
    p.add_argument("--noheading", action="store_true", help="do not print headers")
    p.add_argument("-s", "--size", action="store_true", help="display the total file sizes")


def ps_entry(ctr) -> dict:
    """One container as `ps --format json` shows it (podman's ListContainer)."""
    from ..engine.inspect import rfc3339, status_word

    cfg, st = ctr.config, ctr.state
    now = time.time()
    word = status_word(st.status)
    exited = st.status in (Status.STOPPED, Status.EXITED) or (st.status == Status.CONFIGURED and st.finished_at)
    return {
        "AutoRemove": cfg.auto_remove,
        "Command": cfg.args,
        "Created": int(cfg.created),
        "CreatedAt": human_ago(now - cfg.created),
        "Exited": bool(exited),
        "ExitedAt": int(st.finished_at) if st.finished_at else 0,
        "ExitCode": st.exit_code,
        "Id": ctr.id,
        "Image": cfg.image or cfg.rootfs,
        "ImageID": cfg.image_id,
        "IsInfra": False,
        "Labels": cfg.labels or None,
        "Mounts": [m.destination for m in cfg.mounts],
        "Names": [cfg.name],
        "Namespaces": {},
        "Networks": [],
        "Pid": st.pid,
        "Pod": "",
        "PodName": "",
        "Ports": None,
        "Size": None,
        "StartedAt": int(st.started_at),
        "State": "exited" if exited else word,
        "Status": status_text(ctr.state, now) + _health_suffix(ctr),
        "_StartedAtRFC": rfc3339(st.started_at),
    }



def _health_suffix(ctr) -> str:
    if not ctr.config.health.enabled:
        return ""
    from ..engine.health import status_suffix

    return status_suffix(ctr)


def _match_filters(entry: dict, ctr, filters: list[str]) -> bool:
    groups: dict[str, list[str]] = {}
    for f in filters:
        k, sep, v = f.partition("=")
        if not sep:
            raise InvalidArgument(f"invalid filter {f!r}: filter must be key=value")
        groups.setdefault(k, []).append(v)
    for key, values in groups.items():
        if key == "name":
            ok = any(_glob_or_sub(v, ctr.name) for v in values)
        elif key == "id":
            ok = any(ctr.id.startswith(v) for v in values)
        elif key == "status":
            for v in values:
                if v not in ("created", "running", "paused", "exited", "stopped", "unknown", "configured", "removing"):
                    raise InvalidArgument(f"{v} is not a valid status")
            ok = entry["State"] in values or ("stopped" in values and entry["State"] == "exited")
        elif key == "label":
            labels = ctr.config.labels
            ok = all((lk in labels and (not sep or labels[lk] == lv)) for lk, sep, lv in (v.partition("=") for v in values))
        elif key == "ancestor":
            ok = any(v in (ctr.config.image, ctr.config.image_id) or ctr.config.image_id.startswith(v) for v in values)
        elif key == "exited":
            ok = entry["Exited"] and str(ctr.state.exit_code) in values
        elif key == "before" or key == "since":
            return True
        else:
            raise InvalidArgument(f"{key} is an invalid filter")
        if not ok:
            return False
    return True


def _glob_or_sub(pattern: str, name: str) -> bool:
    """podman matches name filters as regular expressions."""
    import re

    try:
        return re.search(pattern, name) is not None
    except re.error:
        return pattern in name


def cmd_ps(engine, a) -> int:
    ctrs = engine.containers()
    if a.latest and ctrs:
        ctrs = [max(ctrs, key=lambda c: c.config.created)]
    entries = []
    for c in ctrs:
        if not (a.all or a.latest or a.filter) and c.state.status not in (Status.RUNNING, Status.PAUSED):
            continue
        e = ps_entry(c)
        if a.filter and not _match_filters(e, c, a.filter):
            continue
        entries.append((c, e))
    if a.last >= 0:
        entries = entries[-a.last:] if a.last else []
    if a.quiet:
        for c, _e in entries:
            print(c.id if a.no_trunc else c.id[:12])
        return 0
    fmt = a.format
    if fmt in ("json", "{{json .}}"):
        print(json.dumps([{k: v for k, v in e.items() if not k.startswith("_")} for _c, e in entries], indent=4))
        return 0
    rows = [_ps_template_fields(c, e, a.no_trunc) for c, e in entries]
    if fmt:
        from .output import print_template

        print_template(fmt, rows, noheading=a.noheading)
        return 0
    from .output import print_table

    print_table(
        [("CONTAINER ID", "ID"), ("IMAGE", "Image"), ("COMMAND", "Command"), ("CREATED", "CreatedHuman"),
         ("STATUS", "Status"), ("PORTS", "Ports"), ("NAMES", "Names")],
        rows,
        noheading=a.noheading,
    )
    return 0


def _ps_template_fields(c, e: dict, no_trunc: bool) -> dict:
    cmd = " ".join(e["Command"])
    if not no_trunc and len(cmd) > 20:
        cmd = cmd[:17] + "..."
    return {
        **e,
        "ID": c.id if no_trunc else c.id[:12],
        "Names": c.name,
        "Command": cmd,
        "CreatedHuman": e["CreatedAt"],
        "RunningFor": e["CreatedAt"],
        "Ports": "",
        "Labels": c.config.labels,
        "Mounts": ",".join(e["Mounts"]),
        "Image": e["Image"],
    }


# -- inspect / logs / wait / attach / cleanup ----------------------------------------


def add_inspect_args(p) -> None:
    p.add_argument("-f", "--format", default="", help="format the output using a Go template or json")
    p.add_argument("-t", "--type", default="all", choices=("all", "container", "image"), help="what to inspect")
    p.add_argument("-s", "--size", action="store_true", help="display total file size")
    p.add_argument("-l", "--latest", action="store_true", help="act on the latest container")
    p.add_argument("names", nargs="*", metavar="NAME")


def cmd_inspect(engine, a) -> int:
    results, errors = [], []
    names = list(a.names)
    if a.latest:
        names = [engine.latest_container().id]
    if not names:
        raise InvalidArgument("no names or ids specified")
    for name in names:
        data = None
        if a.type in ("all", "container"):
            try:
                data = engine.container(name)
                data.sync_cheap()
                data = data.inspect()
            except NoSuchContainer:
                data = None
        if data is None and a.type in ("all", "image"):
            try:
                data = engine.images.inspect_dict(engine.images.lookup(name))
            except NoSuchImage:
                data = None
        if data is None:
            errors.append(f"no such object: \"{name}\"")
        else:
            results.append(data)
    if a.format and a.format not in ("json", "{{json .}}"):
        from .output import print_template

        print_template(a.format, results)
    else:
        print(json.dumps(results, indent=4))
    for e in errors:
        print(f"Error: {e}", file=sys.stderr)
    return 125 if errors else 0


def add_logs_args(p) -> None:
    p.add_argument("-f", "--follow", action="store_true", help="follow log output")
    p.add_argument("--tail", type=int, default=-1, help="output the specified number of lines at the end of the logs")
    p.add_argument("--since", default="", help="show logs since TIMESTAMP")
    p.add_argument("--until", default="", help="show logs until TIMESTAMP")
    p.add_argument("-t", "--timestamps", action="store_true", help="output the timestamps in the log")
    p.add_argument("-n", "--names", action="store_true", help="output the container name in the log")
    p.add_argument("-l", "--latest", action="store_true", help="act on the latest container")
    p.add_argument("containers", nargs="*", metavar="CONTAINER")


def cmd_logs(engine, a) -> int:
    targets = [engine.latest_container()] if a.latest else [engine.container(n) for n in a.containers]
    if not targets:
        raise InvalidArgument("no containers specified")
    out = {"stdout": sys.stdout.buffer, "stderr": sys.stderr.buffer}
    for ctr in targets:
        prefix = f"{ctr.name} ".encode() if a.names or len(targets) > 1 else b""
        from ..proto.k8s_log import format_line

        for record in ctr.logs(follow=a.follow, tail=a.tail, since=a.since, until=a.until):
            f = out.get(record[1], sys.stdout.buffer)
            f.write(prefix + format_line(record, a.timestamps))
            if a.follow:
                f.flush()
    sys.stdout.flush()
    return 0


def add_wait_args(p) -> None:
    p.add_argument("--condition", action="append", default=[], help="condition to wait on (stopped, exited, running, ...)")
    p.add_argument("-i", "--interval", default="250ms", help="time interval to wait before polling for completion")
    p.add_argument("--ignore", action="store_true", help="ignore if a container does not exist")
    p.add_argument("-l", "--latest", action="store_true", help="act on the latest container")
    p.add_argument("containers", nargs="*", metavar="CONTAINER")


def cmd_wait(engine, a) -> int:
    conds = []
    for c in a.condition or ["stopped"]:
        try:
            s = Status(c)
        except ValueError:
            raise InvalidArgument(f"{c} is not a valid container state") from None
        conds.append(s)
        if s == Status.STOPPED:
            conds.append(Status.EXITED)
    targets = [engine.latest_container().id] if a.latest else a.containers
    if not targets:
        raise InvalidArgument("you must provide at least one container name or id")
    rc = 0
    for ref in targets:
        try:
            print(engine.container(ref).wait(conditions=tuple(conds)))
        except NoSuchContainer as e:
            if a.ignore:
                print(-1)
                continue
            print(f"Error: {e}", file=sys.stderr)
            rc = 125
    return rc


def add_attach_args(p) -> None:
    p.add_argument("--detach-keys", default=None, help="override the key sequence for detaching")
    p.add_argument("--no-stdin", action="store_true", help="do not attach STDIN")
    p.add_argument("--sig-proxy", default="true", help="proxy received signals to the process")
    p.add_argument("-l", "--latest", action="store_true", help="act on the latest container")
    p.add_argument("containers", nargs="*", metavar="CONTAINER")


def cmd_attach(engine, a) -> int:
    from ..engine.attach import AttachStreams

    if a.latest:
        ctr = engine.latest_container()
    elif len(a.containers) == 1:
        ctr = engine.container(a.containers[0])
    else:
        raise InvalidArgument("attach requires the name or id of one running container or the latest flag")
    with proxied_signals(ctr, enabled=_truthy(a.sig_proxy) and not ctr.config.tty):
        code = ctr.attach(AttachStreams(stdin=None if a.no_stdin else 0, detach_keys=a.detach_keys))
    if code is None:
        return 0
    try:
        ctr.cleanup()
    except PypodError:
        pass
    return code


def add_top_args(p) -> None:
    import argparse

    p.add_argument("-l", "--latest", action="store_true", help="act on the latest container")
    p.add_argument("container", nargs="?", default="")
    p.add_argument("descriptors", nargs=argparse.REMAINDER, metavar="DESCRIPTORS",
                   help="what to show: ps format descriptors (pid user args ...) or ps options (-o pid,comm)")


def cmd_top(engine, a) -> int:
    ctr = engine.latest_container() if a.latest else engine.container(a.container)
    args = list(a.descriptors)
    if args and not args[0].startswith("-"):
        args = ["-o", ",".join(args)]
    titles, rows = ctr.top(args or None)
    from .output import print_table

    cols = [(t, str(i)) for i, t in enumerate(titles)]
    print_table(cols, [{str(i): v for i, v in enumerate(r)} for r in rows])
    return 0


def add_checkpoint_args(p) -> None:
    _add_targets(p)
    p.add_argument("-R", "--leave-running", action="store_true", help="leave the container running after writing the checkpoint")
    p.add_argument("--tcp-established", action="store_true", help="checkpoint a container with established TCP connections")


def cmd_checkpoint(engine, a) -> int:
    return _each(engine, a, lambda c: c.checkpoint(keep_running=a.leave_running, tcp_established=a.tcp_established))


def add_restore_args(p) -> None:
    _add_targets(p)


def cmd_restore(engine, a) -> int:
    return _each(engine, a, lambda c: c.restore())
