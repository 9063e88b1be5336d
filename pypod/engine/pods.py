"""Pods: containers that share namespaces through an infra container.

The infra container runs catatonit (`catatonit -P`, which only waits) and
holds what the pod shares (by default, as podman: ipc, net, uts); every
other container of the pod joins those namespaces through it (see
engine/namespaces.py), and the pod's network settings (published ports,
networks, DNS) are its.  A pod's state is not stored: it is read off its
containers, with podman's rules.

The infra runs from a tiny root filesystem pypod makes once under its root
(a copy of the host's static catatonit, read-only), where podman builds a
"pause" image: no image to pull or build.
"""

from __future__ import annotations

import json
import os
import shutil
import time

from ..errors import (
    AlreadyInState,
    InvalidArgument,
    InvalidState,
    NameInUse,
    NoSuchContainer,
    NoSuchPod,
    PypodError,
)
from ..failpoints import failpoint
from ..record import asdict, field, record
from ..sqlitedb import connect
from .container import ContainerConfig, Status
from .record import Record
from .resources import Resources

SHAREABLE = ("ipc", "net", "uts", "pid", "cgroup")
DEFAULT_SHARE = ("ipc", "net", "uts")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pods (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    config TEXT NOT NULL,
    created REAL NOT NULL
);
"""


@record
class PodConfig(Record):
    id: str = ""
    name: str = ""
    created: float = 0.0
    labels: dict[str, str] = field(default_factory=dict)
    hostname: str = ""
    share: list[str] = field(default_factory=lambda: list(DEFAULT_SHARE))
    #: "" when the pod has no infra container (--infra=false)
    infra_id: str = ""
    infra: bool = True
    infra_command: list[str] = field(default_factory=list)
    infra_image: str = ""
    infra_name: str = ""
    exit_policy: str = "continue"
    create_command: list[str] = field(default_factory=list)
    #: --cgroup-parent ("" the engine's)
    cgroup_parent: str = ""
    #: the pod's own cgroup (podcgroup.py); "" for a pod made before pods had one
    cgroup_path: str = ""
    #: --share-parent: the pod's containers' cgroups go under the pod's
    share_parent: bool = True
    #: the pod cgroup's limits (pod create --memory, --cpus, ...)
    resources: Resources = field(default_factory=Resources)
    #: --infra-conmon-pidfile
    infra_conmon_pidfile: str = ""

    NESTED = {"resources": Resources}


def pod_status(statuses: list[Status]) -> str:
    """podman's pod state from its containers' states."""
    if not statuses:
        return "Created"
    running = sum(1 for s in statuses if s == Status.RUNNING)
    paused = sum(1 for s in statuses if s == Status.PAUSED)
    stopped = sum(1 for s in statuses if s in (Status.STOPPED, Status.EXITED))
    if running:
        return "Running" if running == len(statuses) else "Degraded"
    if paused == len(statuses):
        return "Paused"
    if stopped == len(statuses):
        return "Exited"
    if stopped:
        return "Stopped"
    return "Created"


def parse_share(text: str) -> list[str]:
    """--share: "ipc,net", "+pid" (added to the defaults), "none" or ""."""
    if text in ("", "none"):
        return []
    add = text.startswith("+")
    kinds = [k.strip() for k in text.lstrip("+").split(",") if k.strip()]
    for k in kinds:
        if k not in SHAREABLE:
            raise InvalidArgument(f"invalid kernel namespace to share: {k}. Options are: cgroup, ipc, net, pid, uts or none")
    return list(dict.fromkeys([*DEFAULT_SHARE, *kinds] if add else kinds))


class Pod:
    def __init__(self, engine, config: PodConfig):
        self.engine = engine
        self.config = config

    @property
    def id(self) -> str:
        return self.config.id

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def infra_id(self) -> str:
        return self.config.infra_id

    @property
    def share(self) -> list[str]:
        return self.config.share if self.config.infra_id else []

    def containers(self, sync: bool = True) -> list:
        """Its containers, the infra container first, then by creation."""
        ctrs = [c for c in self.engine.containers(sync=sync) if c.config.pod == self.id]
        ctrs.sort(key=lambda c: (c.id != self.infra_id, c.config.created))
        return ctrs

    def status(self, ctrs: list | None = None) -> str:
        return pod_status([c.state.status for c in (self.containers() if ctrs is None else ctrs)])

    # -- lifecycle: the infra container first up, last down ----------------------------

    def start(self) -> list[str]:
        """The init containers first, each run to completion (a failing one
        stops the start, as podman's does; "once" ones are removed after),
        then the others."""
        errors = []
        ctrs = self.containers()
        for c in ctrs:
            if c.config.process.init_ctr:
                self._run_init(c)
        for c in ctrs:
            if c.config.process.init_ctr:
                continue
            try:
                c.start()
            except AlreadyInState:
                continue
            except PypodError as e:
                errors.append(f"starting container {c.id}: {e}")
        self.engine.events.write("pod", "start", self.id, self.name, "")
        return errors

    def _run_init(self, c) -> None:
        try:
            c.start()
        except AlreadyInState:
            pass
        code = c.wait()
        if code != 0:
            raise PypodError(f"init container {c.id} exited with code {code}")
        if c.config.process.init_ctr == "once":
            c.remove(force=True)

    def stop(self, timeout: int | None = None) -> list[str]:
        errors = []
        for c in reversed(self.containers()):
            try:
                c.stop(timeout)
            except AlreadyInState:
                continue
            except PypodError as e:
                errors.append(f"stopping container {c.id}: {e}")
        self.engine.events.write("pod", "stop", self.id, self.name, "")
        return errors

    def kill(self, signal: int) -> list[str]:
        errors, killed = [], 0
        for c in reversed(self.containers()):
            try:
                c.kill(signal)
                killed += 1
            except PypodError as e:
                if "can only kill running" not in str(e):
                    errors.append(f"killing container {c.id}: {e}")
        if not killed and not errors:
            raise InvalidState(f"no containers in pod {self.id} are running: container state improper")
        self.engine.events.write("pod", "kill", self.id, self.name, "")
        return errors

    def pause(self) -> list[str]:
        return self._each("pause", lambda c: c.pause(), skip="not running")

    def unpause(self) -> list[str]:
        return self._each("unpause", lambda c: c.unpause(), skip="not paused")

    def _each(self, what: str, action, skip: str) -> list[str]:
        errors = []
        for c in self.containers():
            try:
                action(c)
            except PypodError as e:
                if skip not in str(e):
                    errors.append(f"{what} container {c.id}: {e}")
        self.engine.events.write("pod", what, self.id, self.name, "")
        return errors

    def remove(self, force: bool = False, timeout: int | None = None) -> None:
        """The containers (members before the infra), then the pod."""
        ctrs = self.containers()
        if not force:
            for c in ctrs:
                if c.state.status in (Status.RUNNING, Status.PAUSED):
                    raise InvalidState(
                        f"removing container {c.id} from pod {self.id}: cannot remove container {c.id} as it is "
                        f"{c.state.status.value} - running or paused containers cannot be removed without force: container state improper")
        for c in reversed(ctrs):
            try:
                c.remove(force=True, timeout=timeout)
            except NoSuchContainer:
                pass
            failpoint("podrm.after-container")
        if self.config.cgroup_path:
            from . import podcgroup

            podcgroup.remove(self.config.cgroup_path, wait=5.0)
            failpoint("podrm.after-cgroup")
        self.engine.pods.store_remove(self.id)
        failpoint("podrm.after-record")
        self.engine.events.write("pod", "remove", self.id, self.name, "")

    def top(self, ps_args: list[str] | None = None) -> tuple[list[str], list[list[str]]]:
        titles, rows = [], []
        for c in self.containers():
            if c.state.status not in (Status.RUNNING, Status.PAUSED):
                continue
            t, r = c.top(ps_args)
            titles = titles or t
            rows += r
        if not titles:
            raise InvalidState(f"pod {self.id} is not running: no running containers to show")
        return titles, rows

    def inspect(self) -> dict:
        from ..proto.humanize import rfc3339

        cfg = self.config
        ctrs = self.containers()
        infra = next((c for c in ctrs if c.id == cfg.infra_id), None)
        infra_cfg = None
        if infra is not None:
            from ..network.report import port_bindings

            n = infra.config.networking
            infra_cfg = {
                "PortBindings": port_bindings(n.ports, {}),
                "HostNetwork": infra.config.network == "host",
                "StaticIP": next((ip for a in n.networks.values() for ip in a.static_ips), ""),
                "StaticMAC": next((a.static_mac for a in n.networks.values() if a.static_mac), ""),
                "NoManageResolvConf": False,
                "DNSServer": n.dns_servers or None,
                "DNSSearch": n.dns_search or None,
                "DNSOption": n.dns_options or None,
                "NoManageHosts": n.no_hosts,
                "HostAdd": n.add_hosts or None,
                "Networks": list(n.networks),
                "NetworkOptions": None,
                **_limits_shown(cfg.resources, ("cpu_period", "cpu_quota", "cpuset_cpus")),
                "pid_ns": _ns_word(infra.config.namespaces.pid),
                "userns": _ns_word(infra.config.namespaces.userns, "host"),
                "uts_ns": _ns_word(infra.config.namespaces.uts),
            }
        return {
            "Id": cfg.id,
            "Name": cfg.name,
            "Created": rfc3339(cfg.created),
            "CreateCommand": cfg.create_command or None,
            "ExitPolicy": cfg.exit_policy,
            "State": self.status(ctrs),
            "Hostname": cfg.hostname,
            "Labels": cfg.labels,
            "CreateCgroup": bool(cfg.cgroup_path) and cfg.share_parent,
            "CgroupParent": cfg.cgroup_parent or self.engine.config.cgroup_parent,
            **({"CgroupPath": cfg.cgroup_path} if cfg.cgroup_path and cfg.share_parent else {}),
            "CreateInfra": bool(cfg.infra_id),
            "InfraContainerID": cfg.infra_id,
            "InfraConfig": infra_cfg,
            "SharedNamespaces": self.share or None,
            "NumContainers": len(ctrs),
            "Containers": [{"Id": c.id, "Name": c.name, "State": _state_word(c.state.status)} for c in ctrs],
            **_limits_shown(cfg.resources),
            **(_infra_shown(infra) if infra is not None else {}),
        }


def _ns_word(mode: str, default: str = "private") -> str:
    return mode or default


#: pod inspect's names of the pod cgroup's limits (shown when set, as podman)
_LIMIT_KEYS = {"cpu_period": "cpu_period", "cpu_quota": "cpu_quota", "cpu_shares": "cpu_shares",
               "cpuset_cpus": "cpuset_cpus", "cpuset_mems": "cpuset_mems", "memory": "memory_limit",
               "memory_swap": "memory_swap", "blkio_weight": "blkio_weight"}
_DEVICE_KEYS = {"blkio_weight_device": "blkio_weight_device", "device_read_bps": "device_read_bps",
                "device_write_bps": "device_write_bps"}


def _limits_shown(r: Resources, only: tuple[str, ...] = ()) -> dict:
    out = {}
    for name, key in _LIMIT_KEYS.items():
        if (not only or name in only) and getattr(r, name):
            out[key] = getattr(r, name)
    if not only:
        for name, key in _DEVICE_KEYS.items():
            items = getattr(r, name)
            if items:
                out[key] = [{"Path": d.path, "Rate" if name != "blkio_weight_device" else "Weight": d.value} for d in items]
    return out


def _infra_shown(infra) -> dict:
    """What pod create gave the infra container, under podman's keys."""
    cfg = infra.config
    out: dict = {}
    if cfg.mounts:
        out["mounts"] = [{"Type": m.type if m.type != "overlay" else "bind", "Source": m.source, "Destination": m.destination,
                          "Driver": "local" if m.type == "volume" else "", "Mode": "", "Options": list(m.options),
                          "RW": "ro" not in m.options, "Propagation": "rprivate"} for m in cfg.mounts]
    if cfg.fs.volumes_from:
        out["volumes_from"] = list(cfg.fs.volumes_from)
    if cfg.security.devices:
        out["devices"] = [{"PathOnHost": d.host_path, "PathInContainer": d.container_path,
                           "CgroupPermissions": d.permissions} for d in cfg.security.devices]
    opts = cfg.security.security_opt()
    if opts:
        out["security_opt"] = opts
    return out


#: what the infra container takes from pod create (the rest is the pod's own)
INFRA_SETTINGS = ("security", "namespaces", "mounts", "fs")


def _infra_settings_given(template: ContainerConfig) -> bool:
    blank = ContainerConfig()
    return (any(getattr(template, n) != getattr(blank, n) for n in INFRA_SETTINGS)
            or template.resources.shm_size != blank.resources.shm_size)


def _inherit_infra(cfg: ContainerConfig, infra: ContainerConfig) -> None:
    """A member gets the infra container's mounts (its volumes and what its
    --volumes-from resolved to) and devices, as podman's members inherit
    them; the member's own win where both name a destination."""
    from .container import Mount

    taken = {m.destination for m in cfg.mounts}
    cfg.mounts = [*cfg.mounts, *(Mount(**asdict(m)) for m in infra.mounts if m.destination not in taken)]
    have = {d.container_path for d in cfg.security.devices}
    cfg.security.devices = [*cfg.security.devices, *(d for d in infra.security.devices if d.container_path not in have)]


def leave_pod(engine, cfg: ContainerConfig) -> None:
    """Undo on a copy of a member's configuration what joining its pod added
    (admit and _inherit_infra), so the copy can join a pod again (clone)."""
    try:
        pod = engine.pods.get(cfg.pod)
    except NoSuchPod:
        cfg.pod = ""
        return
    if cfg.network == "pod":
        cfg.network = ""
    if pod.infra_id and cfg.namespaces.ipc == f"container:{pod.infra_id}":
        cfg.namespaces.ipc = ""
    if pod.config.cgroup_path and cfg.resources.cgroup_parent == pod.config.cgroup_path:
        cfg.resources.cgroup_parent = ""
    if pod.infra_id:
        infra = engine.container(pod.infra_id).config
        cfg.mounts = [m for m in cfg.mounts if m not in infra.mounts]
        cfg.security.devices = [d for d in cfg.security.devices if d not in infra.security.devices]


def _state_word(status: Status) -> str:
    from .inspect import status_word

    return status_word(status)


class Pods:
    """The engine's pods (engine.pods): create, look up, list."""

    def __init__(self, engine):
        self.engine = engine
        self._db = connect(engine.config.db_path, _SCHEMA, "pods")

    def close(self) -> None:
        from ..sqlitedb import close

        close(self._db, self.engine.config.db_path)

    def _pod(self, row) -> Pod:
        return Pod(self.engine, PodConfig.from_dict(json.loads(row[0])))

    def get(self, ref: str) -> Pod:
        """By name, full ID or unique ID prefix."""
        row = self._db.execute("SELECT config FROM pods WHERE id = ? OR name = ?", (ref, ref)).fetchone()
        if row is None and ref and all(c in "0123456789abcdef" for c in ref):
            rows = self._db.execute("SELECT config FROM pods WHERE substr(id, 1, ?) = ? LIMIT 2", (len(ref), ref)).fetchall()
            if len(rows) > 1:
                raise InvalidArgument(f"more than one result for pod ID {ref}")
            row = rows[0] if rows else None
        if row is None:
            raise NoSuchPod(f"no pod with name or ID {ref} found: no such pod")
        return self._pod(row)

    def list(self) -> list[Pod]:
        return [self._pod(r) for r in self._db.execute("SELECT config FROM pods ORDER BY created")]

    def store_remove(self, pod_id: str) -> None:
        self._db.execute("DELETE FROM pods WHERE id = ?", (pod_id,))

    def create(self, pc: PodConfig, network: str = "", networking=None, infra: ContainerConfig | None = None) -> Pod:
        """Record the pod, make its cgroup with its limits, and create its
        infra container (not started) with the pod's network settings and
        infra's (namespaces, security, devices, mounts, /dev/shm); on
        failure nothing is left."""
        from . import podcgroup
        from .naming import new_id, validate_name

        pc.id = new_id()
        pc.created = time.time()
        if pc.name:
            validate_name(pc.name, what="pod")
        else:
            from .naming import random_name

            pc.name = random_name()
        for kind in pc.share:
            if kind not in SHAREABLE:
                raise InvalidArgument(f"invalid kernel namespace to share: {kind}")
        if pc.infra:
            if pc.share and "net" not in pc.share and (networking is not None and (networking.ports or networking.networks)):
                raise InvalidArgument("you must share the network namespace with the infra container to publish ports or join networks")
            pc.infra_id = new_id()
        elif networking is not None and (networking.ports or networking.networks or network):
            raise InvalidArgument("you must have an infra container to publish ports or join networks")
        elif infra is not None and _infra_settings_given(infra):
            raise InvalidArgument("cannot set infra container settings (namespaces, security options, devices, volumes, "
                                  "--shm-size) on a pod without an infra container")
        else:
            pc.share = []
        from ..rootless import without_cgroups

        if without_cgroups():
            self._drop_limits(pc)  # as a rootless container's: podman's warning, no cgroup to hold them
        if podcgroup.wanted(pc.resources):
            self._check_limits(pc)  # limits without cgroups (--cgroup-manager disabled) are refused
        if self.engine.config.cgroup_manager != "disabled" and podcgroup.wanted(pc.resources):
            pc.cgroup_path = podcgroup.pod_cgroup_path(pc.cgroup_parent or self.engine.config.cgroup_parent, pc.id)
        try:
            self._db.execute("INSERT INTO pods (id, name, config, created) VALUES (?, ?, ?, ?)",
                             (pc.id, pc.name, json.dumps(asdict(pc)), pc.created))
        except Exception as e:
            if "UNIQUE" in str(e):
                raise NameInUse(f"{pc.name}: pod already exists") from None
            raise
        failpoint("pod.after-record")
        try:
            if pc.cgroup_path:
                podcgroup.create(pc.cgroup_path, pc.resources)
                failpoint("pod.after-cgroup")
            if pc.infra:
                self._create_infra(pc, network, networking, infra)
                failpoint("pod.after-infra")
        except BaseException:
            if pc.cgroup_path:
                podcgroup.remove(pc.cgroup_path)
            self.store_remove(pc.id)
            raise
        self.engine.events.write("pod", "create", pc.id, pc.name, "")
        return Pod(self.engine, pc)

    def _drop_limits(self, pc: PodConfig) -> None:
        from .podcgroup import limited

        if limited(pc.resources):
            import sys

            from ..rootless import RESOURCE_WARNING

            print(RESOURCE_WARNING, file=sys.stderr)
        pc.resources = Resources()

    def _check_limits(self, pc: PodConfig) -> None:
        """What the host cannot limit is refused as for a container."""
        from .hostcheck import check_resources

        holder = ContainerConfig()
        holder.resources = pc.resources
        check_resources(self.engine, holder)

    def _create_infra(self, pc: PodConfig, network: str, networking, template: ContainerConfig | None) -> None:
        from ..network.types import Networking

        cfg = ContainerConfig(id=pc.infra_id, name=pc.infra_name or f"{pc.id[:12]}-infra", pod=pc.id)
        if template is not None:
            for name in INFRA_SETTINGS:
                setattr(cfg, name, getattr(template, name))
            cfg.resources = Resources(shm_size=template.resources.shm_size)
        cfg.process.conmon_pidfile = pc.infra_conmon_pidfile
        if "ipc" in pc.share:
            cfg.namespaces.ipc = "shareable"  # its /dev/shm is the pod's (see _inherit_infra)
        cfg.hostname = pc.hostname or pc.name
        cfg.network = network
        cfg.networking = networking or Networking()
        cfg.labels = dict(pc.labels)
        if "uts" not in pc.share:
            cfg.hostname = ""
        if pc.infra_image:
            cfg.image = pc.infra_image
            cfg.command = list(pc.infra_command)
        else:
            cfg.rootfs = self.infra_rootfs()
            cfg.command = list(pc.infra_command) or self.engine.config.network.infra_command.split()
            cfg.read_only = True
        cfg.stop_signal = 9  # catatonit -P ignores SIGTERM: there is nothing to wait for
        cfg.stop_timeout = 0
        self.engine.create_container(cfg)

    def infra_rootfs(self) -> str:
        """ROOT/infra-rootfs: catatonit and the mount points the runtime needs,
        made once (atomically: a rename of a finished directory)."""
        root = os.path.join(self.engine.config.root, "infra-rootfs")
        if os.path.exists(os.path.join(root, "catatonit")):
            return root
        catatonit = next((p for p in ("/usr/libexec/podman/catatonit", "/usr/bin/catatonit") if os.access(p, os.X_OK)), None)
        catatonit = catatonit or shutil.which("catatonit")
        if not catatonit:
            raise PypodError("pods need catatonit for their infra container: install catatonit (scripts/setup.sh does)")
        tmp = f"{root}.{os.getpid()}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        for d in ("proc", "sys", "dev", "etc", "tmp", "run"):
            os.makedirs(os.path.join(tmp, d), mode=0o755)
        for f in ("etc/hosts", "etc/resolv.conf", "etc/hostname", "etc/passwd", "etc/group"):
            with open(os.path.join(tmp, f), "w") as fh:
                fh.write({"etc/passwd": "root:x:0:0:root:/:/catatonit\n", "etc/group": "root:x:0:\n"}.get(f, ""))
        shutil.copy2(os.path.realpath(catatonit), os.path.join(tmp, "catatonit"))
        try:
            os.rename(tmp, root)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)  # another process made it meanwhile
        return root

    def admit(self, cfg: ContainerConfig) -> None:
        """A container asks for --pod NAME|ID|new:NAME: the pod made or found,
        the container's network given to the pod when it shares one."""
        ref = cfg.pod
        if ref.startswith("new:"):
            from ..network.types import Networking

            pod = self.create(PodConfig(name=ref[4:], create_command=[]), cfg.network, cfg.networking)
            cfg.network, cfg.networking = "", Networking(expose=[])
        else:
            pod = self.get(ref)
        cfg.pod = pod.id
        if cfg.process.init_ctr and any(c.state.status in (Status.RUNNING, Status.PAUSED) for c in pod.containers()):
            raise InvalidState("cannot add init-ctr to a running pod")
        if pod.config.cgroup_path and (pod.config.share_parent or pod.infra_id == cfg.id) and not cfg.resources.cgroup_parent:
            cfg.resources.cgroup_parent = pod.config.cgroup_path
        if pod.infra_id == cfg.id:
            return
        if pod.infra_id:
            infra = self.engine.container(pod.infra_id).config
            _inherit_infra(cfg, infra)
            if "ipc" in pod.share and infra.namespaces.ipc == "shareable" and not cfg.namespaces.ipc:
                # the infra's IPC namespace and its /dev/shm, as podman's members join them
                cfg.namespaces.ipc = f"container:{pod.infra_id}"
        if "net" in pod.share:
            n = cfg.networking
            if n.ports or n.publish_all:
                raise InvalidArgument("invalid config provided: published or exposed ports must be defined when the pod is "
                                      "created: network cannot be configured when it is shared with a pod")
            if cfg.network or n.networks:
                raise InvalidArgument("invalid config provided: networks must be defined when the pod is created: "
                                      "network cannot be configured when it is shared with a pod")
            cfg.network = "pod"
            if "uts" in pod.share:
                cfg.hostname = self.engine.container(pod.infra_id).config.hostname

    def prune(self) -> list[str]:
        """Remove pods none of whose containers run (podman's pod prune)."""
        out = []
        for pod in self.list():
            ctrs = pod.containers()
            if any(c.state.status in (Status.RUNNING, Status.PAUSED) for c in ctrs):
                continue
            pod.remove(force=True)
            out.append(pod.id)
        return out


