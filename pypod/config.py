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
STORAGE_OPTS = ("overlay.mountopt",)
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


def load_config(path: str | None = None, **overrides) -> EngineConfig:
    """Build the config from the file (if any) and explicit overrides (None = unset)."""
    from .errors import InvalidArgument

    cfg = EngineConfig()
    path = path or os.environ.get("PYPOD_CONFIG") or DEFAULT_CONFIG_FILE
    if os.path.exists(path):
        import tomllib

        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise InvalidArgument(f"reading config file {path}: {e}") from None
        section = dict(data.get("engine", data))
        registries = data.get("registries", {}) if "engine" in data else section.pop("registries", {})
        unknown = set(section) - _FILE_KEYS
        if unknown:
            raise InvalidArgument(f"config file {path}: unknown keys {', '.join(sorted(unknown))}")
        cfg = replace(cfg, **section, registries=_registries_config(registries, path))
    set_now = {k: v for k, v in overrides.items() if v is not None}
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

