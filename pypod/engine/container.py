"""A container's configuration (fixed at create) and state (changes as it runs)."""

from __future__ import annotations

import os
from ..record import asdict, field, fields, record

from .health import HealthConfig
from .namespace_config import NamespaceConfig
from .process import ProcessOptions
from .record import Record
from .resources import Resources
from .restart import RestartPolicy
from .security import SecurityConfig

from ..network.types import Networking
from .status import Status


@record
class Mount:
    destination: str
    source: str = ""
    type: str = "bind"
    options: list[str] = field(default_factory=list)


@record
class FilesystemOptions(Record):
    """How the container's filesystem is put together beyond its mounts list
    (kept as asked, for inspect and for recreating the container)."""

    #: --volumes-from as given, "CTR[:OPTIONS]"; their mounts are copied into mounts at create
    volumes_from: list[str] = field(default_factory=list)
    #: what an image's VOLUME becomes: "bind" (an anonymous volume), "tmpfs" or "ignore"
    image_volume: str = "bind"
    #: with read_only: tmpfs on /run, /tmp and /var/tmp
    read_only_tmpfs: bool = True


@record
class ContainerConfig:
    id: str = ""
    name: str = ""
    #: the reference the user gave, and what it resolved to ("" with rootfs)
    image: str = ""
    image_id: str = ""
    #: the image's name the reference was found by ("busybox" finds
    #: localhost/busybox:latest), by id its first name: what podman shows
    image_name: str = ""
    #: a plain directory to run instead of an image (--rootfs)
    rootfs: str = ""
    command: list[str] = field(default_factory=list)
    entrypoint: list[str] = field(default_factory=list)
    env: list[str] = field(default_factory=list)
    workdir: str = ""
    user: str = ""
    groups: list[str] = field(default_factory=list)
    hostname: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    stop_signal: int = 15
    stop_timeout: int = 10
    tty: bool = False
    stdin: bool = False
    privileged: bool = False
    cap_add: list[str] = field(default_factory=list)
    cap_drop: list[str] = field(default_factory=list)
    read_only: bool = False
    #: network mode: "bridge" (networks in .networking), "none" (own netns,
    #: loopback only), "host", "container:ID", "ns:PATH"; "" = the engine's default
    network: str = ""
    networking: Networking = field(default_factory=Networking)
    #: the pod's ID, for a container in a pod (its infra container's too)
    pod: str = ""
    mounts: list[Mount] = field(default_factory=list)
    fs: FilesystemOptions = field(default_factory=FilesystemOptions)
    #: (name, soft, hard), e.g. ("nofile", 1024, 2048)
    ulimits: list[tuple[str, int, int]] = field(default_factory=list)
    auto_remove: bool = False
    log_driver: str = "k8s-file"
    log_path: str = ""
    log_tag: str = ""
    log_size_max: int = -1
    #: secrets exposed as environment variables: (secret name, env name)
    secrets: list[tuple[str, str]] = field(default_factory=list)
    created: float = 0.0
    #: IDs of containers this one needs (--requires, a namespace joined from
    #: another container): `rm` refuses to take them away first, `rm --depend`
    #: removes this one with them
    depends_on: list[str] = field(default_factory=list)
    #: libpod namespace it was made in (--namespace); "" = none
    namespace: str = ""
    #: the OCI runtime it was made with (--runtime, `system migrate --new-runtime`); "" = the engine's
    runtime: str = ""
    #: the command line that made it (podman's CreateCommand), and how many of
    #: its last words are the image and the command (`generate systemd --new`)
    create_command: list[str] = field(default_factory=list)
    create_command_tail: int = 0
    security: SecurityConfig = field(default_factory=SecurityConfig)
    resources: Resources = field(default_factory=Resources)
    namespaces: NamespaceConfig = field(default_factory=NamespaceConfig)
    process: ProcessOptions = field(default_factory=ProcessOptions)
    restart: RestartPolicy = field(default_factory=RestartPolicy)
    health: HealthConfig = field(default_factory=HealthConfig)

    #: fields that hold a typed part of their own (engine/record.py's Record)
    NESTED = {"security": SecurityConfig, "fs": FilesystemOptions, "resources": Resources, "namespaces": NamespaceConfig,
              "process": ProcessOptions, "restart": RestartPolicy, "health": HealthConfig, "networking": Networking}

    @property
    def args(self) -> list[str]:
        return [*self.entrypoint, *self.command]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ContainerConfig":
        known = {f.name for f in fields(cls)}
        cfg = cls(**{k: v for k, v in d.items() if k in known})
        for name, kind in cls.NESTED.items():
            setattr(cfg, name, kind.from_dict(getattr(cfg, name)))
        cfg.mounts = [Mount(**m) if isinstance(m, dict) else m for m in cfg.mounts]
        cfg.ulimits = [tuple(u) for u in cfg.ulimits]
        cfg.secrets = [tuple(s) for s in cfg.secrets]
        return cfg


