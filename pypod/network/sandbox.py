"""A container's bridge networking from setup to teardown.

Setup, in the order that lets a crash at any step be undone by the next
teardown (failpoints name each step):

1. addresses from IPAM (network.after-ipam)
2. the sandbox row: the namespace path and the netavark options, written
   before anything exists on the host (network.after-record)
3. the namespace, bind-mounted under RUNROOT/netns (network.after-netns)
4. the published host ports bound (held by conmon from then on)
5. `netavark setup` (network.after-setup), then its answer saved
   (network.after-status)

Teardown runs `netavark teardown` with the recorded options (network.after-
teardown), unmounts the namespace (network.after-netns-removed), then
forgets the row and frees the addresses in one transaction.  It tolerates
every piece being gone already, and when the namespace itself is gone (a
reboot, a crash mid-setup) gives netavark a fresh empty one, so it still
removes the firewall rules and DNS entries it finds.

netavark runs while pypod does other work (Pending): the caller creates the
container in the runtime meanwhile and waits before starting it.
"""

from __future__ import annotations

import os
import shutil
import sys

from ..errors import InvalidArgument, PypodError
from ..failpoints import failpoint
from . import netns
from .definition import Network
from .netavark import NetworkError
from .types import Attachment


def netns_path(engine, container_id: str) -> str:
    return os.path.join(engine.config.runroot, "netns", f"netns-{container_id}")


# -- at create: the container's networks made explicit -------------------------


def finalize(engine, cfg) -> None:
    """Bridge mode: name the networks (the default one when none is given),
    check static addresses against them, name the interfaces, and pick the
    random host ports, as podman fixes them when the container is created."""
    from .ports import assign_random

    defs = engine.networks
    wanted = cfg.networking.networks or {defs.net.default_network: Attachment()}
    resolved: dict[str, Attachment] = {}
    for ref, att in wanted.items():
        net = defs.get(ref or defs.net.default_network)
        _check_statics(net, att)
        resolved[net.name] = att
    used = {a.interface_name for a in resolved.values() if a.interface_name}
    n = 0
    for a in resolved.values():
        if not a.interface_name:
            while f"eth{n}" in used:
                n += 1
            a.interface_name = f"eth{n}"
            used.add(a.interface_name)
    cfg.networking.networks = resolved
    n = cfg.networking
    if n.publish_all:
        from .types import PortMapping

        published = {(p.protocol, p.container_port + i) for p in n.ports for i in range(p.range)}
        for exposed in n.expose:
            port, _, proto = exposed.partition("/")
            if (proto or "tcp", int(port)) not in published:
                n.ports.append(PortMapping(container_port=int(port), protocol=proto or "tcp"))
    assign_random(n.ports)


def _check_statics(net: Network, att: Attachment) -> None:
    import ipaddress

    subnets = [ipaddress.ip_network(s.subnet, strict=False) for s in net.subnets]
    for text in att.static_ips:
        ip = ipaddress.ip_address(text)
        if not any(ip in s for s in subnets):
            raise InvalidArgument(f"requested static ip {ip} not in any subnet on network {net.name}")


# -- setup ------------------------------------------------------------------------


class Pending:
    """`netavark setup` in flight; finish() waits and records its answer."""

    def __init__(self, engine, container_id: str, path: str, options: dict, call, held: list):
        self.engine = engine
        self.container_id = container_id
        self.netns = path
        self.options = options
        self.held = held
        self._call = call
        self.status: dict | None = None

    def finish(self) -> dict:
        if self.status is None:
            self.status = self._call.result()
            failpoint("network.after-setup")
            self.engine.netstore.set_status(self.container_id, self.options, self.status)
            failpoint("network.after-status")
        return self.status

    def close_held(self) -> None:
        for s in self.held:
            s.close()
        self.held = []


def options_for(cfg, networks: list[tuple[Network, Attachment]], ips: dict[str, list[str]], ports=None) -> dict:
    """netavark's NetworkOptions for the container on networks."""
    nets, info = {}, {}
    for net, att in networks:
        per = {"static_ips": ips.get(net.name, []), "aliases": [cfg.id[:12], *att.aliases],
               "interface_name": att.interface_name}
        if att.static_mac:
            per["static_mac"] = att.static_mac
        nets[net.name] = per
        info[net.name] = net.to_json()
    return {"container_id": cfg.id, "container_name": cfg.name,
            "port_mappings": [p.to_json() for p in (cfg.networking.ports if ports is None else ports)],
            "networks": nets, "network_info": info}


def attached(engine, cfg) -> list[tuple[Network, Attachment]]:
    out = []
    for name, att in cfg.networking.networks.items():
        out.append((engine.networks.get(name), att))
    return out


