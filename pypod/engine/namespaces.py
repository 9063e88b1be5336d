"""A container's namespaces and /etc files, decided when it is created in the
runtime, undone when it is cleaned up.

Network modes (ContainerConfig.network):
  bridge         a namespace pypod makes and netavark wires (network/sandbox.py)
  none           a namespace of the runtime's own: loopback only
  host           the host's network (and UTS) namespace
  container:ID   another running container's network namespace, /etc/hosts
                 and resolv.conf
  ns:PATH        the network namespace at PATH
  pod            the pod infra container's; with it, whatever else the pod
                 shares (ipc, uts, pid, cgroup) and its /etc files

Only bridge mode touches the network package: the other modes cost what a
plain container always did.
"""

from __future__ import annotations

import os

from ..errors import InvalidArgument, InvalidState
from ..record import field, record

ETC_FILES = (("/etc/hosts", "hosts"), ("/etc/resolv.conf", "resolv.conf"), ("/etc/hostname", "hostname"))


@record
class Plan:
    #: namespace type -> path to join
    paths: dict[str, str] = field(default_factory=dict)
    #: container path -> host file bind-mounted there
    etc_files: dict[str, str] = field(default_factory=dict)
    #: what the container's HOSTNAME is
    hostname: str = ""
    #: netavark at work (bridge mode)
    pending: object = None

    def held_fds(self) -> list[int]:
        return [s.fileno() for s in getattr(self.pending, "held", [])]

    def close_held(self) -> None:
        if self.pending is not None:
            self.pending.close_held()


def resolve_mode(engine, cfg) -> None:
    """At create: the default mode made explicit, targets looked up."""
    mode = cfg.network or engine.config.network.netns or default_mode(engine)
    if mode == "private":
        mode = "bridge"  # podman's meaning for root: a namespace on the default network
    from ..network import usernet

    user_mode = usernet.is_usernet(mode)
    if user_mode:
        usernet.check(mode)
    if mode.startswith("container:"):
        try:
            target = engine.container(mode.partition(":")[2])
        except Exception as e:
            from ..errors import NoSuchContainer

            if isinstance(e, NoSuchContainer):
                raise NoSuchContainer(f"looking up container to share net namespace with: {e}") from None
            raise
        mode = f"container:{target.id}"
    elif mode.startswith("ns:"):
        path = mode[3:]
        if not os.path.exists(path):
            raise InvalidArgument(f"network namespace {path} does not exist: no such file or directory")
    elif mode not in ("bridge", "none", "host", "pod") and not user_mode:
        raise InvalidArgument(f"invalid network mode {mode!r}")
    n = cfg.networking
    if mode != "bridge":
        for what, value in (("--ip", any(a.static_ips for a in n.networks.values())),
                            ("--mac-address", any(a.static_mac for a in n.networks.values())),
                            ("--network-alias", any(a.aliases for a in n.networks.values()))):
            if value:
                raise InvalidArgument(f"{what} can only be set when the network mode is bridge: invalid argument")
        if n.networks:
            raise InvalidArgument(f"networks can only be joined in bridge network mode, not {mode.split(':')[0]}: invalid argument")
    if user_mode:
        from ..network.ports import assign_random

        n.publish_all = False
        assign_random(n.ports)
    elif mode != "bridge":
        n.ports = []  # podman discards them the same way (the CLI warns)
        n.publish_all = False
    if mode.startswith("container:") or mode == "pod":
        if n.dns_servers or n.dns_search or n.dns_options:
            raise InvalidArgument(f"conflicting options: dns and the network mode: {mode.split(':')[0]}")
        if n.add_hosts:
            raise InvalidArgument(f"conflicting options: add-host and the network mode: {mode.split(':')[0]}")
    cfg.network = mode
    if mode == "bridge":
        from ..network import sandbox

        sandbox.finalize(engine, cfg)


def default_mode(engine) -> str:
    """podman's: a bridge for root, the rootless network command for a user."""
    from .. import rootless

    return engine.config.network.default_rootless_network_cmd if rootless.is_rootless() else "bridge"


def _running_pid(ctr, what: str) -> int:
    with ctr.locked():
        ctr.sync()
    from .container import Status

    if ctr.state.status not in (Status.RUNNING, Status.PAUSED) or not ctr.state.pid:
        raise InvalidState(f"cannot get namespace path unless container {ctr.id} is running: container is stopped")
    return ctr.state.pid


