"""The network flags of run, create and pod create, and their parsing into
the container's configuration (through specgen/network.py)."""

from __future__ import annotations


def add_network_flags(p, pod: bool = False) -> None:
    """pod: the subset `pod create` takes (no --expose, -P, --pod)."""
    p.add_argument("--network", "--net", action="append", default=[],
                   help="network mode: bridge (default), none, host, private, container:ID, ns:PATH, or network names")
    p.add_argument("--ip", default="", help="static IPv4 address on the network")
    p.add_argument("--ip6", default="", help="static IPv6 address on the network")
    p.add_argument("--mac-address", default="", help="static MAC address on the network")
    p.add_argument("--network-alias", action="append", default=[], help="add a network-scoped alias")
    p.add_argument("-p", "--publish", action="append", default=[],
                   help="publish a container port: [[hostIP:][hostPort]:]containerPort[/protocol]")
    p.add_argument("--dns", action="append", default=[], help="set custom DNS servers")
    p.add_argument("--dns-search", action="append", default=[], help="set custom DNS search domains")
    p.add_argument("--dns-option", "--dns-opt", action="append", default=[], help="set custom DNS options")
    p.add_argument("--add-host", action="append", default=[], help="add a custom host-to-IP mapping (host:ip)")
    p.add_argument("--no-hosts", action="store_true", help="do not create /etc/hosts for the container")
    if not pod:
        p.add_argument("--expose", action="append", default=[], help="expose a port or a range of ports")
        p.add_argument("-P", "--publish-all", action="store_true", help="publish all exposed ports to random host ports")
        p.add_argument("--pod", default="", help="run the container in a pod: NAME, ID or new:NAME")
        p.add_argument("--pod-id-file", default="", help="read the pod's ID from this file")


def _split(values: list[str]) -> list[str]:
    """Comma-separated lists, as podman's string-slice flags take them."""
    return [v for item in values for v in item.split(",") if v]


def apply_network_flags(cfg, a) -> None:
    from ..specgen.network import build_networking

    cfg.network, cfg.networking = build_networking(
        network=a.network, ip=a.ip, ip6=a.ip6, mac=a.mac_address, aliases=_split(a.network_alias),
        publish=a.publish, expose=getattr(a, "expose", []), publish_all=getattr(a, "publish_all", False),
        dns=_split(a.dns), dns_search=_split(a.dns_search), dns_option=a.dns_option, add_host=_split(a.add_host),
        no_hosts=a.no_hosts,
    )


def pod_ref(a) -> str:
    """--pod, or the ID --pod-id-file holds."""
    if getattr(a, "pod_id_file", ""):
        from ..errors import InvalidArgument

        try:
            with open(a.pod_id_file) as f:
                return f.read().strip()
        except OSError as e:
            raise InvalidArgument(f"reading pod ID file {a.pod_id_file}: {e.strerror}") from None
    return getattr(a, "pod", "")
