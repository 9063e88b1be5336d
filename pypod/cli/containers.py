"""Container commands: run, create, attach, top and
`container cleanup` (the other lifecycle commands are in lifecycle.py)."""

from __future__ import annotations

import os
import sys

from ..errors import AlreadyInState, InvalidArgument, NoSuchContainer, NoSuchImage, PypodError

# -- run / create -----------------------------------------------------------------


#: run and create use -h for --hostname, as podman does
OWN_HELP = ("run", "create")


def add_run_args(p) -> None:
    from .runflags import add_create_flags, add_run_only_flags

    add_create_flags(p)
    add_run_only_flags(p)


def add_create_args(p) -> None:
    from .runflags import add_create_flags, add_create_only_flags

    add_create_flags(p)
    add_create_only_flags(p)


def _create(engine, a):
    if a.detach_keys is not None:
        from ..proto.detach_keys import parse_detach_keys

        parse_detach_keys(a.detach_keys)
    from .runflags import config_from_args

    cfg = config_from_args(a)
    cidfile = cfg.process.cidfile
    if cidfile and os.path.exists(cidfile):
        raise InvalidArgument(f"container id file exists. Ensure another container is not using it or delete {cidfile}")
    cfg.create_command, cfg.create_command_tail = list(sys.argv), 1 + len(a.command)
    if cfg.image:
        from .registry import image_for_run

        image_for_run(engine, a)
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
            self.ctr.runtime.kill_container(self.ctr, signum)
        except PypodError:
            pass  # the container is gone: nothing left to signal

    def __enter__(self):
        if self.enabled:
            import _signal  # signal's own would build its enums (~2 ms of every run)

            for name in self.SIGNALS:
                num = getattr(_signal, name)
                self.saved[num] = _signal.signal(num, self._forward)
        return self

    def __exit__(self, *exc) -> None:
        import _signal

        for num, old in self.saved.items():
            _signal.signal(num, old)


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
    return after_attach(ctr, code)


def after_attach(ctr, code: int | None) -> int:
    """The exit code of an attached command: 0 when the user detached, else
    the container's, once its leftovers are cleaned up."""
    if code is None:
        return 0
    try:
        ctr.cleanup()
    except PypodError:
        pass  # conmon's exit command got there first
    return code


def add_top_args(p) -> None:
    from .args import REMAINDER

    p.add_argument("-l", "--latest", action="store_true", help="act on the latest container")
    p.add_argument("container", nargs="?", default="")
    p.add_argument("descriptors", nargs=REMAINDER, metavar="DESCRIPTORS",
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