class StateRecord:
    """JSON round trip for a state dataclass whose `status` is a str enum."""

    def to_dict(self) -> dict:
        d = asdict(self)
        d["status"] = self.status.value
        return d

    @classmethod
    def from_dict(cls, d: dict):
        known = {f.name for f in fields(cls)}
        st = cls(**{k: v for k, v in d.items() if k in known})
        st.status = type(cls.status)(st.status)
        return st


@record
class ContainerState(StateRecord):
    status: Status = Status.CONFIGURED
    pid: int = 0
    conmon_pid: int = 0
    exit_code: int = 0
    oom_killed: bool = False
    #: unix times (float); 0 = never
    started_at: float = 0.0
    finished_at: float = 0.0
    mountpoint: str = ""
    #: set when the last runtime error left the container unusable
    error: str = ""
    restart_count: int = 0
    #: a user's stop ended the process: no restart policy applies
    stopped_by_user: bool = False
    #: the pypod process waiting for a stop to finish (state 'stopping')
    stopping_pid: int = 0
    #: `pypod mount`s not yet undone: the rootfs stays mounted after the process stops
    user_mounts: int = 0


@record
class ContainerPaths:
    """Where a container's files live; derived, never stored."""

    #: persistent: bundle (config.json), logs, hosts files, conmon pid file
    userdata: str
    #: volatile: runtime files under the run root (attach sockets live elsewhere)
    run_dir: str
    #: the container's log file when --log-opt path= chose one
    log_file: str = ""

    @property
    def bundle(self) -> str:
        return self.userdata

    @property
    def spec_file(self) -> str:
        return os.path.join(self.userdata, "config.json")

    @property
    def log(self) -> str:
        return self.log_file or os.path.join(self.userdata, "ctr.log")

    @property
    def pidfile(self) -> str:
        return os.path.join(self.run_dir, "pidfile")

    @property
    def conmon_pidfile(self) -> str:
        return os.path.join(self.run_dir, "conmon.pid")

    @property
    def oci_log(self) -> str:
        return os.path.join(self.run_dir, "oci-log")

    @property
    def persist_dir(self) -> str:
        """conmon's --persist-dir: where it writes the exit and oom markers."""
        return os.path.join(self.run_dir, "persist")

    @property
    def ctl(self) -> str:
        return os.path.join(self.userdata, "ctl")


def status_text(st: ContainerState, now: float) -> str:
    """The STATUS column of `ps` and Docker's Status field: "Up 5 minutes",
    "Exited (0) 2 hours ago"."""
    from ..proto.humanize import human_ago, human_duration

    if st.status == Status.RUNNING:
        return f"Up {human_duration(now - st.started_at)}"
    if st.status == Status.PAUSED:
        return "Paused"
    if st.status in (Status.STOPPED, Status.EXITED) or (st.status == Status.CONFIGURED and st.finished_at):
        return f"Exited ({st.exit_code}) {human_ago(now - st.finished_at)}"
    if st.status == Status.REMOVING:
        return "Removing"
    if st.status == Status.STOPPING:
        return "Stopping"
    return "Created"