def network_path(engine, ctr) -> str:
    """Where another container joins ctr's network namespace."""
    pid = _running_pid(ctr, "network")
    from ..network.usernet import is_usernet

    if ctr.config.network == "bridge" or is_usernet(ctr.config.network):
        from ..network.sandbox import netns_path

        return netns_path(engine, ctr.id)
    if ctr.config.network == "host":
        return "/proc/1/ns/net"
    return f"/proc/{pid}/ns/net"


def prepare(ctr) -> Plan:
    """Before the runtime creates ctr: join or make its namespaces and write
    its /etc files.  Bridge mode starts netavark and returns at once."""
    eng, cfg = ctr.engine, ctr.config
    plan = Plan(hostname=cfg.hostname)
    files = {dest: os.path.join(ctr.paths.userdata, name) for dest, name in ETC_FILES}
    infra = _join_pod(ctr, plan) if cfg.pod else None
    mode = cfg.network
    from ..network import usernet

    if mode == "pod" or mode.startswith("container:"):
        target = infra if mode == "pod" else eng.container(mode.partition(":")[2])
        plan.paths["network"] = network_path(eng, target)
        plan.etc_files = {dest: os.path.join(target.paths.userdata, name) for dest, name in ETC_FILES[:2]}
        if "uts" in plan.paths:
            plan.etc_files["/etc/hostname"] = os.path.join(target.paths.userdata, "hostname")
        else:
            plan.etc_files["/etc/hostname"] = files["/etc/hostname"]
            _write(files["/etc/hostname"], plan.hostname + "\n")
        return plan
    if mode.startswith("ns:"):
        plan.paths["network"] = mode[3:]
    if mode == "bridge":
        from ..network import sandbox

        plan.pending = sandbox.setup(eng, cfg)
        plan.paths["network"] = plan.pending.netns
        status = predicted_status(eng, cfg, plan.pending.options)
    elif usernet.is_usernet(mode):
        from ..network.sandbox import netns_path

        plan.pending = usernet.setup(eng, cfg, netns_path(eng, cfg.id))
        plan.paths["network"] = plan.pending.netns
        status = usernet.status(mode)
    else:
        status = None
    if mode == "host":
        plan.hostname = os.uname().nodename
    write_etc_files(ctr, files, status)
    plan.etc_files = {d: p for d, p in files.items() if not (d == "/etc/hosts" and cfg.networking.no_hosts)}
    if "uts" in plan.paths and infra is not None:
        plan.etc_files["/etc/hostname"] = os.path.join(infra.paths.userdata, "hostname")
    return plan


def finish(ctr, plan: Plan) -> None:
    """After the runtime created ctr, before it starts: netavark done (its
    error raised), and the /etc files redone if its answer differs from
    what was foreseen."""
    if plan.pending is None:
        return
    status = plan.pending.finish()
    if status is None:
        return  # pasta: the files as written
    files = {dest: os.path.join(ctr.paths.userdata, name) for dest, name in ETC_FILES}
    write_etc_files(ctr, files, status, only_if_changed=True)


def release(ctr) -> None:
    """Undo what prepare made (bridge mode's sandbox); safe to repeat."""
    if ctr.config.network == "bridge":
        from ..network import sandbox

        sandbox.teardown(ctr.engine, ctr.id)
    else:
        from ..network import usernet

        if usernet.is_usernet(ctr.config.network):
            usernet.teardown(ctr.engine, ctr.id)


def has_sandbox(ctr) -> bool:
    return ctr.config.network == "bridge" and ctr.engine.netstore.sandbox(ctr.id) is not None


def release_removed(engine, container_id: str) -> None:
    """What a removal left to conmon's exit command (or a crash left): the
    network sandbox of a container no longer in the store, and its run dir."""
    import shutil

    from ..network import sandbox

    if engine.netstore.sandbox(container_id) is not None:
        sandbox.teardown(engine, container_id)
    if os.path.exists(sandbox.netns_path(engine, container_id)):
        from ..network import usernet

        usernet.teardown(engine, container_id)  # a user-mode network's helper and namespace
    shutil.rmtree(engine.config.container_run_dir(container_id), ignore_errors=True)


def refresh_etc_files(ctr) -> None:
    """After connect/disconnect: /etc/hosts and resolv.conf say what is now."""
    from ..network.sandbox import live

    row = live(ctr.engine, ctr.id)
    files = {dest: os.path.join(ctr.paths.userdata, name) for dest, name in ETC_FILES}
    if row is not None and os.path.exists(files["/etc/hosts"]):
        write_etc_files(ctr, files, row[2], only_if_changed=True)


