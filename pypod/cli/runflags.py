"""The flags of `run` and `create`, and the ContainerConfig they make.

Flags are grouped in the help by what they are about.  The parsing shared
with the REST service (security options, sizes, volumes, environment)
lives in pypod/specgen/; this module only maps argparse's result onto it.
"""

from __future__ import annotations

import json

from ..engine.container import ContainerConfig
from ..errors import InvalidArgument


def add_create_flags(p) -> None:
    from .args import REMAINDER

    from ..specgen.numbers import uint_arg

    p.usage = f"{p.prog} [options] IMAGE [COMMAND [ARG...]]"
    g = p.add_argument_group("process")
    g.add_argument("-i", "--interactive", action="store_true", help="keep STDIN open even if not attached")
    g.add_argument("-t", "--tty", action="store_true", help="allocate a pseudo-TTY")
    g.add_argument("--entrypoint", default=None, help="replace the image's ENTRYPOINT (a string, or a JSON list)")
    g.add_argument("-e", "--env", action="append", default=[], help="set an environment variable (NAME=VALUE, NAME, or NAME*)")
    g.add_argument("--env-file", action="append", default=[], help="read environment variables from a file")
    g.add_argument("-w", "--workdir", default="", help="working directory inside the container")
    g.add_argument("-u", "--user", default="", help="user to run as: NAME|UID[:GROUP|GID]")
    g.add_argument("--group-add", action="append", default=[], help="add a supplementary group")
    g.add_argument("--stop-signal", default=None, help="signal that stops the container (default SIGTERM)")
    g.add_argument("--stop-timeout", type=uint_arg("--stop-timeout"), default=None, help="seconds to wait for a stop before SIGKILL")
    g.add_argument("--secret", action="append", default=[], help="add a secret: NAME[,type=env][,target=VAR]")

    g = p.add_argument_group("identity and metadata")
    g.add_argument("--name", default="", help="assign a name to the container")
    g.add_argument("-h", "--hostname", default="", help="set the container's hostname")
    g.add_argument("-l", "--label", action="append", default=[], help="set metadata on the container (KEY=VALUE)")
    g.add_argument("--replace", action="store_true", help="remove a container of the same name first")
    g.add_argument("--rm", action="store_true", help="remove the container when it exits")

    g = p.add_argument_group("security")
    g.add_argument("--privileged", action="store_true", help="give the container every capability, device and path")
    g.add_argument("--cap-add", action="append", default=[], help="add a capability (or ALL)")
    g.add_argument("--cap-drop", action="append", default=[], help="drop a capability (or ALL)")
    g.add_argument("--security-opt", action="append", default=[], metavar="OPT",
                   help="seccomp=PATH|unconfined, no-new-privileges, apparmor=P, label=..., mask=PATHS, unmask=PATHS|ALL, proc-opts=OPTS")
    g.add_argument("--read-only", action="store_true", help="make the container's root filesystem read-only")
    g.add_argument("--ulimit", action="append", default=[], help="resource limit: NAME=SOFT[:HARD]")

    g = p.add_argument_group("storage and network")
    from .mountflags import add_mount_flags

    add_mount_flags(g)
    g.add_argument("--rootfs", action="store_true", help="the first argument is an exploded rootfs directory, not an image")

    g = p.add_argument_group("image (pulled as --pull says)")
    from .registry import add_run_pull_flags

    add_run_pull_flags(g)

    g = p.add_argument_group("network and pods")
    from .netflags import add_network_flags

    add_network_flags(g)

    g = p.add_argument_group("logging and attaching")
    g.add_argument("--log-driver", default="k8s-file", choices=("k8s-file", "journald", "none"), help="logging driver")
    g.add_argument("--log-opt", action="append", default=[], help="logging options: max-size=N, tag=T")
    g.add_argument("--detach-keys", default=None, help="key sequence for detaching (default ctrl-p,ctrl-q)")

    p.add_argument("--help", action="help", help="show this help message and exit")
    p.add_argument("image", help="image or, with --rootfs, directory")
    p.add_argument("command", nargs=REMAINDER, help="command and arguments")


def config_from_args(a) -> ContainerConfig:
    from ..proto.oci_spec import normalize_cap, parse_ulimit
    from ..proto.signals import parse_signal
    from ..specgen.env import expand_env, read_env_file
    from ..specgen.security import parse_security_opts
    from ..specgen.units import parse_size
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
        env += read_env_file(f)
    env += expand_env(a.env)
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
        cfg.stop_timeout = a.stop_timeout
    cfg.tty = a.tty
    cfg.stdin = a.interactive
    cfg.privileged = a.privileged
    cfg.cap_add = list(a.cap_add)
    cfg.cap_drop = list(a.cap_drop)
    for c in (*cfg.cap_add, *cfg.cap_drop):
        normalize_cap(c)
    cfg.security = parse_security_opts(a.security_opt)
    cfg.read_only = a.read_only
    from .netflags import apply_network_flags, pod_ref

    apply_network_flags(cfg, a)
    cfg.pod = pod_ref(a)
    from .mountflags import apply_mount_flags

    apply_mount_flags(a, cfg)
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
