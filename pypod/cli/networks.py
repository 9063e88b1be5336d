"""network create/ls/inspect/rm/prune/exists/connect/disconnect/reload, and
`port`."""

from __future__ import annotations

import json
import sys

from ..errors import InvalidArgument, NetworkInUse, NoSuchNetwork, PypodError


def _labels(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        k, _, v = item.partition("=")
        out[k] = v
    return out


def go_fields(net) -> dict:
    """A network for Go templates: podman's Go field names and its JSON keys."""
    j = net.to_json()
    return {**j, "Name": net.name, "ID": net.id, "Driver": net.driver, "NetworkInterface": net.network_interface,
            "Created": net.created, "Subnets": [_go_subnet(sn) for sn in j["subnets"]], "IPv6Enabled": net.ipv6_enabled, "Internal": net.internal,
            "DNSEnabled": net.dns_enabled, "Labels": net.labels, "Options": net.options, "IPAMOptions": net.ipam_options}


def _go_subnet(sn: dict) -> dict:
    """podman's Subnet struct: Subnet, Gateway, LeaseRange{StartIP, EndIP}."""
    out = {"Subnet": sn.get("subnet", ""), "Gateway": sn.get("gateway", "")}
    rng = sn.get("lease_range")
    if rng:
        out["LeaseRange"] = {"StartIP": rng.get("start_ip", ""), "EndIP": rng.get("end_ip", "")}
    return {**sn, **out}


# -- create ------------------------------------------------------------------------------


def add_network_create_args(p) -> None:
    p.add_argument("-d", "--driver", default="bridge", help="driver to manage the network: bridge, macvlan or ipvlan")
    p.add_argument("--subnet", action="append", default=[], help="subnet in CIDR format")
    p.add_argument("--gateway", action="append", default=[], help="IPv4 or IPv6 gateway for the subnet")
    p.add_argument("--ip-range", action="append", default=[], help="allocate container IPs from a range (CIDR)")
    p.add_argument("--internal", action="store_true", help="restrict external access from this network")
    p.add_argument("--disable-dns", action="store_true", help="disable DNS plugin")
    p.add_argument("--ipv6", action="store_true", help="enable IPv6 networking")
    p.add_argument("--label", action="append", default=[], help="set metadata on a network")
    p.add_argument("-o", "--opt", action="append", default=[], help="set driver specific options (mtu=, vlan=, parent=, ...)")
    p.add_argument("--ipam-driver", default="", help="IP address management driver: host-local, dhcp or none")
    p.add_argument("--interface-name", default="", help="name of the bridge (or, for macvlan, the parent) interface")
    p.add_argument("name", nargs="?", default="")


def cmd_network_create(engine, a) -> int:
    from ..engine import netmanage as manage
    from ..network.netdefs import CreateRequest

    opts = {}
    for o in a.opt:
        k, sep, v = o.partition("=")
        if not sep:
            raise InvalidArgument(f"invalid option {o!r}: must be KEY=VALUE")
        opts[k] = v
    req = CreateRequest(name=a.name, driver=a.driver, subnets=a.subnet, gateways=a.gateway, ip_ranges=a.ip_range,
                        internal=a.internal, disable_dns=a.disable_dns, ipv6=a.ipv6, labels=_labels(a.label),
                        options=opts, ipam_driver=a.ipam_driver, interface_name=a.interface_name)
    net = manage.create(engine, req)
    print(net.name)
    return 0


# -- ls / inspect / exists ----------------------------------------------------------------


def add_network_ls_args(p) -> None:
    p.add_argument("--format", default="", help="pretty-print networks: json or a Go template")
    p.add_argument("-f", "--filter", action="append", default=[], help="filter: name=, id=, driver=, label=, dangling=, until=")
    p.add_argument("-q", "--quiet", action="store_true", help="display only network IDs")
    p.add_argument("--no-trunc", action="store_true", help="do not truncate the network ID")
    p.add_argument("--noheading", action="store_true", help="do not print headers")


def cmd_network_ls(engine, a) -> int:
    from ..engine import netfilters as filters

    f = filters.parse(a.filter)
    nets = [n for n in engine.networks.list() if filters.matches(n, f, engine)]
    if a.quiet:
        for n in nets:
            print(n.id if a.no_trunc else n.id[:12])
        return 0
    if a.format in ("json", "{{json .}}"):
        print(json.dumps([n.to_json() for n in nets], indent=2))
        return 0
    rows = [{**go_fields(n), "ID": n.id if a.no_trunc else n.id[:12]} for n in nets]
    if a.format:
        from .output import print_template

        print_template(a.format, rows, noheading=a.noheading)
        return 0
    from .output import print_table

    print_table([("NETWORK ID", "ID"), ("NAME", "Name"), ("DRIVER", "Driver")], rows, noheading=a.noheading)
    return 0


def add_network_inspect_args(p) -> None:
    p.add_argument("-f", "--format", default="", help="pretty-print the network: json or a Go template")
    p.add_argument("networks", nargs="+", metavar="NETWORK")


def cmd_network_inspect(engine, a) -> int:
    found, errors = [], []
    for ref in a.networks:
        try:
            found.append(engine.networks.get(ref))
        except NoSuchNetwork as e:
            errors.append(f"inspecting object: network {ref}: {e}")
    if a.format and a.format not in ("json", "{{json .}}"):
        from .output import print_template

        print_template(a.format, [go_fields(n) for n in found])
    else:
        print(json.dumps([n.to_json() for n in found], indent=5))
    for e in errors:
        print(f"Error: {e}", file=sys.stderr)
    return 125 if errors else 0


def add_network_exists_args(p) -> None:
    p.add_argument("network", metavar="NETWORK")


def cmd_network_exists(engine, a) -> int:
    try:
        engine.networks.get(a.network)
    except NoSuchNetwork:
        return 1
    return 0


# -- rm / prune ------------------------------------------------------------------------------


def add_network_rm_args(p) -> None:
    p.add_argument("-f", "--force", action="store_true", help="remove any containers using the network")
    p.add_argument("-t", "--time", type=int, default=None, help="seconds to wait for those containers to stop")
    p.add_argument("networks", nargs="+", metavar="NETWORK")


def cmd_network_rm(engine, a) -> int:
    """podman's exit codes: 1 for a missing network, 2 for one in use."""
    from ..engine import netmanage as manage

    worst = 0
    for ref in a.networks:
        try:
            manage.remove(engine, ref, force=a.force, timeout=a.time)
            print(ref)
        except PypodError as e:
            print(f"Error: {e}", file=sys.stderr)
            worst = max(worst, 1 if isinstance(e, NoSuchNetwork) else 2 if isinstance(e, NetworkInUse) else 125)
    return worst


def add_network_prune_args(p) -> None:
    p.add_argument("-f", "--force", action="store_true", help="do not ask for confirmation")
    p.add_argument("--filter", action="append", default=[], help="only networks matching: label=, until=, ...")


def confirm(question: str) -> bool:
    print(question, end="", flush=True)
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


def cmd_network_prune(engine, a) -> int:
    from ..engine import netfilters as filters, netmanage as manage

    f = filters.parse(a.filter)
    if not a.force and not confirm("WARNING! This will remove all networks not used by at least one container.\n"
                                   "Are you sure you want to continue? [y/N] "):
        return 0
    for name in manage.prune(engine, f):
        print(name)
    return 0


# -- connect / disconnect / reload ---------------------------------------------------------------


def add_network_connect_args(p) -> None:
    p.add_argument("--alias", action="append", default=[], help="network-scoped alias for the container")
    p.add_argument("--ip", default="", help="static IPv4 address")
    p.add_argument("--ip6", default="", help="static IPv6 address")
    p.add_argument("--mac-address", default="", help="static MAC address")
    p.add_argument("network", metavar="NETWORK")
    p.add_argument("container", metavar="CONTAINER")


def cmd_network_connect(engine, a) -> int:
    from ..network import specs
    from ..engine import netmanage as manage
    from ..network.types import Attachment

    att = Attachment(aliases=[x for item in a.alias for x in item.split(",") if x],
                     static_ips=[specs.check_ip(ip) for ip in (a.ip, a.ip6) if ip],
                     static_mac=specs.check_mac(a.mac_address) if a.mac_address else "")
    manage.connect(engine, a.container, a.network, att)
    return 0


def add_network_disconnect_args(p) -> None:
    p.add_argument("-f", "--force", action="store_true", help="force the container to disconnect")
    p.add_argument("network", metavar="NETWORK")
    p.add_argument("container", metavar="CONTAINER")


def cmd_network_disconnect(engine, a) -> int:
    from ..engine import netmanage as manage

    manage.disconnect(engine, a.container, a.network, force=a.force)
    return 0


def add_network_reload_args(p) -> None:
    p.add_argument("-a", "--all", action="store_true", help="reload the network of all running containers")
    p.add_argument("-l", "--latest", action="store_true", help="act on the latest container")
    p.add_argument("containers", nargs="*", metavar="CONTAINER")


def cmd_network_reload(engine, a) -> int:
    from ..engine import netmanage as manage

    if a.all:
        targets = [c for c in engine.containers() if c.config.network == "bridge" and c.state.status.value == "running"]
    elif a.latest:
        targets = [engine.latest_container()]
    elif a.containers:
        targets = a.containers
    else:
        raise InvalidArgument("no containers specified: you must provide at least one container, --all or --latest")
    rc = 0
    for t in targets:
        try:
            ctr = engine.container(t) if isinstance(t, str) else t
            manage.reload(engine, ctr)
            print(ctr.id)
        except PypodError as e:
            print(f"Error: {e}", file=sys.stderr)
            rc = 125
    return rc


# -- port ------------------------------------------------------------------------------------------


def add_port_args(p) -> None:
    p.add_argument("-a", "--all", action="store_true", help="display port information for all containers")
    p.add_argument("-l", "--latest", action="store_true", help="act on the latest container")
    p.add_argument("args", nargs="*", metavar="CONTAINER [PORT[/PROTO]]")


def cmd_port(engine, a) -> int:
    from ..network import report

    if a.all:
        ctrs, want = [c for c in engine.containers() if c.state.status.value == "running"], ""
    elif a.latest:
        ctrs, want = [engine.latest_container()], (a.args[0] if a.args else "")
    else:
        if not a.args:
            raise InvalidArgument("you must supply a running container name or id")
        ctrs, want = [engine.container(a.args[0])], (a.args[1] if len(a.args) > 1 else "")
    if want and "/" not in want:
        want += "/tcp"
    for ctr in ctrs:
        ports = ctr.config.networking.ports
        if not a.all and ctr.state.status.value != "running":
            raise PypodError(f"container {ctr.id} is not running")
        for c, proto, hip, h in report.expand(ports):
            if want:
                if f"{c}/{proto}" == want:
                    print(f"{hip or '0.0.0.0'}:{h}")
                continue
            line = f"{c}/{proto} -> {hip or '0.0.0.0'}:{h}"
            print(f"{ctr.id[:12]}\t{line}" if a.all else line)
        if want and not any(f"{c}/{p}" == want for c, p, _hi, _h in report.expand(ports)):
            raise PypodError(f"failed to find published port {want!r}")
    return 0