# -- /etc files -------------------------------------------------------------------


def predicted_status(engine, cfg, options: dict) -> dict:
    """netavark's answer as it will be, from the addresses pypod handed out:
    the files can be written before netavark is done."""
    import ipaddress

    out = {}
    for name, per in options["networks"].items():
        info = options["network_info"][name]
        subnets = []
        for ip in per["static_ips"]:
            for s in info.get("subnets", []):
                net = ipaddress.ip_network(s["subnet"], strict=False)
                if ipaddress.ip_address(ip) in net:
                    subnets.append({"ipnet": f"{ip}/{net.prefixlen}", "gateway": s.get("gateway", "")})
        dns = info.get("dns_enabled") and info.get("driver", "bridge") == "bridge"
        out[name] = {
            "dns_search_domains": ["dns.podman"] if dns else [],
            "dns_server_ips": [s.get("gateway") for s in info.get("subnets", []) if s.get("gateway")] if dns else [],
            "interfaces": {per["interface_name"]: {"mac_address": per.get("static_mac", ""), "subnets": subnets}},
        }
    return out


def write_etc_files(ctr, files: dict[str, str], status: dict | None, only_if_changed: bool = False) -> None:
    from ..network import etcfiles

    cfg, n = ctr.config, ctr.config.networking
    host_hosts = etcfiles.read_host_file("/etc/hosts")
    host_resolv = etcfiles.read_host_file("/etc/resolv.conf")
    hostname = os.uname().nodename if cfg.network == "host" else cfg.hostname
    if cfg.network == "host":
        hosts = etcfiles.hosts_text(host_hosts, n.add_hosts, [])
        resolv = etcfiles.resolv_text(host_resolv, dns_servers=n.dns_servers, dns_search=n.dns_search,
                                      dns_options=n.dns_options, keep_loopback=True)
    elif status is not None:
        own, gateway, servers, search = [], "", [], []
        for _name, block in status.items():
            servers += block.get("dns_server_ips") or []
            search += block.get("dns_search_domains") or []
            for iface in (block.get("interfaces") or {}).values():
                for sub in iface.get("subnets") or []:
                    own.append((sub["ipnet"].split("/")[0], [hostname, cfg.name]))
                    if not gateway and sub.get("gateway") and "." in sub["gateway"]:
                        gateway = sub["gateway"]
        hosts = etcfiles.hosts_text(host_hosts, n.add_hosts, own, host_gateway=gateway)
        resolv = etcfiles.resolv_text(host_resolv, network_servers=servers, network_search=search,
                                      dns_servers=n.dns_servers, dns_search=n.dns_search, dns_options=n.dns_options)
    else:
        hosts = etcfiles.hosts_text(host_hosts, n.add_hosts, [("127.0.0.1", [hostname, cfg.name])])
        resolv = etcfiles.resolv_text(host_resolv, dns_servers=n.dns_servers, dns_search=n.dns_search,
                                      dns_options=n.dns_options)
    for dest, text in (("/etc/hosts", hosts), ("/etc/resolv.conf", resolv), ("/etc/hostname", hostname + "\n")):
        path = files[dest]
        if only_if_changed and etcfiles.read_host_file(path) == text:
            continue
        etcfiles.write_in_place(path, text)


def _write(path: str, text: str) -> None:
    from ..network.etcfiles import write_in_place

    write_in_place(path, text)


# -- pods -----------------------------------------------------------------------------


def _join_pod(ctr, plan: Plan):
    """A pod member joins what the pod shares through its infra container
    (started first if it is not running, as podman does); the infra
    container itself joins nothing.  Returns the infra container."""
    from ..errors import AlreadyInState

    eng, cfg = ctr.engine, ctr.config
    pod = eng.pods.get(cfg.pod)
    if not pod.infra_id or pod.infra_id == ctr.id:
        return None
    infra = eng.container(pod.infra_id)
    try:
        infra.start()
    except AlreadyInState:
        pass
    pid = _running_pid(infra, "pod")
    for kind in pod.share:
        if kind != "net":
            plan.paths[kind] = f"/proc/{pid}/ns/{kind}"
    if "uts" in pod.share:
        plan.hostname = infra.config.hostname
    return infra
