"""`pypod exec`: run a process in a running container."""

from __future__ import annotations

import os
import sys

from ..errors import InvalidArgument, NoSuchUser


def add_exec_args(p) -> None:
    from .args import REMAINDER

    from ..specgen.numbers import uint_arg

    p.add_argument("-d", "--detach", action="store_true", help="run the exec session in detached mode (backgrounded)")
    p.add_argument("-i", "--interactive", action="store_true", help="keep STDIN open even if not attached")
    p.add_argument("-t", "--tty", action="store_true", help="allocate a pseudo-TTY")
    p.add_argument("-u", "--user", default="", help="sets the username or UID used and optionally the groupname or GID")
    p.add_argument("-e", "--env", action="append", default=[], help="set environment variables")
    p.add_argument("--env-file", action="append", default=[], help="read in a file of environment variables")
    p.add_argument("-w", "--workdir", default="", help="working directory inside the container")
    p.add_argument("--privileged", action="store_true", help="give the process extended Linux capabilities")
    p.add_argument("--preserve-fds", type=uint_arg("--preserve-fds"), default=0, help="pass N additional file descriptors to the process")
    p.add_argument("--detach-keys", default=None, help="select the key sequence for detaching a container")
    p.add_argument("-l", "--latest", action="store_true", help="act on the latest container pypod is aware of")
    p.add_argument("args", nargs=REMAINDER, metavar="CONTAINER COMMAND [ARG...]")


def cmd_exec(engine, a) -> int:
    from ..engine.attach import AttachStreams
    from ..engine.execs import ExecConfig
    from ..specgen.env import expand_env, read_env_file

    args = list(a.args)
    if a.latest:
        ctr = engine.latest_container()
    else:
        if not args:
            raise InvalidArgument("exec requires the name or ID of a container or the --latest flag")
        ctr = engine.container(args.pop(0))
    env: list[str] = []
    for f in a.env_file:
        env += read_env_file(f)
    env += expand_env(a.env)
    if a.workdir and not a.workdir.startswith("/"):
        raise InvalidArgument(f"workdir {a.workdir!r} must be an absolute path")
    cfg = ExecConfig(
        command=args,
        terminal=a.tty,
        attach_stdin=a.interactive,
        detach_keys=a.detach_keys,
        environment=dict(e.split("=", 1) for e in env),
        privileged=a.privileged,
        user=a.user,
        workdir=a.workdir,
        preserve_fds=a.preserve_fds,
    )
    if a.detach:
        cfg.attach_stdout = cfg.attach_stderr = False
        sess = ctr.exec_create(cfg)
        try:
            sess.start_detached()
        except BaseException:
            from ..engine.execs import _remove_quiet

            _remove_quiet(sess)
            raise
        print(sess.id)
        return 0
    size = None
    if a.tty and os.isatty(1):
        ts = os.get_terminal_size(1)
        size = (ts.lines, ts.columns)
    from ..engine import execs

    streams = AttachStreams(stdin=0 if a.interactive else None, stdout=1, stderr=2, detach_keys=a.detach_keys)
    try:
        code = execs.run(ctr, cfg, streams, size=size)
    except NoSuchUser as e:
        # podman's exec answers an unknown user with 255 (its run with 126)
        print(f"Error: {e}", file=sys.stderr)
        return 255
    sys.stdout.flush()
    return 0 if code is None else code
