"""Engine configuration: defaults, the TOML file, and the global CLI flags.

Precedence, lowest first: built-in defaults, the config file
(``$PYPOD_CONFIG``, else /etc/pypod/pypod.toml), then explicit arguments.
"""

from __future__ import annotations

import os

from .record import field, record, replace

DEFAULT_ROOT = "/var/lib/pypod"
DEFAULT_RUNROOT = "/run/pypod"
DEFAULT_CONFIG_FILE = "/etc/pypod/pypod.toml"
#: podman's: hook files the distribution ships, then the administrator's
DEFAULT_HOOKS_DIRS = ("/usr/share/containers/oci/hooks.d", "/etc/containers/oci/hooks.d")

# Searched after the configured paths, before $PATH, as containers.conf does.
DEFAULT_RUNTIME_PATHS = {
    "runc": ["/usr/bin/runc", "/usr/sbin/runc", "/usr/local/bin/runc", "/usr/local/sbin/runc", "/sbin/runc"],
    "crun": ["/usr/bin/crun", "/usr/local/bin/crun"],
}
DEFAULT_CONMON_PATHS = ["/usr/libexec/podman/conmon", "/usr/local/libexec/podman/conmon", "/usr/bin/conmon", "/usr/sbin/conmon", "/usr/local/bin/conmon"]


#: podman's default_subnet_pools: where `network create` without --subnet looks
DEFAULT_SUBNET_POOLS = ({"base": "10.89.0.0/16", "size": 24}, {"base": "10.90.0.0/15", "size": 24},
                        {"base": "10.92.0.0/14", "size": 24}, {"base": "10.96.0.0/11", "size": 24},
                        {"base": "10.128.0.0/9", "size": 24})


@record(frozen=True)
class NetworkConfig:
    """containers.conf's [network] table (and [containers] netns), with two
    pypod keys (default_interface, interface_prefix) that let several pypod
    roots on one host keep their bridges apart."""

    #: the network of `--network bridge` and of containers given none
    default_network: str = "podman"
    default_subnet: str = "10.88.0.0/16"
    #: the default network's bridge
    default_interface: str = "podman0"
    #: bridges of created networks are named PREFIX0, PREFIX1, ...
    interface_prefix: str = "podman"
    default_subnet_pools: tuple = DEFAULT_SUBNET_POOLS
    #: network definitions (netavark JSON); "" = ROOT/networks
    network_config_dir: str = ""
    #: [containers] netns: the network mode of a container given none ("" = bridge, or for a
    #: rootless user default_rootless_network_cmd, as podman)
    netns: str = ""
    #: what gives a rootless container given no network its own: slirp4netns (podman 4's) or pasta (podman 5's)
    default_rootless_network_cmd: str = "slirp4netns"
    #: netavark and aardvark-dns are looked for here first
    helper_binaries_dir: tuple = ("/usr/local/libexec/podman", "/usr/local/lib/podman", "/usr/libexec/podman", "/usr/lib/podman")
    #: the netavark binary (podman's network_cmd_path); "" = found in helper_binaries_dir
    network_cmd_path: str = ""
    #: what a pod's infra container runs (podman's [engine] infra_command)
    infra_command: str = "/catatonit -P"
    dns_servers: tuple = ()
    dns_searches: tuple = ()
    dns_options: tuple = ()


#: config-file table -> the NetworkConfig keys it may set
_NETWORK_TABLES = {
    "network": {"default_network", "default_subnet", "default_interface", "interface_prefix", "default_subnet_pools",
                "default_rootless_network_cmd",
                "network_config_dir", "network_cmd_path", "helper_binaries_dir"},
    "containers": {"netns", "dns_servers", "dns_searches", "dns_options"},
    "engine": {"infra_command"},
}


