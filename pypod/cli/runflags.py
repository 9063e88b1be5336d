"""The flags of `run` and `create`, and the ContainerConfig they make.

Flags are grouped in the help by what they are about.  The parsing shared
with the REST service (security options, sizes, devices, health checks,
restart policies, environment) lives in pypod/specgen/; this module only
maps argparse's result onto it.
"""

from __future__ import annotations

from ..engine.container import ContainerConfig
from ..errors import InvalidArgument


def add_create_flags(p) -> None:
    from .args import REMAINDER, SUPPRESS

    from ..specgen.numbers import arg_type, uint_arg

    many = {"action": "append", "default": []}
    num = arg_type
    p.usage = f"{p.prog} [options] IMAGE [COMMAND [ARG...]]"

    g = p.add_argument_group("process")
    g.add_argument("-i", "--interactive", action="store_true", help="keep STDIN open even if not attached")
    g.add_argument("-t", "--tty", action="store_true", help="allocate a pseudo-TTY")
    g.add_argument("--entrypoint", default=None, metavar="CMD", help="replace the image's ENTRYPOINT (a string, or a JSON list)")
    g.add_argument("-e", "--env", **many, metavar="VAR", help="set an environment variable (NAME=VALUE, NAME, or NAME*)")
    g.add_argument("--env-file", **many, metavar="FILE", help="read environment variables from a file")
    g.add_argument("--env-host", action="store_true", help="pass this process's whole environment to the container")
    g.add_argument("--env-merge", **many, metavar="VAR", help="extend a default variable: NAME=VALUE with ${NAME}")
    g.add_argument("--unsetenv", **many, metavar="NAME", help="leave a default variable (the image's, PATH, TERM, ...) unset")
    g.add_argument("--unsetenv-all", action="store_true", help="leave every default variable unset")
    g.add_argument("--http-proxy", default="true", metavar="BOOL", help="copy the host's proxy variables in (default true)")
    g.add_argument("-w", "--workdir", default="", metavar="DIR", help="working directory inside the container")
    g.add_argument("-u", "--user", default="", help="user to run as: NAME|UID[:GROUP|GID]")
    g.add_argument("--group-add", **many, metavar="GROUP", help="add a supplementary group")
    g.add_argument("--umask", default="", help="umask of the process (default 0022)")
    g.add_argument("--init", action="store_true", help="run an init (catatonit) as PID 1 that reaps zombies and forwards signals")
    g.add_argument("--init-path", default="", metavar="PATH", help="the init binary on the host")
    g.add_argument("--systemd", default="true", choices=("true", "false", "always"),
                   help="set up for systemd as PID 1: always, or true when the command is an init")
    g.add_argument("--tz", default="", metavar="ZONE", help="time zone (Area/City, or local for the host's)")
    g.add_argument("--personality", default="", metavar="DOMAIN", help="execution domain (LINUX, LINUX32)")
    g.add_argument("--passwd", default="true", metavar="BOOL", help="add the user to /etc/passwd if the image lacks it")
    g.add_argument("--passwd-entry", default="", metavar="ENTRY", help="the /etc/passwd line to add ($USERNAME, $UID, ...)")
    g.add_argument("--hostuser", **many, metavar="USER", help="copy a host user into the container's /etc/passwd")
    g.add_argument("--chrootdirs", **many, metavar="DIR", help="a directory inside that is a chroot of its own")
    g.add_argument("--secret", **many, help="add a secret: NAME[,type=env][,target=VAR]")
    g.add_argument("--stop-signal", default=None, metavar="SIGNAL", help="signal that stops the container (default SIGTERM)")
    g.add_argument("--stop-timeout", type=uint_arg("--stop-timeout"), default=None, metavar="SECONDS", help="seconds to wait for a stop before SIGKILL")
    g.add_argument("--timeout", type=uint_arg("--timeout"), default=0, metavar="SECONDS", help="kill the container after this many seconds")
    g.add_argument("--sdnotify", default="container", choices=("container", "conmon", "ignore"),
                   help="who gets the sd_notify socket")

    g = p.add_argument_group("identity and metadata")
    g.add_argument("--name", default="", help="assign a name to the container")
    g.add_argument("-h", "--hostname", default="", help="set the container's hostname")
    g.add_argument("-l", "--label", **many, help="set metadata on the container (KEY=VALUE)")
    g.add_argument("--label-file", **many, metavar="FILE", help="read labels from a file of KEY=VALUE lines")
    g.add_argument("--annotation", **many, metavar="KEY=VALUE", help="add an annotation to the container's spec")
    g.add_argument("--cidfile", default="", metavar="FILE", help="write the container's ID to a file")
    g.add_argument("--conmon-pidfile", default="", metavar="FILE", help="write conmon's PID to a file")
    g.add_argument("--pidfile", default="", metavar="FILE", help="write the container process's PID to a file")
    g.add_argument("--requires", **many, metavar="CONTAINER", help="containers to start before this one (comma-separated)")
    g.add_argument("--replace", action="store_true", help="remove a container of the same name first")
    g.add_argument("--rm", action="store_true", help="remove the container when it exits")

    g = p.add_argument_group("security")
    g.add_argument("--privileged", action="store_true", help="give the container every capability, device and path")
    g.add_argument("--cap-add", **many, metavar="CAP", help="add a capability (or ALL)")
    g.add_argument("--cap-drop", **many, metavar="CAP", help="drop a capability (or ALL)")
    g.add_argument("--read-only", action="store_true", help="make the container's root filesystem read-only")
    add_isolation_flags(g)

    g = p.add_argument_group("resources")
    g.add_argument("--kernel-memory", default="", metavar="SIZE", help=SUPPRESS)
    g.add_argument("--oom-kill-disable", action="store_true", help="do not let the OOM killer kill the container")
    g.add_argument("--oom-score-adj", type=num("--oom-score-adj"), default=None, metavar="N", help="the process's OOM score adjustment")
    from .resourceflags import add_resource_flags

    add_resource_flags(g)
    g.add_argument("--shm-size", default="", metavar="SIZE", help="size of /dev/shm (default 64m)")
    g.add_argument("--ulimit", **many, metavar="NAME=SOFT[:HARD]", help="a resource limit of the process, or host for ours")
    g.add_argument("--cgroups", default="", choices=("enabled", "disabled", "no-conmon", "split"),
                   help="cgroup mode (default enabled)")
    g.add_argument("--cgroup-parent", default="", metavar="PATH", help="cgroup to create the container's cgroup under")
    g.add_argument("--cgroup-conf", **many, metavar="KEY=VALUE", help="a cgroup v2 file to write")

    g = p.add_argument_group("health and restarts")
    g.add_argument("--health-cmd", default=None, metavar="CMD", help="command that checks health (shell line or JSON list; none)")
    g.add_argument("--health-interval", default=None, metavar="DURATION", help="time between checks (default 30s; disable)")
    g.add_argument("--health-retries", type=uint_arg("--health-retries"), default=None, metavar="N", help="failures in a row that make it unhealthy (default 3)")
    g.add_argument("--health-start-period", default=None, metavar="DURATION", help="time to start up during which failures do not count")
    g.add_argument("--health-timeout", default=None, metavar="DURATION", help="longest a check may run (default 30s)")
    g.add_argument("--health-on-failure", default=None, choices=("none", "kill", "restart", "stop"),
                   help="what an unhealthy container gets")
    g.add_argument("--no-healthcheck", action="store_true", help="no health check, not even the image's")
    g.add_argument("--restart", default="", metavar="POLICY", help="no, on-failure[:N], always, unless-stopped")

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
    g.add_argument("--log-driver", default="k8s-file", metavar="DRIVER", help="k8s-file (default), json-file, journald, none, passthrough")
    g.add_argument("--log-opt", **many, metavar="OPT", help="max-size=SIZE, tag=TEMPLATE, path=FILE")
    g.add_argument("--detach-keys", default=None, metavar="KEYS", help="key sequence for detaching (default ctrl-p,ctrl-q)")
    g.add_argument("-a", "--attach", action="append", default=[], choices=("stdin", "stdout", "stderr"),
                   metavar="STREAM", help="attach only these streams (stdin, stdout, stderr); create: those start --attach takes")

    p.add_argument("--help", action="help", help="show this help message and exit")
    p.add_argument("image", help="image or, with --rootfs, directory")
    p.add_argument("command", nargs=REMAINDER, help="command and arguments")


