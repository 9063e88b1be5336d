"""Network definitions on disk: one netavark JSON file per network in the
network config dir (ROOT/networks unless configured), as podman keeps them
in /etc/containers/networks.  The default network is never a file: it is
made from the configuration each time (podman does the same), so changing
default_subnet takes effect for the next container.

Creating checks what podman's libnetwork checks, with its words: names,
drivers, subnets against every other network and the host's routes,
gateways and ranges inside their subnets; subnets and bridge names left
out are picked free.  A lock on the directory makes name and subnet
choices safe against concurrent pypod processes.
"""

from __future__ import annotations

import ipaddress
import json
import os
import time

from ..errors import InvalidArgument, NameInUse, NoSuchNetwork
from ..record import field, record
from .definition import Network, Subnet
from .specs import check_name

DRIVERS = ("bridge", "macvlan", "ipvlan")
BRIDGE_OPTIONS = ("mtu", "vlan", "isolate", "metric", "com.docker.network.bridge.name", "com.docker.network.driver.mtu")
MACVLAN_OPTIONS = ("mtu", "mode", "parent", "metric", "bclim")
IFNAMSIZ = 15


@record
class CreateRequest:
    """`network create`'s flags, or the REST bodies', before checking."""

    name: str = ""
    driver: str = "bridge"
    subnets: list[str] = field(default_factory=list)
    gateways: list[str] = field(default_factory=list)
    ip_ranges: list[str] = field(default_factory=list)
    internal: bool = False
    disable_dns: bool = False
    ipv6: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    ipam_driver: str = ""
    interface_name: str = ""


def network_not_found(ref: str) -> NoSuchNetwork:
    return NoSuchNetwork(f"unable to find network with name or ID {ref}: network not found")


def now_rfc3339() -> str:
    ns = time.time_ns()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 1_000_000_000)) + f".{ns % 1_000_000_000:09d}Z"


