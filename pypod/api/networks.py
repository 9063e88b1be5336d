"""/networks (Docker's shapes) and /libpod/networks (podman's: the network
is netavark's JSON), over engine/netmanage.py."""

from __future__ import annotations

from ..errors import InvalidArgument, NoSuchNetwork
from .common import strdict, with_engine
from .http import Request, Response, Router
from .validate import FILTERS, Bool, List, Map, Obj, Q, Str, Strs, validated

# What the routes read of their requests, checked before any work (api/validate.py).
_ADDR = Str(64)  # an IP address, a subnet or a MAC address; the engine parses it
_LIST_QUERY = {"filters": Q.json(FILTERS)}
_DELETE_QUERY = {"force": Q.bool(), "timeout": Q.int(0, 1 << 31)}
_DOCKER_CREATE = Obj({
    "Name": Str(253), "Driver": Str(64), "Internal": Bool(), "EnableIPv6": Bool(), "Attachable": Bool(),
    "CheckDuplicate": Bool(), "Labels": Map(Str()), "Options": Map(Str()),
    "IPAM": Obj({"Driver": Str(64), "Options": Map(Str()),
                 "Config": List(Obj({"Subnet": _ADDR, "Gateway": _ADDR, "IPRange": _ADDR}))}),
}, required=("Name",))
_LIBPOD_CREATE = Obj({
    "name": Str(253), "driver": Str(64), "internal": Bool(), "ipv6_enabled": Bool(), "dns_enabled": Bool(),
    "labels": Map(Str()), "options": Map(Str()), "network_interface": Str(15), "ipam_options": Map(Str()),
    "subnets": List(Obj({"subnet": _ADDR, "gateway": _ADDR, "lease_range": Obj({"start_ip": _ADDR, "end_ip": _ADDR})})),
})
#: Docker's {Container, EndpointConfig} and libpod's {container, aliases, ...} alike
_CONNECT = Obj({
    "Container": Str(253), "container": Str(253),
    "EndpointConfig": Obj({"Aliases": Strs(), "MacAddress": _ADDR,
                           "IPAMConfig": Obj({"IPv4Address": _ADDR, "IPv6Address": _ADDR})}),
    "aliases": Strs(), "static_ips": Strs(), "static_mac": _ADDR, "interface_name": Str(15),
})
_DISCONNECT = Obj({"Container": Str(253), "container": Str(253), "Force": Bool(), "force": Bool()})


def _filters(req: Request) -> dict[str, list[str]]:
    from .docker import _list_filters

    return _list_filters(req)


def _net_filters(raw: dict[str, list[str]]) -> dict[str, list[str]]:
    """Docker's filter keys to podman's (type=custom|builtin is handled apart)."""
    out = {}
    for k, v in raw.items():
        if k in ("name", "id", "driver", "label", "label!", "dangling", "until"):
            out[k] = v
        elif k not in ("type", "scope"):
            raise InvalidArgument(f"invalid filter {k!r}")
    return out


def _listed(eng, req: Request) -> list:
    from ..engine.netfilters import matches

    raw = _filters(req)
    f = _net_filters(raw)
    nets = [n for n in eng.networks.list() if matches(n, f, eng)]
    kinds = raw.get("type")
    if kinds:
        nets = [n for n in nets if ("builtin" if eng.networks.is_default(n) else "custom") in kinds]
    return nets


def _endpoints(eng, net) -> dict:
    """Running containers on the network, Docker's "Containers" map."""
    from ..network import report
    from ..engine.netmanage import users
    from ..network.sandbox import live

    out = {}
    for c in users(eng, net):
        row = live(eng, c.id)
        if row is None:
            continue
        ep = report.endpoint(row[2].get(net.name))
        out[c.id] = {"Name": c.name, "EndpointID": "", "MacAddress": ep["MacAddress"],
                     "IPv4Address": f"{ep['IPAddress']}/{ep['IPPrefixLen']}" if ep["IPAddress"] else "",
                     "IPv6Address": f"{ep['GlobalIPv6Address']}/{ep['GlobalIPv6PrefixLen']}" if ep["GlobalIPv6Address"] else ""}
    return out


def docker_network(eng, net, containers: bool = True) -> dict:
    return {
        "Name": net.name, "Id": net.id, "Created": net.created, "Scope": "local", "Driver": net.driver,
        "EnableIPv6": net.ipv6_enabled,
        "IPAM": {"Driver": "default", "Options": {},
                 "Config": [{"Subnet": s.subnet, "Gateway": s.gateway,
                             **({"IPRange": _range_cidr(s)} if s.lease_range else {})} for s in net.subnets]},
        "Internal": net.internal, "Attachable": False, "Ingress": False, "ConfigFrom": {"Network": ""},
        "ConfigOnly": False, "Containers": _endpoints(eng, net) if containers else {},
        "Options": dict(net.options), "Labels": dict(net.labels),
    }


