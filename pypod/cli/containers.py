"""Container commands: run, create, attach, top, checkpoint, restore and
`container cleanup` (the other lifecycle commands are in lifecycle.py)."""

from __future__ import annotations

import json
import os
import sys

from ..engine.container import ContainerConfig
from ..specgen.units import parse_size
from ..specgen.volumes import parse_volume
from ..errors import AlreadyInState, InvalidArgument, NoSuchContainer, NoSuchImage, PypodError

# -- run / create -----------------------------------------------------------------


def _add_create_flags(p) -> None:
    import argparse

    p.add_argument("-i", "--interactive", action="store_true", help="keep STDIN open even if not attached")
    p.add_argument("-t", "--tty", action="store_true", help="allocate a pseudo-TTY")
    p.add_argument("--rm", action="store_true", help="remove the container when it exits")
    p.add_argument("--name", default="", help="assign a name to the container")
    p.add_argument("-e", "--env", action="append", default=[], help="set environment variables")
    p.add_argument("--env-file", action="append", default=[], help="read in a file of environment variables")
    p.add_argument("-w", "--workdir", default="", help="working directory inside the container")
    p.add_argument("-u", "--user", default="", help="username or UID (format: <name|uid>[:<group|gid>])")
    p.add_argument("--group-add", action="append", default=[], help="add additional groups to join")
    p.add_argument("--entrypoint", default=None, help="overwrite the default ENTRYPOINT of the image")
    p.add_argument("-v", "--volume", action="append", default=[], help="bind mount a volume (SRC:DEST[:OPTS])")
    p.add_argument("--privileged", action="store_true", help="give extended privileges to the container")
    p.add_argument("--cap-add", action="append", default=[], help="add capabilities")
    p.add_argument("--cap-drop", action="append", default=[], help="drop capabilities")
    p.add_argument("--stop-signal", default=None, help="signal to stop a container (default SIGTERM)")
    p.add_argument("--stop-timeout", type=int, default=None, help="timeout (in seconds) to stop a container")
    p.add_argument("--network", "--net", default="private", help="network mode: private (default), none or host")
    p.add_argument("-h", "--hostname", default="", help="set container hostname")
    p.add_argument("--help", action="help", help="show this help message and exit")
    p.add_argument("--ulimit", action="append", default=[], help="ulimit options (name=soft[:hard])")
    p.add_argument("--read-only", action="store_true", help="make the container's root filesystem read-only")
    p.add_argument("-l", "--label", action="append", default=[], help="set metadata on the container")
    p.add_argument("--detach-keys", default=None, help="override the key sequence for detaching")
    p.add_argument("--rootfs", action="store_true", help="the first argument is an exploded rootfs directory, not an image")
    p.add_argument("--log-driver", default="k8s-file", choices=("k8s-file", "journald", "none"), help="logging driver")
    p.add_argument("--log-opt", action="append", default=[], help="logging options: max-size=N, tag=T")
    p.add_argument("--secret", action="append", default=[], help="add a secret: NAME[,type=env][,target=VAR]")
    p.add_argument("--pull", default="missing", choices=("missing", "never", "always", "newer"), help="pull policy (only local images are used)")
    p.add_argument("--replace", action="store_true", help="replace a container of the same name")
    p.add_argument("image", help="image or, with --rootfs, directory")
    p.add_argument("command", nargs=argparse.REMAINDER, help="command and arguments")


#: run and create use -h for --hostname, as podman does
OWN_HELP = ("run", "create")


def add_run_args(p) -> None:
    _add_create_flags(p)
    p.add_argument("-d", "--detach", action="store_true", help="run the container in the background and print its ID")
    p.add_argument("--sig-proxy", default="true", help="proxy received signals to the process")


def add_create_args(p) -> None:
    _add_create_flags(p)



def _read_env_file(path: str) -> list[str]:
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise InvalidArgument(f"open {path}: {e.strerror.lower()}") from None
    out = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            # A bare name takes the value from our environment, as in podman.
            if line in os.environ:
                out.append(f"{line}={os.environ[line]}")
            continue
        out.append(line)
    return out


def _expand_env(items: list[str]) -> list[str]:
    out = []
    for item in items:
        if "=" in item:
            name = item.split("=", 1)[0]
            if not name:
                raise InvalidArgument(f"invalid environment variable: {item!r}")
            out.append(item)
        elif item.endswith("*"):
            out += [f"{k}={v}" for k, v in os.environ.items() if k.startswith(item[:-1])]
        elif item in os.environ:
            out.append(f"{item}={os.environ[item]}")
    return out



