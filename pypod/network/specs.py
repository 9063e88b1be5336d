"""What users type about networks, parsed and checked with podman's words:
-p/--publish, --expose, --network, --add-host, --dns, --ip, --mac-address.

Pure: the CLI and both REST front doors fill a container's Networking
through these, and the unit tests call them without a process.
"""

from __future__ import annotations

from ..errors import InvalidArgument
from ..lean import LazyPattern
from .types import Attachment, PortMapping

PROTOCOLS = ("tcp", "udp", "sctp")
NAME_RE = LazyPattern(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
MAC_RE = LazyPattern(r"^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$")


def _ip_address(text: str):
    """ipaddress.ip_address, imported on first use: only a flag that names
    an address needs it, and its import costs every `run` a millisecond."""
    import ipaddress

    return ipaddress.ip_address(text)


def _port(text: str, what: str) -> int:
    if not text.isdigit():
        raise InvalidArgument(f'parsing {what} port: invalid port number: strconv.Atoi: parsing "{text}": invalid syntax')
    n = int(text)
    if not 1 <= n <= 65535:
        raise InvalidArgument(f"parsing {what} port: port numbers must be between 1 and 65535 (inclusive), got {n}")
    return n


def _port_range(text: str, what: str) -> tuple[int, int]:
    """'80' -> (80, 1); '8000-8009' -> (8000, 10)."""
    start, sep, end = text.partition("-")
    first = _port(start, what)
    if not sep:
        return first, 1
    last = _port(end, what)
    if last <= first:
        raise InvalidArgument(f"parsing {what} port: the end port of a range must be higher than the start port - {last} is not higher than {first}")
    return first, last - first + 1


def parse_publish(spec: str) -> list[PortMapping]:
    """`[[hostIP:][hostPort]:]containerPort[-end][/protocol[,protocol]]`; a host
    port left out (or 0 in the API) is picked at random when the container is created."""
    body, _, protos = spec.partition("/")
    protocols = []
    for p in (protos or "tcp").split(","):
        p = p.strip().lower()
        if p not in PROTOCOLS:
            raise InvalidArgument(f'unrecognized protocol "{p}" in port mapping')
        if p not in protocols:
            protocols.append(p)
    host_ip = ""
    if body.startswith("["):
        close = body.find("]")
        if close < 0 or body[close + 1:close + 2] != ":":
            raise InvalidArgument(f'cannot parse "{body}" as an IP address')
        host_ip, body = body[1:close], body[close + 2:]
        _check_ip(host_ip)
        parts = body.split(":")
        if len(parts) == 1:
            parts = ["", parts[0]]
    else:
        parts = body.split(":")
        if len(parts) == 3:
            host_ip = parts[0]
            parts = parts[1:]
            if host_ip:
                _check_ip(host_ip)
        elif len(parts) > 3:
            raise InvalidArgument("invalid port format - format is [[hostIP:]hostPort:]containerPort")
    host_text, ctr_text = (parts[0], parts[1]) if len(parts) == 2 else ("", parts[0])
    ctr_port, ctr_len = _port_range(ctr_text, "container")
    host_port, host_len = (0, ctr_len) if not host_text else _port_range(host_text, "host")
    if host_len != ctr_len:
        raise InvalidArgument(f"host and container port ranges have different lengths: {host_len} vs {ctr_len}")
    return [PortMapping(container_port=ctr_port, host_port=host_port, host_ip=host_ip, range=ctr_len, protocol=p)
            for p in protocols]


def _check_ip(text: str) -> None:
    try:
        _ip_address(text)
    except ValueError:
        raise InvalidArgument(f'cannot parse "{text}" as an IP address') from None


def parse_expose(spec: str) -> list[str]:
    """--expose 80, 8000-8002/udp -> ["80/tcp"], ["8000/udp", "8001/udp", "8002/udp"]."""
    body, _, proto = spec.partition("/")
    proto = (proto or "tcp").lower()
    if proto not in PROTOCOLS:
        raise InvalidArgument(f'invalid protocol "{proto}" for --expose: {spec}')
    start, sep, end = body.partition("-")
    nums = []
    for text in (start, end) if sep else (start,):
        if not text.isdigit():
            raise InvalidArgument(f'invalid range format for --expose: {spec}: strconv.ParseUint: parsing "{text}": invalid syntax')
        if int(text) > 65535:
            raise InvalidArgument(f'invalid range format for --expose: {spec}: strconv.ParseUint: parsing "{text}": value out of range')
        nums.append(int(text))
    first, last = nums[0], nums[-1]
    if last < first:
        raise InvalidArgument(f"invalid range format for --expose: {spec}: the end port must not be lower than the start port")
    return [f"{n}/{proto}" for n in range(first, last + 1)]


def parse_network_flag(values: list[str]) -> tuple[str, dict[str, Attachment]]:
    """--network values (the flag repeats) -> (mode, bridge networks by name).

    A lone mode (bridge, none, host, private, container:ID, ns:PATH) is the
    mode; anything else names networks, comma-separated, each optionally
    with podman's per-network options: NAME:ip=IP,mac=MAC,alias=A,interface_name=I.
    mode "" means the engine's default; "bridge" with no names the default network."""
    values = [v for v in values if v != ""]
    if not values:
        return "", {}
    if len(values) == 1:
        v = values[0]
        if v in ("default",):
            return "", {}
        if v in ("bridge", "none", "host", "private"):
            return v, {}
        if v.startswith(("container:", "ns:")):
            kind, _, target = v.partition(":")
            if not target:
                raise InvalidArgument(f"invalid network mode {v!r}: {kind}: needs a value")
            return v, {}
        if v == "ns":
            raise InvalidArgument("must provide a path to a network namespace for ns: invalid argument")
        if v.partition(":")[0] in ("slirp4netns", "pasta"):
            return v, {}  # user-mode networking (network/usernet.py), options and all
    networks: dict[str, Attachment] = {}
    for v in values:
        if v in ("bridge", "none", "host", "private") or v.startswith(("container:", "ns:")):
            raise InvalidArgument(f"cannot set multiple networks without bridge network mode, selected mode {v}: invalid argument")
        if ":" in v:
            name, _, opts = v.partition(":")
            networks[name] = _attachment_opts(name, opts)
            continue
        for name in v.split(","):
            if name:
                networks.setdefault(name, Attachment())
    return "bridge", networks


def _attachment_opts(name: str, opts: str) -> Attachment:
    att = Attachment()
    for opt in opts.split(","):
        key, sep, value = opt.partition("=")
        if not sep:
            raise InvalidArgument(f"invalid option for network {name}: {opt} must be KEY=VALUE")
        if key == "ip" or key == "ip6":
            att.static_ips.append(check_ip(value, f"--network {name}:{key}"))
        elif key == "mac":
            att.static_mac = check_mac(value)
        elif key == "alias":
            att.aliases.append(value)
        elif key == "interface_name":
            att.interface_name = value
        else:
            raise InvalidArgument(f"invalid option for network {name}: unknown bridge network option: {key}")
    return att


def check_ip(text: str, what: str = "--ip") -> str:
    try:
        return str(_ip_address(text))
    except ValueError:
        raise InvalidArgument(f"{text} is not an ip address") from None


def check_mac(text: str) -> str:
    if not MAC_RE.match(text):
        raise InvalidArgument(f"address {text}: invalid MAC address")
    return text.lower().replace("-", ":")


def parse_add_host(spec: str) -> str:
    """NAME:IP (NAME may hold several names joined by ;) -> the same, checked."""
    name, sep, ip = spec.partition(":")
    if not sep or not name:
        raise InvalidArgument(f'bad format for add-host: "{spec}"')
    if ip == "host-gateway":
        return spec
    try:
        _ip_address(ip.strip("[]"))
    except ValueError:
        raise InvalidArgument(f'invalid IP address in add-host: "{ip}"') from None
    return spec


def check_name(name: str, what: str = "network") -> None:
    if not NAME_RE.match(name):
        raise InvalidArgument(f"{what} name {name} invalid: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: invalid argument")