def _range_cidr(s) -> str:
    import ipaddress

    start, end = ipaddress.ip_address(s.lease_range["start_ip"]), ipaddress.ip_address(s.lease_range["end_ip"])
    return str(next(ipaddress.summarize_address_range(start, end)))


# -- Docker ------------------------------------------------------------------------------


@validated(query=_LIST_QUERY)
@with_engine
def networks_list(req: Request, eng) -> Response:
    return Response(200, [docker_network(eng, n) for n in _listed(eng, req)])


@validated(query={"verbose": Q.bool(), "scope": Q.str(16)})
@with_engine
def network_inspect(req: Request, eng) -> Response:
    net = _get(eng, req.params["id"])
    return Response(200, docker_network(eng, net))


def _get(eng, ref: str):
    """Docker's name for the default network is "bridge"."""
    if ref == "bridge":
        ref = eng.config.network.default_network
    return eng.networks.get(ref)


def _request_from_docker(body: dict):
    from ..network.netdefs import CreateRequest

    name = body.get("Name")
    if not isinstance(name, str) or not name:
        raise InvalidArgument("network name is required")
    ipam = body.get("IPAM") or {}
    if not isinstance(ipam, dict):
        raise InvalidArgument("IPAM must be an object")
    req = CreateRequest(name=name, driver=str(body.get("Driver") or "bridge"), internal=bool(body.get("Internal")),
                        ipv6=bool(body.get("EnableIPv6")), labels=strdict(body.get("Labels"), "Labels"),
                        options=strdict(body.get("Options"), "Options"))
    if ipam.get("Driver") not in (None, "", "default"):
        req.ipam_driver = str(ipam["Driver"])
    for c in ipam.get("Config") or []:
        if not isinstance(c, dict):
            raise InvalidArgument("IPAM.Config entries must be objects")
        if c.get("Subnet"):
            req.subnets.append(str(c["Subnet"]))
            req.gateways.append(str(c.get("Gateway") or ""))
            if c.get("IPRange"):
                req.ip_ranges.append(str(c["IPRange"]))
    return req  # an empty gateway means the subnet's first address, as netdefs reads it


@validated(body=_DOCKER_CREATE)
@with_engine
def network_create(req: Request, eng) -> Response:
    from ..engine import netmanage as manage

    net = manage.create(eng, _request_from_docker(req.json()))
    return Response(201, {"Id": net.id, "Warning": ""})


@validated(query=_DELETE_QUERY)
@with_engine
def network_delete(req: Request, eng) -> Response:
    from ..engine import netmanage as manage

    manage.remove(eng, req.params["id"], force=req.qbool("force"))
    return Response(204)


def _endpoint_attachment(ep: dict):
    from ..network import specs
    from ..network.types import Attachment

    if not isinstance(ep, dict):
        raise InvalidArgument("EndpointConfig must be an object")
    att = Attachment(aliases=[a for a in ep.get("Aliases") or [] if isinstance(a, str)])
    ipam = ep.get("IPAMConfig") or {}
    for k in ("IPv4Address", "IPv6Address"):
        if isinstance(ipam, dict) and ipam.get(k):
            att.static_ips.append(specs.check_ip(str(ipam[k])))
    if ep.get("MacAddress"):
        att.static_mac = specs.check_mac(str(ep["MacAddress"]))
    return att


@validated(body=_CONNECT)
@with_engine
def network_connect(req: Request, eng) -> Response:
    """Docker's {Container, EndpointConfig} and libpod's {container, aliases,
    static_ips, static_mac, interface_name} bodies alike."""
    from ..network import specs
    from ..engine import netmanage as manage
    from ..network.types import Attachment

    body = req.json()
    if "Container" in body:
        ctr = body["Container"]
        att = _endpoint_attachment(body.get("EndpointConfig") or {})
    else:
        ctr = body.get("container")
        att = Attachment(aliases=list(body.get("aliases") or []),
                         static_ips=[specs.check_ip(str(ip)) for ip in body.get("static_ips") or []],
                         static_mac=specs.check_mac(body["static_mac"]) if body.get("static_mac") else "",
                         interface_name=str(body.get("interface_name") or ""))
    if not isinstance(ctr, str) or not ctr:
        raise InvalidArgument("container is required")
    net = _get(eng, req.params["id"])
    manage.connect(eng, ctr, net.name, att)
    return Response(200, b"OK", "text/plain")


