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


# -- the REST bodies ------------------------------------------------------------------


def _strs(v, what: str) -> list[str]:
    if v is None:
        return []
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise InvalidArgument(f"{what} must be a list of strings")
    return list(v)


def _obj(v, what: str) -> dict:
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise InvalidArgument(f"{what} must be an object")
    return v


def from_docker(body: dict, hc: dict) -> tuple[str, Networking]:
    """Docker's container create body: HostConfig.NetworkMode, PortBindings,
    PublishAllPorts, Dns*, ExtraHosts; ExposedPorts, MacAddress and
    NetworkingConfig.EndpointsConfig (aliases, static addresses).  Docker's
    network "bridge" is the default network."""
    mode_text = hc.get("NetworkMode") or "default"
    if not isinstance(mode_text, str):
        raise InvalidArgument("HostConfig.NetworkMode must be a string")
    endpoints = _obj(_obj(body.get("NetworkingConfig"), "NetworkingConfig").get("EndpointsConfig"),
                     "NetworkingConfig.EndpointsConfig")
    networks: dict[str, Attachment] = {}
    if mode_text in ("default", "bridge", "private", "podman"):
        mode = "" if mode_text == "default" else "bridge"
    elif mode_text in ("none", "host") or mode_text.startswith(("container:", "ns:")):
        mode = mode_text
    else:
        mode, networks = "bridge", {mode_text: Attachment()}
    for name, ep in endpoints.items():
        ep = _obj(ep, f"EndpointsConfig.{name}")
        # "": the default network, named when the container is created
        key = "" if name in ("bridge", "default") else name
        if mode not in ("", "bridge"):
            continue  # Docker ignores endpoints of a non-bridge mode
        if not key and not any(ep.get(k) for k in ("Aliases", "IPAMConfig", "MacAddress")):
            continue  # the docker CLI names the default mode's endpoint, with nothing in it
        if mode == "" and not networks:
            mode = "bridge"
        att = networks.setdefault(key, Attachment())
        att.aliases += [a for a in _strs(ep.get("Aliases"), "Aliases") if a not in att.aliases]
        ipam = _obj(ep.get("IPAMConfig"), "IPAMConfig")
        for k in ("IPv4Address", "IPv6Address"):
            if ipam.get(k):
                att.static_ips.append(specs.check_ip(str(ipam[k])))
        if ep.get("MacAddress"):
            att.static_mac = specs.check_mac(str(ep["MacAddress"]))
    if body.get("MacAddress"):
        target = next(iter(networks.values())) if networks else networks.setdefault("", Attachment())
        target.static_mac = specs.check_mac(str(body["MacAddress"]))
    n = Networking(networks=networks)
    for port, bindings in _obj(hc.get("PortBindings"), "HostConfig.PortBindings").items():
        cport, _, proto = port.partition("/")
        for b in bindings or [{}]:
            b = _obj(b, "PortBindings entry")
            hip, hport = str(b.get("HostIp") or ""), str(b.get("HostPort") or "")
            spec = f"{hip}:{hport}:{cport}" if hip else f"{hport}:{cport}" if hport else cport
            if ":" in hip:
                spec = f"[{hip}]:{hport}:{cport}"
            n.ports += specs.parse_publish(f"{spec}/{proto or 'tcp'}")
    for port in _obj(body.get("ExposedPorts"), "ExposedPorts"):
        n.expose += [e for e in specs.parse_expose(port) if e not in n.expose]
    n.publish_all = bool(hc.get("PublishAllPorts"))
    n.dns_servers = [specs.check_ip(s) for s in _strs(hc.get("Dns"), "HostConfig.Dns")]
    n.dns_search = _strs(hc.get("DnsSearch"), "HostConfig.DnsSearch")
    n.dns_options = _strs(hc.get("DnsOptions"), "HostConfig.DnsOptions")
    n.add_hosts = [specs.parse_add_host(h) for h in _strs(hc.get("ExtraHosts"), "HostConfig.ExtraHosts")]
    return mode, n


def from_libpod(spec: dict) -> tuple[str, Networking]:
    """podman's SpecGenerator: netns {nsmode, value}, networks, portmappings,
    expose, publish_image_ports, dns_server/search/option, hostadd."""
    netns = _obj(spec.get("netns"), "netns")
    nsmode = netns.get("nsmode") or ""
    value = netns.get("value") or ""
    if not isinstance(nsmode, str) or not isinstance(value, str):
        raise InvalidArgument("netns nsmode and value must be strings")
    modes = {"": "", "default": "", "bridge": "bridge", "private": "bridge", "none": "none", "host": "host",
             "container": f"container:{value}", "path": f"ns:{value}", "pod": ""}
    if nsmode not in modes:
        raise InvalidArgument(f"network mode {nsmode!r} is not supported: invalid argument")
    mode = modes[nsmode]
    networks: dict[str, Attachment] = {}
    for name, opts in _obj(spec.get("networks"), "networks").items():
        opts = _obj(opts, f"networks.{name}")
        networks[name] = Attachment(
            aliases=_strs(opts.get("aliases"), "aliases"),
            static_ips=[specs.check_ip(ip) for ip in _strs(opts.get("static_ips"), "static_ips")],
            static_mac=specs.check_mac(opts["static_mac"]) if opts.get("static_mac") else "",
            interface_name=str(opts.get("interface_name") or ""),
        )
    if networks and mode in ("", "bridge"):
        mode = "bridge"
    n = Networking(networks=networks)
    pms = spec.get("portmappings") or []
    if not isinstance(pms, list):
        raise InvalidArgument("portmappings must be a list")
    from ..network.types import PortMapping

    for pm in pms:
        pm = _obj(pm, "portmappings entry")
        try:
            cport, hport, rng = int(pm.get("container_port") or 0), int(pm.get("host_port") or 0), int(pm.get("range") or 1)
        except (TypeError, ValueError):
            raise InvalidArgument("portmappings ports must be numbers") from None
        if not 0 < cport <= 65535 or not 0 <= hport <= 65535 or rng < 1:
            raise InvalidArgument(f"invalid port mapping {pm}")
        for proto in str(pm.get("protocol") or "tcp").split(","):
            if proto not in specs.PROTOCOLS:
                raise InvalidArgument(f'unrecognized protocol "{proto}" in port mapping')
            n.ports.append(PortMapping(container_port=cport, host_port=hport, host_ip=str(pm.get("host_ip") or ""),
                                       range=rng, protocol=proto))
    for port, proto in _obj(spec.get("expose"), "expose").items():
        n.expose += [e for e in specs.parse_expose(f"{port}/{proto or 'tcp'}") if e not in n.expose]
    n.publish_all = bool(spec.get("publish_image_ports"))
    n.dns_servers = [specs.check_ip(s) for s in _strs(spec.get("dns_server"), "dns_server")]
    n.dns_search = _strs(spec.get("dns_search"), "dns_search")
    n.dns_options = _strs(spec.get("dns_option"), "dns_option")
    n.add_hosts = [specs.parse_add_host(h) for h in _strs(spec.get("hostadd"), "hostadd")]
    n.no_hosts = bool(spec.get("use_image_hosts"))
    return mode, n
