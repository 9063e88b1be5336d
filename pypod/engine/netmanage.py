"""Network operations the front doors share: create, remove, prune, and a
container's connect, disconnect and reload; who uses a network."""

from __future__ import annotations

from ..errors import InvalidArgument, NetworkInUse, NoSuchContainer, PypodError
from ..network.definition import Network
from ..network.netdefs import CreateRequest
from ..network.types import Attachment


def users(engine, net: Network) -> list:
    """Containers configured on the network (running or not)."""
    return [c for c in engine.containers(sync=False)
            if c.config.network == "bridge" and net.name in c.config.networking.networks]


def create(engine, req: CreateRequest) -> Network:
    net = engine.networks.create(req)
    engine.events.write("network", "create", net.id, net.name, "")
    return net


def remove(engine, ref: str, force: bool = False, timeout: int | None = None) -> Network:
    """podman's network rm: in use is an error unless forced, which removes
    the containers (and the pods whose infra container uses it) first."""
    defs = engine.networks
    net = defs.get(ref)
    if defs.is_default(net):
        raise InvalidArgument(f"default network {net.name} cannot be removed")
    with defs.lock():
        ctrs = users(engine, net)
        if ctrs and not force:
            raise NetworkInUse(f'"{net.name}" has associated containers with it. Use -f to forcibly delete containers and pods: network is being used')
        for c in ctrs:
            try:
                if c.config.pod:
                    from ..errors import NoSuchPod

                    try:
                        pod = engine.pods.get(c.config.pod)
                        if pod.infra_id == c.id:
                            pod.remove(force=True, timeout=timeout)
                            continue
                    except NoSuchPod:
                        pass
                c.remove(force=True, timeout=timeout)
            except NoSuchContainer:
                pass
        # What a crashed pypod may have left on it (addresses, sandboxes) goes too.
        from ..network import sandbox

        for cid in engine.netstore.users_of(net.name):
            sandbox.teardown(engine, cid)
        defs.remove_definition(net)
        engine.netstore.forget_network(net.name)
    engine.events.write("network", "remove", net.id, net.name, "")
    return net


def prune(engine, filters: dict[str, list[str]] | None = None) -> list[str]:
    """Networks no container uses (never the default); their names."""
    from .netfilters import matches

    used = set()
    for c in engine.containers(sync=False):
        if c.config.network == "bridge":
            used.update(c.config.networking.networks)
    out = []
    for net in engine.networks.list():
        if net.name in used or engine.networks.is_default(net):
            continue
        if filters and not matches(net, filters, engine):
            continue
        try:
            remove(engine, net.name)
        except PypodError:
            continue
        out.append(net.name)
    return out


def _bridge_container(engine, ref: str):
    ctr = engine.container(ref)
    if ctr.config.network != "bridge":
        raise InvalidArgument(f"container {ctr.id} is not in bridge network mode ({ctr.config.network}): "
                              "only bridge mode containers connect to networks")
    return ctr


def connect(engine, ctr_ref: str, net_ref: str, att: Attachment | None = None) -> None:
    """Join a network: in the configuration, and at once when running."""
    from . import namespaces
    from ..network import sandbox

    att = att or Attachment()
    net = engine.networks.get(net_ref)
    ctr = _bridge_container(engine, ctr_ref)
    with ctr.locked():
        ctr.sync()
        cfg = ctr.config
        if net.name in cfg.networking.networks:
            raise InvalidArgument(f'container {ctr.id} is already connected to network "{net.name}": network is already connected')
        sandbox._check_statics(net, att)
        used = {a.interface_name for a in cfg.networking.networks.values()}
        att.interface_name = att.interface_name or next(f"eth{i}" for i in range(len(used) + 1) if f"eth{i}" not in used)
        sandbox.connect_live(engine, cfg, net, att)
        cfg.networking.networks[net.name] = att
        engine.store.update_config(ctr.id, cfg.to_dict())
        namespaces.refresh_etc_files(ctr)
    engine.events.write("network", "connect", net.id, net.name, "", container=ctr.id)


def disconnect(engine, ctr_ref: str, net_ref: str, force: bool = False) -> None:
    from . import namespaces
    from ..network import sandbox

    net = engine.networks.get(net_ref)
    ctr = _bridge_container(engine, ctr_ref)
    with ctr.locked():
        ctr.sync()
        cfg = ctr.config
        if net.name not in cfg.networking.networks:
            raise InvalidArgument(f"container {ctr.id} is not connected to network {net.name}: network is not connected")
        sandbox.disconnect_live(engine, cfg, net.name)
        del cfg.networking.networks[net.name]
        engine.store.update_config(ctr.id, cfg.to_dict())
        namespaces.refresh_etc_files(ctr)
    engine.events.write("network", "disconnect", net.id, net.name, "", container=ctr.id)


def reload(engine, ctr) -> bool:
    """Firewall rules and addresses set up again for a running container."""
    from ..network import sandbox

    with ctr.locked():
        ctr.sync()
        if ctr.config.network != "bridge":
            return False
        return sandbox.reload_live(engine, ctr.config)