@validated(body=_DISCONNECT)
@with_engine
def network_disconnect(req: Request, eng) -> Response:
    from ..engine import netmanage as manage

    body = req.json()
    ctr = body.get("Container") or body.get("container")
    if not isinstance(ctr, str) or not ctr:
        raise InvalidArgument("container is required")
    net = _get(eng, req.params["id"])
    manage.disconnect(eng, ctr, net.name, force=bool(body.get("Force") or body.get("force")))
    return Response(200, b"OK", "text/plain")


@validated(query=_LIST_QUERY)
@with_engine
def networks_prune(req: Request, eng) -> Response:
    from ..engine import netmanage as manage

    return Response(200, {"NetworksDeleted": manage.prune(eng, _net_filters(_filters(req)))})


# -- libpod ----------------------------------------------------------------------------


@validated(query=_LIST_QUERY)
@with_engine
def libpod_networks_list(req: Request, eng) -> Response:
    return Response(200, [n.to_json() for n in _listed(eng, req)])


@validated()
@with_engine
def libpod_network_inspect(req: Request, eng) -> Response:
    return Response(200, eng.networks.get(req.params["name"]).to_json())


@validated()
@with_engine
def libpod_network_exists(req: Request, eng) -> Response:
    try:
        eng.networks.get(req.params["name"])
    except NoSuchNetwork as e:
        return Response(404, {"message": str(e), "cause": "network not found", "response": 404})
    return Response(204)


def _request_from_libpod(body: dict):
    """podman's network create body: the network JSON itself."""
    from ..network.netdefs import CreateRequest

    if not isinstance(body, dict):
        raise InvalidArgument("the body must be a network object")
    req = CreateRequest(name=str(body.get("name") or ""), driver=str(body.get("driver") or "bridge"),
                        internal=bool(body.get("internal")), ipv6=bool(body.get("ipv6_enabled")),
                        labels=strdict(body.get("labels"), "labels"), options=strdict(body.get("options"), "options"),
                        interface_name=str(body.get("network_interface") or ""))
    if body.get("dns_enabled") is False:
        req.disable_dns = True
    ipam = body.get("ipam_options") or {}
    if isinstance(ipam, dict) and ipam.get("driver"):
        req.ipam_driver = str(ipam["driver"])
    for s in body.get("subnets") or []:
        if not isinstance(s, dict) or not s.get("subnet"):
            raise InvalidArgument("subnets entries need a subnet")
        req.subnets.append(str(s["subnet"]))
        req.gateways.append(str(s.get("gateway") or ""))
        lr = s.get("lease_range")
        if isinstance(lr, dict) and lr.get("start_ip") and lr.get("end_ip"):
            import ipaddress

            first, last = ipaddress.ip_address(lr["start_ip"]), ipaddress.ip_address(lr["end_ip"])
            req.ip_ranges.append(str(next(ipaddress.summarize_address_range(first, last))))
    return req


@validated(body=_LIBPOD_CREATE)
@with_engine
def libpod_network_create(req: Request, eng) -> Response:
    from ..engine import netmanage as manage

    net = manage.create(eng, _request_from_libpod(req.json()))
    return Response(200, net.to_json())


@validated(query=_DELETE_QUERY)
@with_engine
def libpod_network_delete(req: Request, eng) -> Response:
    from ..engine import netmanage as manage

    net = manage.remove(eng, req.params["name"], force=req.qbool("force"), timeout=req.qint("timeout"))
    return Response(200, [{"Name": net.name, "Err": None}])


@validated(query=_LIST_QUERY)
@with_engine
def libpod_networks_prune(req: Request, eng) -> Response:
    from ..engine import netmanage as manage

    return Response(200, [{"Name": n, "Error": None} for n in manage.prune(eng, _net_filters(_filters(req)))])


def register(router: Router) -> None:
    router.add("GET", "/networks", networks_list)
    router.add("GET", "/networks/{id}", network_inspect)
    router.add("POST", "/networks/create", network_create)
    router.add("DELETE", "/networks/{id}", network_delete)
    router.add("POST", "/networks/{id}/connect", network_connect)
    router.add("POST", "/networks/{id}/disconnect", network_disconnect)
    router.add("POST", "/networks/prune", networks_prune)
    router.add("GET", "/libpod/networks/json", libpod_networks_list)
    router.add("GET", "/libpod/networks/{name}/json", libpod_network_inspect)
    router.add("GET", "/libpod/networks/{name}", libpod_network_inspect)
    router.add("GET", "/libpod/networks/{name}/exists", libpod_network_exists)
    router.add("POST", "/libpod/networks/create", libpod_network_create)
    router.add("DELETE", "/libpod/networks/{name}", libpod_network_delete)
    router.add("POST", "/libpod/networks/{id}/connect", network_connect)
    router.add("POST", "/libpod/networks/{id}/disconnect", network_disconnect)
    router.add("POST", "/libpod/networks/prune", libpod_networks_prune)