def setup(engine, cfg) -> Pending:
    """Steps 1-5 above, netavark left running; on any error everything done
    so far is undone before the error goes on."""
    from .ports import reserve

    for orphan in engine.netstore.orphans():
        # of removed containers whose exit command never came (conmon killed)
        teardown(engine, orphan)
        shutil.rmtree(engine.config.container_run_dir(orphan), ignore_errors=True)
    if engine.netstore.sandbox(cfg.id) is not None or engine.netstore.allocations(cfg.id):
        teardown(engine, cfg.id)  # what a crash left: gone before anything new
    networks = attached(engine, cfg)
    path = netns_path(engine, cfg.id)
    held: list = []
    try:
        ips = engine.netstore.allocate(cfg.id, networks)
        failpoint("network.after-ipam")
        ports = None
        if engine.rootless:
            # slirp4netns binds the host address; in the rootless namespace the port arrives on its own address
            from ..record import replace

            ports = [replace(p, host_ip="") for p in cfg.networking.ports]
        options = options_for(cfg, networks, ips, ports)
        engine.netstore.record_sandbox(cfg.id, path, options)
        failpoint("network.after-record")
        netns.create(path)
        failpoint("network.after-netns")
        if engine.rootless:
            from . import rootless_netns

            rootless_netns.forward(engine.config, cfg.networking.ports)  # the host's ports are slirp4netns's to hold
        else:
            held = reserve(cfg.networking.ports)
        call = engine.netavark.start("setup", path, options)
    except BaseException:
        for s in held:
            s.close()
        _undo(engine, cfg.id)
        raise
    return Pending(engine, cfg.id, path, options, call, held)


def _undo(engine, container_id: str) -> None:
    try:
        teardown(engine, container_id)
    except PypodError:
        pass


# -- teardown -----------------------------------------------------------------------


def teardown(engine, container_id: str, warn: bool = False) -> None:
    """Undo setup, whatever part of it happened; safe to repeat, and to race:
    under the network lock, only the first of two callers finds the row."""
    store = engine.netstore
    if store.sandbox(container_id) is None:
        store.drop_sandbox(container_id)  # addresses a crash left before the row
        return
    with engine.netavark.lock:
        _teardown_locked(engine, container_id, warn)


def _teardown_locked(engine, container_id: str, warn: bool) -> None:
    store = engine.netstore
    row = store.sandbox(container_id)
    if row is not None:
        path, options, status = row
        if options.get("networks"):
            made_here = False
            if not netns.is_mounted(path):
                # netavark needs a namespace to open; an empty one stands in
                # for the lost one, and the host-side rules still go.
                netns.create(path)
                made_here = True
            try:
                engine.netavark.teardown(path, options)
            except NetworkError as e:
                if status and not made_here and warn:
                    print(f"WARN: unable to clean up network for container {container_id}: {e}", file=sys.stderr)
            failpoint("network.after-teardown")
        if engine.rootless and options.get("port_mappings"):
            from . import rootless_netns
            from .types import PortMapping

            rootless_netns.unforward(engine.config, [PortMapping(**p) for p in options["port_mappings"]])
        netns.remove(path)
        failpoint("network.after-netns-removed")
    store.drop_sandbox(container_id)


# -- connect / disconnect / reload on a live sandbox ---------------------------------


def live(engine, container_id: str) -> tuple[str, dict, dict] | None:
    """(netns, options, status) of a set-up sandbox, else None."""
    row = engine.netstore.sandbox(container_id)
    if row is None or not row[2]:
        return None
    return row


def connect_live(engine, cfg, net: Network, att: Attachment) -> None:
    row = live(engine, cfg.id)
    if row is None:
        return
    path, options, status = row
    ips = engine.netstore.allocate(cfg.id, [(net, att)])
    one = options_for(cfg, [(net, att)], ips)
    merged = {**options, "networks": {**options["networks"], **one["networks"]},
              "network_info": {**options["network_info"], **one["network_info"]}}
    # Recorded first: a crash during setup leaves it for teardown to find.
    engine.netstore.set_status(cfg.id, merged, status)
    try:
        answer = engine.netavark.setup(path, one)
    except BaseException:
        try:
            engine.netavark.teardown(path, one)
        except NetworkError:
            pass
        engine.netstore.set_status(cfg.id, options, status)
        engine.netstore.free(cfg.id, net.name)
        raise
    engine.netstore.set_status(cfg.id, merged, {**status, **answer})


def disconnect_live(engine, cfg, name: str) -> None:
    row = live(engine, cfg.id)
    if row is None:
        return
    path, options, status = row
    if name not in options.get("networks", {}):
        return
    one = {**options, "networks": {name: options["networks"][name]}, "network_info": {name: options["network_info"][name]}}
    try:
        engine.netavark.teardown(path, one)
    finally:
        rest = {**options, "networks": {k: v for k, v in options["networks"].items() if k != name},
                "network_info": {k: v for k, v in options["network_info"].items() if k != name}}
        engine.netstore.set_status(cfg.id, rest, {k: v for k, v in status.items() if k != name})
        engine.netstore.free(cfg.id, name)


def reload_live(engine, cfg) -> bool:
    """Set the networks up again (firewall rules flushed by someone, ...),
    keeping the addresses; False when the container has no live sandbox."""
    row = live(engine, cfg.id)
    if row is None:
        return False
    path, options, _status = row
    try:
        engine.netavark.teardown(path, options)
    except NetworkError:
        pass
    answer = engine.netavark.setup(path, options)
    engine.netstore.set_status(cfg.id, options, answer)
    return True