def pod_entry(pod, ctrs) -> dict:
    """One pod as `pod ps --format json` and the libpod API list it."""
    from .inspect import status_word
    from ..network.report import network_names
    from ..proto.humanize import rfc3339

    infra = next((c for c in ctrs if c.id == pod.infra_id), None)
    return {
        "Cgroup": pod.config.cgroup_parent or pod.engine.config.cgroup_parent,
        "Containers": [{"Id": c.id, "Names": c.name, "Status": status_word(c.state.status)} for c in ctrs],
        "Created": rfc3339(pod.config.created),
        "Id": pod.id,
        "InfraId": pod.infra_id,
        "Name": pod.name,
        "Namespace": "",
        "Networks": network_names(infra.config) if infra is not None else [],
        "Status": pod.status(ctrs),
        "Labels": pod.config.labels,
    }


def pod_matches(pod, entry: dict, ctrs, filters: list[str]) -> bool:
    import re

    for f in filters:
        k, sep, v = f.partition("=")
        if not sep:
            raise InvalidArgument(f"invalid filter {f!r}: filter must be key=value")
        if k == "name":
            ok = re.search(v, pod.name) is not None
        elif k == "id":
            ok = pod.id.startswith(v)
        elif k == "status":
            ok = entry["Status"].lower() == v.lower()
        elif k == "label":
            lk, lsep, lv = v.partition("=")
            ok = lk in pod.config.labels and (not lsep or pod.config.labels[lk] == lv)
        elif k == "ctr-names":
            ok = any(c.name == v for c in ctrs)
        elif k == "ctr-ids":
            ok = any(c.id.startswith(v) for c in ctrs)
        elif k == "ctr-number":
            ok = str(len(ctrs)) == v
        elif k == "ctr-status":
            ok = any(c["Status"] == v for c in entry["Containers"])
        elif k == "network":
            ok = v in entry["Networks"]
        else:
            raise InvalidArgument(f"{k} is an invalid filter")
        if not ok:
            return False
    return True