@record(frozen=True)
class RegistriesConfig:
    """The `[registries]` table: where pull, push and login look for their
    files, and how they talk to registries.  Empty paths mean podman's
    (and $CONTAINERS_REGISTRIES_CONF, $REGISTRY_AUTH_FILE)."""

    #: registries.conf (v2): search registries, [[registry]], aliases; read alone when set
    registries_conf: str = ""
    #: credentials file for pull, push, login, logout
    auth_file: str = ""
    #: per-registry TLS material: <certs_dir>/HOST:PORT/{*.crt, *.cert, *.key}
    certs_dir: str = ""
    #: seconds to wait for a registry to connect or answer
    timeout: float = 30.0
    #: layers fetched at once by one pull
    parallel_downloads: int = 3
    #: bytes per PATCH of a chunked blob upload
    upload_chunk_size: int = 64 << 20


@record(frozen=True)
class EngineConfig:
    root: str = DEFAULT_ROOT
    runroot: str = DEFAULT_RUNROOT
    #: OCI runtime by name; tried first, then the others in runtime_paths
    runtime: str = "runc"
    runtime_paths: dict[str, list[str]] = field(default_factory=lambda: {k: list(v) for k, v in DEFAULT_RUNTIME_PATHS.items()})
    conmon_paths: list[str] = field(default_factory=lambda: list(DEFAULT_CONMON_PATHS))
    #: "cgroupfs" or "disabled" (no systemd runs on these machines)
    cgroup_manager: str = "cgroupfs"
    cgroup_parent: str = "/pypod_parent"
    log_level: str = "warning"
    #: bytes; -1 means unlimited (conmon's --log-size-max)
    log_size_max: int = -1
    stop_timeout: int = 10
    #: seconds conmon waits before running the exit command
    exit_command_delay: int = 0
    detach_keys: str = "ctrl-p,ctrl-q"
    #: path of the pypod program conmon calls as its exit command
    pypod_binary: str = ""
    network: NetworkConfig = field(default_factory=NetworkConfig)
    #: the config file read, if any (the exit command reads it again)
    config_file: str = ""
    #: where events go: "file" (a log under tmpdir), "none", or "journald" (where a journald runs)
    events_backend: str = "file"
    #: directories of OCI hook files (hooks spec 1.0.0), applied to every container
    hooks_dirs: tuple[str, ...] = DEFAULT_HOOKS_DIRS
    #: extra global flags for every runtime call ("debug" becomes --debug)
    runtime_flags: tuple[str, ...] = ()
    #: "overlay" (kernel overlayfs) or "vfs" (a full copy per container);
    #: "" = the one the root was first used with, else overlay
    storage_driver: str = ""
    #: driver options, "overlay.mountopt=nodev" style
    storage_opts: tuple[str, ...] = ()
    #: libpod's tmp dir: the events log lives here ("" = under the run root)
    tmpdir: str = ""
    #: libpod namespace: containers made with one are seen only with it
    namespace: str = ""
    #: where named volumes are kept ("" = under the root)
    volume_path: str = ""
    registries: RegistriesConfig = field(default_factory=RegistriesConfig)

    @property
    def db_path(self) -> str:
        return os.path.join(self.root, "pypod.db")

    @property
    def storage_dir(self) -> str:
        return os.path.join(self.root, "storage")

    @property
    def containers_dir(self) -> str:
        """Per-container persistent data (userdata: config.json, logs)."""
        return os.path.join(self.root, "containers")

    @property
    def exits_dir(self) -> str:
        return os.path.join(self.runroot, "exits")

    @property
    def sockets_dir(self) -> str:
        return os.path.join(self.runroot, "socket")

    @property
    def locks_dir(self) -> str:
        return os.path.join(self.runroot, "locks")

    def container_run_dir(self, cid: str) -> str:
        """A container's volatile files (ContainerPaths.run_dir)."""
        return os.path.join(self.runroot, "containers", cid)

    @property
    def network_config_dir(self) -> str:
        return self.network.network_config_dir or os.path.join(self.root, "networks")

    @property
    def network_run_dir(self) -> str:
        """netavark's --config (aardvark-dns's files) and the network lock."""
        return os.path.join(self.runroot, "networks")

    @property
    def events_file(self) -> str:
        return os.path.join(self.tmpdir or self.runroot, "events", "events.log")

    @property
    def volumes_dir(self) -> str:
        return self.volume_path or os.path.join(self.root, "volumes")

    @property
    def runtime_root(self) -> str:
        """The OCI runtime's own state dir (runc --root)."""
        return os.path.join(self.runroot, "runtime")