#: security options, namespaces, devices and sysctls: dest -> (options, keywords);
#: run/create take them all, pod create (for its infra container) a subset
_ISOLATION: dict[str, tuple[tuple[str, ...], dict]] = {
    "security_opt": (("--security-opt",), {"action": "append", "default": [], "metavar": "OPT",
                     "help": "seccomp=PATH|unconfined, no-new-privileges, apparmor=P, label=..., mask=PATHS, unmask=PATHS|ALL, proc-opts=OPTS"}),
    "seccomp_policy": (("--seccomp-policy",), {"default": "default", "choices": ("default", "image"),
                       "help": "image: use the profile the image's io.containers.seccomp.profile label holds"}),
    "userns": (("--userns",), {"default": "", "metavar": "MODE", "help": "user namespace: host, auto[:size=N], container:ID, ns:PATH"}),
    "uidmap": (("--uidmap",), {"action": "append", "default": [], "metavar": "CID:HID:N", "help": "map container UIDs to host UIDs (a user namespace)"}),
    "gidmap": (("--gidmap",), {"action": "append", "default": [], "metavar": "CID:HID:N", "help": "map container GIDs to host GIDs"}),
    "subuidname": (("--subuidname",), {"default": "", "metavar": "NAME", "help": "map UIDs from NAME's range in /etc/subuid"}),
    "subgidname": (("--subgidname",), {"default": "", "metavar": "NAME", "help": "map GIDs from NAME's range in /etc/subgid"}),
    "ipc": (("--ipc",), {"default": "", "metavar": "MODE", "help": "IPC namespace: private, shareable, host, none, container:ID, ns:PATH"}),
    "pid": (("--pid",), {"default": "", "metavar": "MODE", "help": "PID namespace: private, host, container:ID, ns:PATH"}),
    "uts": (("--uts",), {"default": "", "metavar": "MODE", "help": "UTS namespace: private, host, container:ID, ns:PATH"}),
    "cgroupns": (("--cgroupns",), {"default": "", "metavar": "MODE", "help": "cgroup namespace: private, host, container:ID, ns:PATH"}),
    "device": (("--device",), {"action": "append", "default": [], "metavar": "HOST[:CTR][:PERM]", "help": "give the container a host device"}),
    "device_cgroup_rule": (("--device-cgroup-rule",), {"action": "append", "default": [], "metavar": "RULE",
                           "help": "allow devices by cgroup rule ('c 1:3 rwm')"}),
    "sysctl": (("--sysctl",), {"action": "append", "default": [], "metavar": "NAME=VALUE", "help": "set a namespaced kernel parameter"}),
}
#: what pod create gives its infra container
POD_ISOLATION = ("security_opt", "userns", "uidmap", "gidmap", "subuidname", "subgidname", "pid", "uts", "device", "sysctl")