class NetworkDefs:
    def __init__(self, config, lock_factory):
        """lock_factory(path): the engine's file lock (engine/locks.py)."""
        self.config = config
        self.lock_factory = lock_factory
        self.net = config.network
        self.dir = config.network_config_dir

    # -- reading -------------------------------------------------------------

    def default(self) -> Network:
        import hashlib

        name = self.net.default_network
        sub = ipaddress.ip_network(self.net.default_subnet, strict=False)
        return Network(
            name=name,
            id=hashlib.sha256(name.encode()).hexdigest(),
            driver="bridge",
            network_interface=self.net.default_interface,
            created=now_rfc3339(),
            subnets=[Subnet(str(sub), str(next(sub.hosts())))],
            dns_enabled=False,
        )

    def _files(self) -> list[Network]:
        out = []
        try:
            names = sorted(os.listdir(self.dir))
        except FileNotFoundError:
            return out
        for fn in names:
            if not fn.endswith(".json"):
                continue
            try:
                with open(os.path.join(self.dir, fn)) as f:
                    out.append(Network.from_json(json.load(f)))
            except (OSError, ValueError, KeyError, TypeError):
                continue  # a broken file is not a network (podman warns and skips it too)
        return out

    def list(self) -> list[Network]:
        nets = {n.name: n for n in self._files()}
        nets.setdefault(self.net.default_network, self.default())
        return sorted(nets.values(), key=lambda n: n.name)

    def get(self, ref: str) -> Network:
        """By name, full ID, or unique ID prefix (podman's lookup)."""
        if not ref:
            raise network_not_found(ref)
        nets = self.list()
        for n in nets:
            if n.name == ref or n.id == ref:
                return n
        matches = [n for n in nets if n.id.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise InvalidArgument(f"more than one result for network ID {ref}")
        raise network_not_found(ref)

    def is_default(self, net: Network) -> bool:
        return net.name == self.net.default_network

    # -- writing ---------------------------------------------------------------

    def lock(self):
        os.makedirs(self.dir, mode=0o755, exist_ok=True)
        return self.lock_factory(os.path.join(self.dir, ".lock"))

    def create(self, req: CreateRequest) -> Network:
        with self.lock():
            existing = self.list()
            names = {n.name for n in existing}
            if req.name:
                check_name(req.name)
                if req.name in names:
                    raise NameInUse(f"network name {req.name} already used: network already exists")
            else:
                req.name = next(f"podman{i}" for i in range(1, 1 << 16) if f"podman{i}" not in names)
            net = self._build(req, existing)
            self._write(net)
            return net

    def _write(self, net: Network) -> None:
        path = os.path.join(self.dir, net.name + ".json")
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            json.dump(net.to_json(), f, indent=5)
            f.write("\n")
        os.chmod(tmp, 0o644)
        os.rename(tmp, path)

    def remove_definition(self, net: Network) -> None:
        try:
            os.unlink(os.path.join(self.dir, net.name + ".json"))
        except FileNotFoundError:
            pass

    # -- checking a request ------------------------------------------------------

    def _build(self, req: CreateRequest, existing: list[Network]) -> Network:
        driver = req.driver or "bridge"
        if driver not in DRIVERS:
            raise InvalidArgument(f"unsupported driver {driver}: invalid argument")
        ipam = req.ipam_driver or ("host-local" if driver == "bridge" or req.subnets else "")
        if ipam not in ("", "host-local", "dhcp", "none"):
            raise InvalidArgument(f"unsupported ipam driver {ipam!r}: invalid argument")
        if ipam == "dhcp" and driver == "bridge":
            raise InvalidArgument("dhcp ipam driver is not supported with the bridge driver: invalid argument")
        net = Network(name=req.name, id=os.urandom(32).hex(), driver=driver, created=now_rfc3339(),
                      internal=req.internal, labels=dict(req.labels), ipam_options={"driver": ipam or "dhcp"})
        options = dict(req.options)
        allowed = BRIDGE_OPTIONS if driver == "bridge" else MACVLAN_OPTIONS
        for key, value in options.items():
            if key not in allowed:
                raise InvalidArgument(f"unsupported {driver} network option {key}")
            if key in ("mtu", "vlan", "metric", "com.docker.network.driver.mtu") and not value.lstrip("-").isdigit():
                raise InvalidArgument(f"parsing {key} option: {value!r} is not a number")
        if driver == "bridge":
            ifname = req.interface_name or options.pop("com.docker.network.bridge.name", "")
            mtu = options.pop("com.docker.network.driver.mtu", "")
            if mtu:
                options["mtu"] = mtu
            net.network_interface = self._bridge_name(ifname, existing)
            net.dns_enabled = not req.disable_dns
        else:
            parent = options.pop("parent", "") or req.interface_name or _default_route_interface()
            if not parent or not os.path.exists(f"/sys/class/net/{parent}"):
                raise InvalidArgument(f"parent interface {parent} does not exist")
            net.network_interface = parent
            if req.disable_dns is False and req.internal:
                raise InvalidArgument(f"internal is not supported with {driver}")
        net.options = options
        if ipam != "none":
            net.subnets = self._subnets(req, existing, driver)
        elif req.subnets or req.gateways or req.ip_ranges:
            raise InvalidArgument("cannot set subnets with the none ipam driver: invalid argument")
        net.ipv6_enabled = req.ipv6 or any(ipaddress.ip_network(s.subnet).version == 6 for s in net.subnets)
        if net.ipv6_enabled and ipam != "none" and not any(ipaddress.ip_network(s.subnet).version == 6 for s in net.subnets):
            net.subnets.append(self._ula_subnet())
        return net

    def _bridge_name(self, wanted: str, existing: list[Network]) -> str:
        taken = {n.network_interface for n in existing}
        if wanted:
            if len(wanted) > IFNAMSIZ or "/" in wanted or not wanted.isprintable() or " " in wanted:
                raise InvalidArgument(f"bridge name {wanted} invalid: at most {IFNAMSIZ} characters, no / or space")
            if wanted in taken:
                raise InvalidArgument(f"bridge name {wanted} already in use")
            return wanted
        prefix = self.net.interface_prefix
        for i in range(1, 1 << 16):
            name = f"{prefix}{i}"
            if name not in taken and not os.path.exists(f"/sys/class/net/{name}"):
                return name
        raise InvalidArgument("no free bridge name left")

    def _subnets(self, req: CreateRequest, existing: list[Network], driver: str) -> list[Subnet]:
        if not req.subnets:
            if req.gateways or req.ip_ranges:
                raise InvalidArgument("cannot set gateway or range without subnet")
            if driver != "bridge" and (req.ipam_driver == "dhcp" or not req.ipam_driver):
                return []
            return [self._free_subnet(existing)]
        if len(req.gateways) > len(req.subnets) or len(req.ip_ranges) > len(req.subnets):
            raise InvalidArgument("cannot set more gateways or ranges than subnets")
        used = used_subnets(existing)
        out = []
        for i, text in enumerate(req.subnets):
            try:
                sub = ipaddress.ip_network(text, strict=False)
            except ValueError:
                raise InvalidArgument(f"invalid CIDR address: {text}") from None
            if sub.prefixlen >= sub.max_prefixlen - 1:
                raise InvalidArgument(f"subnet {sub} is too small for containers")
            if any(sub.overlaps(u) for u in used if u.version == sub.version):
                raise InvalidArgument(f"subnet {sub} is already used on the host or by another config")
            used.append(sub)
            gw_text = req.gateways[i] if i < len(req.gateways) else ""
            if gw_text:
                try:
                    gw = ipaddress.ip_address(gw_text)
                except ValueError:
                    raise InvalidArgument(f"invalid gateway {gw_text}") from None
                if gw not in sub:
                    raise InvalidArgument(f"gateway {gw} not in subnet {sub}")
            else:
                gw = next(sub.hosts())
            s = Subnet(str(sub), str(gw))
            if i < len(req.ip_ranges):
                s.lease_range = _lease_range(req.ip_ranges[i], sub)
            out.append(s)
        return out

    def _free_subnet(self, existing: list[Network]) -> Subnet:
        used = used_subnets(existing)
        for pool in self.net.default_subnet_pools:
            base = ipaddress.ip_network(pool["base"], strict=False)
            for sub in base.subnets(new_prefix=int(pool["size"])):
                if not any(sub.overlaps(u) for u in used if u.version == 4):
                    return Subnet(str(sub), str(next(sub.hosts())))
        raise InvalidArgument("could not find free subnet from subnet pools")

    def _ula_subnet(self) -> Subnet:
        global_id = int.from_bytes(os.urandom(5), "big")
        sub = ipaddress.ip_network(((0xFD << 120) | (global_id << 80), 64))
        return Subnet(str(sub), str(sub[1]))


def _lease_range(text: str, sub) -> dict:
    try:
        rng = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise InvalidArgument(f"invalid CIDR address: {text}") from None
    if rng.version != sub.version or not rng.subnet_of(sub):
        raise InvalidArgument(f"ip range {rng} is not in subnet {sub}")
    hosts = list(rng.hosts()) if rng.num_addresses <= 4 else None
    first = hosts[0] if hosts else rng[1] if rng.network_address == sub.network_address else rng[0]
    last = hosts[-1] if hosts else rng[-2] if rng.broadcast_address == sub.broadcast_address else rng[-1]
    return {"start_ip": str(first), "end_ip": str(last)}


def used_subnets(existing: list[Network]) -> list:
    """Subnets of every network and every route of the host (its default route aside)."""
    used = [ipaddress.ip_network(s.subnet, strict=False) for n in existing for s in n.subnets]
    used += host_routes()
    return used


def host_routes() -> list:
    out = []
    try:
        with open("/proc/net/route") as f:
            lines = f.read().splitlines()[1:]
    except OSError:
        lines = []
    for line in lines:
        parts = line.split()
        if len(parts) < 8:
            continue
        dest = int(parts[1], 16).to_bytes(4, "little")
        mask = int(parts[7], 16).to_bytes(4, "little")
        if mask == b"\0\0\0\0":
            continue
        out.append(ipaddress.ip_network((ipaddress.IPv4Address(dest), str(ipaddress.IPv4Address(mask))), strict=False))
    return out


def _default_route_interface() -> str:
    try:
        with open("/proc/net/route") as f:
            for line in f.read().splitlines()[1:]:
                parts = line.split()
                if len(parts) >= 8 and parts[1] == "00000000" and parts[7] == "00000000":
                    return parts[0]
    except OSError:
        pass
    return ""