LOG_LEVELS = ("debug", "info", "warning", "error", "fatal", "panic")

_FILE_KEYS = {
    "root", "runroot", "runtime", "runtime_paths", "conmon_paths", "cgroup_manager", "cgroup_parent",
    "log_level", "log_size_max", "stop_timeout", "exit_command_delay", "detach_keys",
    "events_backend", "hooks_dirs", "runtime_flags", "storage_driver", "storage_opts", "tmpdir", "namespace",
    "volume_path",
}

EVENTS_BACKENDS = ("file", "none", "journald")
STORAGE_DRIVERS = ("overlay", "vfs")
#: the storage options pypod's drivers act on (anything else is refused, not ignored)
STORAGE_OPTS = ("overlay.mountopt", "overlay.mount_program")
JOURNAL_SOCKET = "/run/systemd/journal/socket"


def _registries_config(table, path: str) -> RegistriesConfig:
    from .errors import InvalidArgument
    from .record import fields

    if not isinstance(table, dict):
        raise InvalidArgument(f"config file {path}: [registries] must be a table")
    known = {f.name: type(f.default) for f in fields(RegistriesConfig)}
    unknown = set(table) - set(known)
    if unknown:
        raise InvalidArgument(f"config file {path}: unknown keys in [registries]: {', '.join(sorted(unknown))}")
    for k, v in table.items():
        want = (int, float) if known[k] is float else known[k]
        if isinstance(v, bool) or not isinstance(v, want):
            raise InvalidArgument(f"config file {path}: [registries] {k} must be a {known[k].__name__}")
    cfg = RegistriesConfig(**table)
    if cfg.timeout <= 0 or cfg.parallel_downloads < 1 or cfg.upload_chunk_size < 1:
        raise InvalidArgument(f"config file {path}: [registries] timeout, parallel_downloads and upload_chunk_size must be positive")
    return cfg


def _read_config_file(path: str) -> dict:
    """TOML; or JSON, with the same tables, for a file named *.json: every
    command reads the config, and tomllib's import alone costs one ~9 ms."""
    from .errors import InvalidArgument

    if path.endswith(".json"):
        from .lean import json_loads  # json's parser without json's imports (re, enum)

        try:
            with open(path, "rb") as f:
                data = json_loads(f.read())
        except (OSError, ValueError) as e:
            raise InvalidArgument(f"reading config file {path}: {e}") from None
        if not isinstance(data, dict):
            raise InvalidArgument(f"reading config file {path}: not an object of tables")
        return data
    import tomllib

    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise InvalidArgument(f"reading config file {path}: {e}") from None