def add_isolation_flags(g, names: tuple[str, ...] = tuple(_ISOLATION)) -> None:
    for name in names:
        options, kw = _ISOLATION[name]
        g.add_argument(*options, dest=name, **kw)


def apply_isolation_flags(cfg: ContainerConfig, a) -> None:
    """Security options, devices, namespaces and sysctls onto cfg; flags a
    command does not take count as not given."""
    from ..specgen.security import parse_security_opts

    for name, (_options, kw) in _ISOLATION.items():
        if not hasattr(a, name):
            setattr(a, name, list(kw["default"]) if isinstance(kw["default"], list) else kw["default"])
    _security(cfg, a, parse_security_opts)
    _namespaces(cfg, a)


def add_create_only_flags(p) -> None:
    g = p.add_argument_group("create")
    g.add_argument("--init-ctr", default="", metavar="always|once",
                   help="a pod's init container: run to completion at each pod start (always) or at the first (once)")


def add_run_only_flags(p) -> None:
    from ..specgen.numbers import uint_arg

    g = p.add_argument_group("run")
    g.add_argument("-d", "--detach", action="store_true", help="run the container in the background and print its ID")
    g.add_argument("--sig-proxy", default="true", metavar="BOOL", help="proxy received signals to the process")
    g.add_argument("--preserve-fds", type=uint_arg("--preserve-fds"), default=0, metavar="N", help="pass N more file descriptors (3 and up) to the process")
    g.add_argument("--rmi", action="store_true", help="remove the image after the container exits (with --rm)")


