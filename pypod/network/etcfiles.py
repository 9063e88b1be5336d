"""A container's /etc/hosts, /etc/resolv.conf and /etc/hostname, as podman
4.3 writes them.

The builders are pure (host files come in as text); write_in_place keeps
the file's inode, because the container sees these files through bind
mounts: a file renamed over them would go unseen by a running container,
and connect/disconnect must change what it sees.
"""

from __future__ import annotations

import _socket  # socket's own would build its enums (~2 ms of every run)

LOCALHOST_LINES = ("127.0.0.1\tlocalhost localhost.localdomain localhost4 localhost4.localdomain4",
                   "::1\tlocalhost localhost.localdomain localhost6 localhost6.localdomain6")
#: podman's fallback when the host's resolvers are all on its loopback
FALLBACK_NAMESERVERS = ("8.8.8.8", "8.8.4.4")


def parse_hosts(text: str) -> list[tuple[str, list[str]]]:
    """(ip, names) of each entry line; comments and garbage dropped."""
    out = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        parts = line.split()
        if len(parts) < 2:
            continue
        if _packed(parts[0]) is None:
            continue
        out.append((parts[0], parts[1:]))
    return out


def hosts_text(base_hosts: str, add_hosts: list[str], own: list[tuple[str, list[str]]],
               host_gateway: str = "") -> str:
    """--add-host entries first, then the host's file (or localhost lines if
    it has none), host.containers.internal, then the container's own names."""
    lines = []
    for spec in add_hosts:
        names, _, ip = spec.rpartition(":")
        if ip == "host-gateway":
            ip = host_gateway or "127.0.0.1"
        lines.append(f"{ip.strip('[]')}\t{' '.join(n for n in names.split(';') if n)}")
    base = parse_hosts(base_hosts)
    if base:
        lines += [f"{ip}\t{' '.join(names)}" for ip, names in base]
    else:
        lines += LOCALHOST_LINES
    if host_gateway:
        lines.append(f"{host_gateway}\thost.containers.internal")
    lines += [f"{ip}\t{' '.join(names)}" for ip, names in own]
    return "\n".join(lines) + "\n"


def parse_resolv(text: str) -> tuple[list[str], list[str], list[str]]:
    """(nameservers, search domains, options) of a resolv.conf."""
    servers, search, options = [], [], []
    for line in text.splitlines():
        parts = line.split()
        if not parts or parts[0].startswith(("#", ";")):
            continue
        if parts[0] == "nameserver" and len(parts) > 1:
            servers.append(parts[1])
        elif parts[0] in ("search", "domain"):
            search = parts[1:]
        elif parts[0] == "options":
            options += parts[1:]
    return servers, search, options


def _packed(ip: str) -> bytes | None:
    """The address's bytes, or None when ip is none (what ipaddress.ip_address
    accepts as text, zone included; the C parser, not that module's import,
    which would cost every `run` a millisecond)."""
    if ":" in ip and "%" in ip:
        ip, _, zone = ip.partition("%")
        if not zone:
            return None
    for family in (_socket.AF_INET, _socket.AF_INET6):
        try:
            return _socket.inet_pton(family, ip)
        except (OSError, ValueError):
            pass
    return None


def _is_loopback(ip: str) -> bool:
    """127.0.0.0/8 or ::1, as ipaddress's is_loopback."""
    packed = _packed(ip)
    if packed is None:
        return False
    return packed[0] == 127 if len(packed) == 4 else packed == bytes(15) + b"\x01"


def resolv_text(host_resolv: str, *, network_servers: list[str] = (), network_search: list[str] = (),
                dns_servers: list[str] = (), dns_search: list[str] = (), dns_options: list[str] = (),
                keep_loopback: bool = False) -> str:
    """podman's rules: servers the user gave win over everything; otherwise
    the networks' DNS (aardvark) comes first, then the host's servers, less
    those on its loopback (unreachable from another network namespace;
    keep_loopback for host networking).  Search domains: the networks', then
    the user's or else the host's ("." clears them)."""
    host_servers, host_search, host_options = parse_resolv(host_resolv)
    if dns_servers:
        servers, search = list(dns_servers), []
    else:
        usable = [s for s in host_servers if keep_loopback or not _is_loopback(s)]
        if not usable and not keep_loopback and not network_servers:
            usable = list(FALLBACK_NAMESERVERS)
        servers, search = [*network_servers, *usable], list(network_search)
    search += [d for d in dns_search if d != "."] if dns_search else host_search
    if "." in dns_search:
        search = []
    options = list(dns_options) if dns_options else host_options
    lines = []
    if search:
        lines.append("search " + " ".join(dict.fromkeys(search)))
    lines += [f"nameserver {s}" for s in dict.fromkeys(servers)]
    if options:
        lines.append("options " + " ".join(options))
    return "\n".join(lines) + "\n"


def write_in_place(path: str, text: str) -> None:
    """Rewrite the file's content without replacing its inode."""
    import os

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def read_host_file(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""