def config_from_args(a) -> ContainerConfig:
    from ..proto.oci_spec import parse_ulimit
    from ..proto.signals import parse_signal

    cfg = ContainerConfig()
    cfg.name = a.name
    if a.rootfs:
        cfg.rootfs = a.image
    else:
        cfg.image = a.image
    cfg.command = list(a.command)
    if a.entrypoint is not None:
        ep = a.entrypoint
        if ep.startswith("["):
            try:
                cfg.entrypoint = json.loads(ep)
            except ValueError:
                raise InvalidArgument(f"invalid entrypoint JSON: {ep}") from None
        else:
            cfg.entrypoint = [ep] if ep else []
        if not cfg.entrypoint and not cfg.command:
            raise InvalidArgument("no command or entrypoint provided, and no CMD or ENTRYPOINT from image")
    env: list[str] = []
    for f in a.env_file:
        env += _read_env_file(f)
    env += _expand_env(a.env)
    cfg.env = env
    cfg.workdir = a.workdir
    if cfg.workdir and not cfg.workdir.startswith("/"):
        raise InvalidArgument(f"workdir {cfg.workdir!r} must be an absolute path")
    cfg.user = a.user
    cfg.groups = list(a.group_add)
    cfg.hostname = a.hostname
    cfg.labels = {}
    for item in a.label:
        k, _, v = item.partition("=")
        cfg.labels[k] = v
    if a.stop_signal:
        cfg.stop_signal = parse_signal(a.stop_signal)
    if a.stop_timeout is not None:
        if a.stop_timeout < 0:
            raise InvalidArgument("stop timeout must be 0 or greater")
        cfg.stop_timeout = a.stop_timeout
    cfg.tty = a.tty
    cfg.stdin = a.interactive
    cfg.privileged = a.privileged
    cfg.cap_add = list(a.cap_add)
    cfg.cap_drop = list(a.cap_drop)
    from ..proto.oci_spec import normalize_cap

    for c in (*cfg.cap_add, *cfg.cap_drop):
        normalize_cap(c)
    cfg.read_only = a.read_only
    net = {"bridge": "private", "slirp4netns": "private", "pasta": "private", "default": "private", "": "private"}.get(a.network, a.network)
    if net not in ("private", "none", "host"):
        raise InvalidArgument(f"network {a.network!r}: only private, none and host networks are supported")
    cfg.network = net
    cfg.mounts = [parse_volume(v) for v in a.volume]
    cfg.ulimits = [parse_ulimit(u) for u in a.ulimit]
    cfg.auto_remove = getattr(a, "rm", False)
    cfg.log_driver = a.log_driver
    for opt in a.log_opt:
        k, _, v = opt.partition("=")
        if k == "max-size":
            cfg.log_size_max = parse_size(v)
        elif k == "tag":
            cfg.log_tag = v
        elif k == "path":
            raise InvalidArgument("--log-opt path is not supported; logs live in the container's directory")
        else:
            raise InvalidArgument(f"invalid log option {opt!r}")
    for spec in a.secret:
        parts = spec.split(",")
        name, target, kind = parts[0], parts[0], "env"
        for p in parts[1:]:
            k, _, v = p.partition("=")
            if k == "type":
                kind = v
            elif k == "target":
                target = v
            else:
                raise InvalidArgument(f"invalid secret option {p!r}")
        if kind != "env":
            raise InvalidArgument(f"secret type {kind!r} is not supported; use type=env")
        cfg.secrets.append((name, target))
    return cfg


def _create(engine, a):
    if a.detach_keys is not None:
        from ..proto.detach_keys import parse_detach_keys

        parse_detach_keys(a.detach_keys)
    cfg = config_from_args(a)
    if a.replace and cfg.name:
        try:
            engine.container(cfg.name).remove(force=True)
        except NoSuchContainer:
            pass
    try:
        return engine.create_container(cfg)
    except NoSuchImage as e:
        raise NoSuchImage(f"{cfg.image}: image not known") if "image not known" not in str(e) else e


def cmd_create(engine, a) -> int:
    ctr = _create(engine, a)
    print(ctr.id)
    return 0


def cmd_run(engine, a) -> int:
    from ..engine.attach import AttachStreams

    ctr = _create(engine, a)
    if a.detach:
        try:
            ctr.start()
        except BaseException:
            _discard(ctr)
            raise
        print(ctr.id)
        return 0
    streams = AttachStreams(stdin=0 if a.interactive else None, stdout=1, stderr=2, detach_keys=a.detach_keys)
    try:
        with proxied_signals(ctr, enabled=_truthy(a.sig_proxy) and not a.tty):
            code = ctr.start_attached(streams)
    except BaseException:
        _discard(ctr)
        raise
    if code is None:
        return 0  # detached: the container goes on
    try:
        if ctr.config.auto_remove:
            ctr.remove(force=True)
        else:
            ctr.cleanup()
    except (NoSuchContainer, AlreadyInState):
        pass  # conmon's exit command got there first
    return code


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
        ctr.remove(force=True)
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


# -- attach / cleanup / top / checkpoint ----------------------------------------------


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


def add_cleanup_args(p) -> None:
    _add_targets(p)
    p.add_argument("--rm", action="store_true", help="after cleanup, remove the container entirely")
    p.add_argument("--exec", default="", help="clean up the given exec session instead of the container")


def cmd_cleanup(engine, a) -> int:
    """Run by conmon when a container (or exec session) exits: must be quiet and
    idempotent, since the foreground `run` may be cleaning up at the same time."""
    rc = 0
    for target in _targets(engine, a):
        try:
            ctr = engine.container(target) if isinstance(target, str) else target
            if a.exec:
                from ..engine import execs

                execs.cleanup_session(ctr, a.exec)
            elif a.rm:
                ctr.remove(force=False)
            else:
                ctr.cleanup()
        except NoSuchContainer:
            continue
        except PypodError as e:
            print(f"Error: {e}", file=sys.stderr)
            rc = 125
    return rc


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