def parse_bool(text: str, flag: str) -> bool:
    v = text.lower()
    if v in ("true", "1", "yes", "t", ""):
        return True
    if v in ("false", "0", "no", "f"):
        return False
    raise InvalidArgument(f'invalid argument "{text}" for "{flag}" flag: strconv.ParseBool: parsing "{text}": invalid syntax')


def config_from_args(a) -> ContainerConfig:
    from ..proto.oci_spec import normalize_cap, parse_ulimit
    from ..proto.signals import parse_signal
    from ..specgen import env as envs
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
            from ..lean import json_loads

            try:
                cfg.entrypoint = json_loads(ep)
            except ValueError:
                raise InvalidArgument(f"invalid entrypoint JSON: {ep}") from None
            if not isinstance(cfg.entrypoint, list) or not all(isinstance(x, str) for x in cfg.entrypoint):
                raise InvalidArgument(f"invalid entrypoint JSON: {ep}: must be a list of strings")
        else:
            cfg.entrypoint = [ep] if ep else []
        if not cfg.entrypoint and not cfg.command:
            raise InvalidArgument("no command or entrypoint provided, and no CMD or ENTRYPOINT from image")
    env: list[str] = []
    if a.env_host:
        env += envs.host_env()
    if parse_bool(a.http_proxy, "--http-proxy"):
        env += envs.proxy_env()
    for f in a.env_file:
        env += envs.read_env_file(f)
    env += envs.expand_env(a.env)
    cfg.env = env
    cfg.workdir = a.workdir
    if cfg.workdir and not cfg.workdir.startswith("/"):
        raise InvalidArgument(f"workdir {cfg.workdir!r} must be an absolute path")
    cfg.user = a.user
    cfg.groups = list(a.group_add)
    if "keep-groups" in cfg.groups:
        raise InvalidArgument("--group-add keep-groups is only supported in rootless mode with crun")
    cfg.hostname = a.hostname
    cfg.labels = {}
    for f in a.label_file:
        cfg.labels.update(envs.read_label_file(f))
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
    cfg.read_only = a.read_only
    from .netflags import apply_network_flags, pod_ref

    apply_network_flags(cfg, a)
    cfg.pod = pod_ref(a)
    from .mountflags import apply_mount_flags

    apply_mount_flags(a, cfg)
    cfg.ulimits = _ulimits(a.ulimit, parse_ulimit)
    cfg.auto_remove = getattr(a, "rm", False)
    _secrets(cfg, a.secret)
    apply_isolation_flags(cfg, a)
    _resources(cfg, a)
    _process(cfg, a)
    _health_and_restart(cfg, a)
    _logging(cfg, a)
    return cfg


def _ulimits(items: list[str], parse_ulimit) -> list[tuple[str, int, int]]:
    out = []
    for u in items:
        if u == "host":
            from ..specgen.limits import host_ulimits

            out += host_ulimits()
        else:
            out.append(parse_ulimit(u))
    return out


def _secrets(cfg: ContainerConfig, specs: list[str]) -> None:
    for spec in specs:
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


def _security(cfg: ContainerConfig, a, parse_security_opts) -> None:
    from ..specgen.security import parse_device

    sec = parse_security_opts(a.security_opt)
    sec.seccomp_policy = a.seccomp_policy
    sec.devices = [parse_device(d) for d in a.device]
    from ..proto.oci_resources import parse_cgroup_rule

    for rule in a.device_cgroup_rule:
        parse_cgroup_rule(rule)
    sec.device_cgroup_rules = list(a.device_cgroup_rule)
    cfg.security = sec


def _namespaces(cfg: ContainerConfig, a) -> None:
    from ..specgen.namespaces import parse_id_map, parse_sysctls
    from ..specgen.limits import subordinate_map

    ns = cfg.namespaces
    ns.ipc, ns.pid, ns.uts, ns.cgroupns, ns.userns = a.ipc, a.pid, a.uts, a.cgroupns, a.userns
    for text in a.uidmap:
        ns.uid_map += parse_id_map(text, "--uidmap")
    for text in a.gidmap:
        ns.gid_map += parse_id_map(text, "--gidmap")
    if a.subuidname or a.subgidname:
        if ns.uid_map or ns.gid_map:
            raise InvalidArgument("--subuidname and --subgidname cannot be combined with --uidmap or --gidmap")
        ns.uid_map = subordinate_map("/etc/subuid", a.subuidname or a.subgidname)
        ns.gid_map = subordinate_map("/etc/subgid", a.subgidname or a.subuidname)
    ns.sysctls = parse_sysctls(a.sysctl)