def load_config(path: str | None = None, **overrides) -> EngineConfig:
    """Build the config from the file (if any) and explicit overrides (None = unset)."""
    from .errors import InvalidArgument

    cfg = EngineConfig()
    rootless = _rootless_defaults()
    if rootless:
        cfg = replace(cfg, **rootless)
    path = path or os.environ.get("PYPOD_CONFIG") or (rootless and _user_config_file()) or DEFAULT_CONFIG_FILE
    if os.path.exists(path):
        data = _read_config_file(path)
        if rootless and path == DEFAULT_CONFIG_FILE:
            # the system's file is root's: its paths are not this user's to use
            for table in (data, data.get("engine") if isinstance(data.get("engine"), dict) else {}):
                for key in ("root", "runroot", "tmpdir", "volume_path"):
                    table.pop(key, None)
        tables = {k: data.pop(k) for k in ("network", "containers") if isinstance(data.get(k), dict)}
        section = dict(data.get("engine", data))
        registries = data.get("registries", {}) if "engine" in data else section.pop("registries", {})
        net = {k: section.pop(k) for k in _NETWORK_TABLES["engine"] if k in section}
        for table, keys in _NETWORK_TABLES.items():
            if table == "engine":
                continue
            values = tables.get(table, {})
            unknown = set(values) - keys
            if unknown:
                raise InvalidArgument(f"config file {path}: unknown keys in [{table}]: {', '.join(sorted(unknown))}")
            net.update(values)
        unknown = set(section) - _FILE_KEYS
        if unknown:
            raise InvalidArgument(f"config file {path}: unknown keys {', '.join(sorted(unknown))}")
        net = {k: tuple(v) if isinstance(v, list) else v for k, v in net.items()}
        cfg = replace(cfg, **section, network=replace(cfg.network, **net), config_file=path,
                      registries=_registries_config(registries, path))
    set_now = {k: v for k, v in overrides.items() if v is not None}
    net_now = {k: set_now.pop(k) for k in ("network_config_dir", "network_cmd_path") if k in set_now}
    if net_now:
        set_now["network"] = replace(cfg.network, **net_now)
    if set_now:
        cfg = replace(cfg, **set_now)
    if cfg.log_level not in LOG_LEVELS:
        raise InvalidArgument(f"unable to parse log level {cfg.log_level!r}: choose one of {', '.join(LOG_LEVELS)}")
    if cfg.cgroup_manager not in ("cgroupfs", "disabled"):
        raise InvalidArgument(f"invalid cgroup manager {cfg.cgroup_manager!r}: cgroupfs or disabled (no systemd runs here)")
    _check_extras(cfg)
    paths = {k: os.path.abspath(getattr(cfg, k)) for k in ("root", "runroot", "tmpdir", "volume_path")
             if getattr(cfg, k)}
    return replace(cfg, **paths, hooks_dirs=tuple(cfg.hooks_dirs), runtime_flags=tuple(cfg.runtime_flags),
                   storage_opts=tuple(cfg.storage_opts))


def _rootless_defaults() -> dict:
    """An ordinary user's defaults (pypod/rootless.py): storage and run root
    of its own, and no cgroups where only root can make them (v1)."""
    from . import rootless

    if not rootless.is_rootless():
        return {}
    root, runroot = rootless.default_dirs()
    out = {"root": root, "runroot": runroot}
    if not cgroups_v2():
        out["cgroup_manager"] = "disabled"
    return out


def _user_config_file() -> str:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    path = os.path.join(base, "pypod", "pypod.toml")
    return path if os.path.exists(path) else ""


def cgroups_v2() -> bool:
    """The unified hierarchy is the one mounted at /sys/fs/cgroup."""
    return os.path.exists("/sys/fs/cgroup/cgroup.controllers")


def _check_extras(cfg: EngineConfig) -> None:
    """What this machine cannot do is said here, once, not found out later."""
    from .errors import InvalidArgument

    if cfg.events_backend not in EVENTS_BACKENDS:
        raise InvalidArgument(f"unable to parse events backend {cfg.events_backend!r}: choose one of {', '.join(EVENTS_BACKENDS)}")
    if cfg.events_backend == "journald" and not os.path.exists(JOURNAL_SOCKET):
        raise InvalidArgument(f"the journald events backend needs a running journald, and this host has none "
                              f"({JOURNAL_SOCKET} is missing): use --events-backend file")
    if cfg.storage_driver not in ("", *STORAGE_DRIVERS):
        raise InvalidArgument(f"unknown storage driver {cfg.storage_driver!r}: choose one of {', '.join(STORAGE_DRIVERS)}")
    for opt in cfg.storage_opts:
        key = opt.partition("=")[0]
        if key not in STORAGE_OPTS:
            raise InvalidArgument(f"unsupported storage option {opt!r}: pypod acts on {', '.join(STORAGE_OPTS)}")
        if not key.startswith((cfg.storage_driver or "overlay") + "."):
            raise InvalidArgument(f"storage option {opt!r} is for another driver than {cfg.storage_driver!r}")

