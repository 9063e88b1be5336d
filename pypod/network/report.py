"""A container's network as inspect, ps, port and the REST APIs show it, in
podman's (and Docker's) shapes."""

from __future__ import annotations

from .types import PortMapping


def expand(ports: list[PortMapping]):
    """(container port, protocol, host ip, host port) of every port of every range."""
    for p in ports:
        for i in range(p.range):
            yield p.container_port + i, p.protocol, p.host_ip, p.host_port + i


def port_bindings(ports: list[PortMapping], expose: list[str] | dict) -> dict:
    """HostConfig.PortBindings / NetworkSettings.Ports: {"80/tcp": [{"HostIp", "HostPort"}], "7000/tcp": None}."""
    out: dict = {}
    for e in expose:
        out.setdefault(e if "/" in e else f"{e}/tcp", None)
    for cport, proto, hip, hport in expand(ports):
        key = f"{cport}/{proto}"
        if out.get(key) is None:
            out[key] = []
        out[key].append({"HostIp": hip, "HostPort": str(hport)})
    return dict(sorted(out.items(), key=lambda kv: (int(kv[0].split("/")[0]), kv[0])))


def port_lines(ports: list[PortMapping]) -> list[str]:
    """`pypod port CTR`: "80/tcp -> 0.0.0.0:8080"."""
    return [f"{c}/{proto} -> {hip or '0.0.0.0'}:{h}" for c, proto, hip, h in expand(ports)]


_EMPTY_ENDPOINT = {"EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "",
                   "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "MacAddress": ""}


def endpoint(block: dict | None) -> dict:
    """One network's addresses from netavark's answer for it."""
    ep = dict(_EMPTY_ENDPOINT)
    if not block:
        return ep
    for iface in (block.get("interfaces") or {}).values():
        ep["MacAddress"] = ep["MacAddress"] or iface.get("mac_address", "")
        for sub in iface.get("subnets") or []:
            ip, _, prefix = sub.get("ipnet", "").partition("/")
            if ":" in ip:
                if not ep["GlobalIPv6Address"]:
                    ep["GlobalIPv6Address"], ep["GlobalIPv6PrefixLen"] = ip, int(prefix or 0)
                    ep["IPv6Gateway"] = sub.get("gateway", "")
            elif not ep["IPAddress"]:
                ep["IPAddress"], ep["IPPrefixLen"] = ip, int(prefix or 0)
                ep["Gateway"] = sub.get("gateway", "")
    return ep


def network_settings(ctr, live_row=None, default_network: str = "") -> dict:
    """NetworkSettings in podman's inspect shape (Docker's field names)."""
    cfg = ctr.config
    n = cfg.networking
    path, _options, status = live_row or ("", {}, {})
    out = {**_EMPTY_ENDPOINT, "Bridge": "", "SandboxID": "", "HairpinMode": False, "LinkLocalIPv6Address": "",
           "LinkLocalIPv6PrefixLen": 0, "Ports": port_bindings(n.ports, n.expose) if status else {},
           "SandboxKey": path, "Networks": {}}
    if cfg.network == "bridge":
        for name, att in n.networks.items():
            ep = endpoint(status.get(name))
            out["Networks"][name] = {**ep, "NetworkID": name, "DriverOpts": None, "IPAMConfig": None, "Links": None,
                                     "Aliases": [cfg.id[:12], *att.aliases]}
            if name == default_network:
                out.update(ep)
    elif cfg.network in ("host", "none"):
        out["Networks"][cfg.network] = {**_EMPTY_ENDPOINT, "NetworkID": cfg.network, "DriverOpts": None,
                                        "IPAMConfig": None, "Links": None, "Aliases": None}
    return out


def network_names(cfg) -> list[str]:
    return list(cfg.networking.networks) if cfg.network == "bridge" else []