def _resources(cfg: ContainerConfig, a) -> None:
    from ..specgen import resources as rs
    from ..specgen.units import parse_size

    from .resourceflags import resource_changes

    r = cfg.resources
    for key, value in resource_changes(a).items():
        setattr(r, key, value)
    if a.kernel_memory:
        r.kernel_memory = rs.parse_memory(a.kernel_memory, "kernel-memory")
    r.oom_kill_disable = a.oom_kill_disable
    r.oom_score_adj = a.oom_score_adj
    if a.shm_size:
        try:
            r.shm_size = parse_size(a.shm_size)
            if r.shm_size < 0:
                raise InvalidArgument(f"invalid size: '{a.shm_size}'")
        except InvalidArgument as e:
            raise InvalidArgument(f"unable to translate --shm-size: {e}") from None
    r.cgroups = a.cgroups
    r.cgroup_parent = a.cgroup_parent
    r.unified = rs.parse_cgroup_conf(a.cgroup_conf)
    rs.finish(r, swap_given=a.memory_swap is not None)


def _process(cfg: ContainerConfig, a) -> None:
    from ..proto.oci_spec import merge_env
    from ..specgen.env import key_values

    proc = cfg.process
    proc.init, proc.init_path = a.init, a.init_path
    proc.systemd = a.systemd
    proc.timezone = a.tz
    proc.umask = a.umask
    proc.personality = a.personality
    proc.annotations = key_values(a.annotation, "annotation")
    if a.timeout < 0:
        raise InvalidArgument("--timeout must be 0 or greater")
    proc.timeout = a.timeout
    proc.sdnotify = a.sdnotify
    proc.pidfile = _abs(a.pidfile)
    proc.conmon_pidfile = _abs(a.conmon_pidfile)
    proc.cidfile = _abs(a.cidfile)
    proc.requires = [r for item in a.requires for r in item.split(",") if r]
    proc.unsetenv = list(a.unsetenv)
    proc.unsetenv_all = a.unsetenv_all
    proc.passwd = parse_bool(a.passwd, "--passwd")
    proc.passwd_entry = a.passwd_entry
    proc.hostusers = list(a.hostuser)
    proc.chrootdirs = list(a.chrootdirs)
    proc.attach = list(dict.fromkeys(a.attach))
    init_ctr = getattr(a, "init_ctr", "")
    if init_ctr:
        if init_ctr not in ("always", "once"):
            raise InvalidArgument("init-ctr value must be 'always' or 'once'")
        if not cfg.pod:
            raise InvalidArgument("must specify pod value with init-ctr")
    proc.init_ctr = init_ctr
    merge_env([], a.env_merge)  # checked now; applied at start, over the image's defaults
    proc.env_merge = list(a.env_merge)


def _abs(path: str) -> str:
    import os

    return os.path.abspath(path) if path else ""


def _health_and_restart(cfg: ContainerConfig, a) -> None:
    from ..specgen.process import check_restart, parse_health, parse_restart

    if a.restart:
        cfg.restart = parse_restart(a.restart)
    check_restart(cfg.restart, cfg.auto_remove)
    if a.no_healthcheck:
        if a.health_cmd is not None:
            raise InvalidArgument("cannot specify both --no-healthcheck and --health-cmd")
        from ..engine.health import HealthConfig

        cfg.health = HealthConfig(test=["NONE"])
        return
    health = parse_health(a.health_cmd, a.health_interval, a.health_timeout, a.health_start_period,
                          a.health_retries, a.health_on_failure)
    if health is not None:
        cfg.health = health  # completed at create from the image's HEALTHCHECK and the defaults


def _logging(cfg: ContainerConfig, a) -> None:
    from ..specgen.process import check_log_driver, parse_log_opts
    from ..specgen.units import parse_size

    cfg.log_driver = check_log_driver(a.log_driver)
    opts = parse_log_opts(a.log_opt)
    if "max-size" in opts:
        cfg.log_size_max = parse_size(opts["max-size"])
    cfg.log_tag = opts.get("tag", "")
    cfg.log_path = opts.get("path", "")
