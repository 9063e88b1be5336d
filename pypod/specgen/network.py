"""A container's network request, from the CLI's flags or a REST body, made
into ContainerConfig.network (the mode) and .networking, with podman's
checks of combinations."""

from __future__ import annotations

from ..errors import InvalidArgument
from ..network import specs
from ..network.types import Attachment, Networking


def build_networking(*, network: list[str] = (), ip: str = "", ip6: str = "", mac: str = "", aliases: list[str] = (),
                     publish: list[str] = (), expose: list[str] = (), publish_all: bool = False,
                     dns: list[str] = (), dns_search: list[str] = (), dns_option: list[str] = (),
                     add_host: list[str] = (), no_hosts: bool = False) -> tuple[str, Networking]:
    """(mode, Networking); mode "" is the engine's default.  A key "" in
    networks stands for the default network until the engine names it."""
    mode, networks = specs.parse_network_flag(list(network))
    n = Networking(networks=networks)
    statics = [specs.check_ip(x) for x in (ip, ip6) if x]
    mac = specs.check_mac(mac) if mac else ""
    if statics or mac or aliases:
        if mode not in ("", "bridge"):
            what = "--ip" if statics else "--mac-address" if mac else "--network-alias"
            raise InvalidArgument(f"{what} can only be set when the network mode is bridge: invalid argument")
        if len(networks) > 1 and (statics or mac):
            raise InvalidArgument("--ip, --ip6 and --mac-address can only be set for a single network: invalid argument")
        target = next(iter(networks.values())) if networks else n.networks.setdefault("", Attachment())
        target.static_ips += statics
        target.static_mac = mac or target.static_mac
        for att in (networks.values() if networks else [target]):
            att.aliases += [a for a in aliases if a not in att.aliases]
    for spec in publish:
        n.ports += specs.parse_publish(spec)
    for spec in expose:
        n.expose += [e for e in specs.parse_expose(spec) if e not in n.expose]
    n.publish_all = bool(publish_all)
    n.dns_servers = [specs.check_ip(s) for s in dns]
    n.dns_search = list(dns_search)
    n.dns_options = list(dns_option)
    if no_hosts and add_host:
        raise InvalidArgument("--no-hosts and --add-host cannot be set together")
    n.add_hosts = [specs.parse_add_host(h) for h in add_host]
    n.no_hosts = bool(no_hosts)
    return mode, n
