"""Host ports: random ones picked at create, and every published one held
while the container runs.

As podman does, pypod binds each published host port before the container
is created and leaves the sockets to conmon, which keeps them open for the
container's life: another program (or container) asking for the port gets
"address already in use", and a port already taken fails the start with a
clear error before anything is set up.  Traffic never reaches these
sockets: the kernel's DNAT sends it to the container first.
"""

from __future__ import annotations

import socket

from ..errors import PypodError
from .types import PortMapping


class PortInUse(PypodError):
    http_status = 409


def _family(host_ip: str) -> int:
    return socket.AF_INET6 if ":" in host_ip else socket.AF_INET


def _bind(host_ip: str, port: int, protocol: str) -> socket.socket:
    kind = socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM
    s = socket.socket(_family(host_ip), kind)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host_ip or "0.0.0.0", port))
    except BaseException:
        s.close()
        raise
    return s


def reserve(ports: list[PortMapping]) -> list[socket.socket]:
    """Bind every host port of ports (sctp has no socket here and is left
    out); all or nothing."""
    held: list[socket.socket] = []
    try:
        for p in ports:
            if p.protocol == "sctp":
                continue
            for i in range(p.range):
                port = p.host_port + i
                try:
                    held.append(_bind(p.host_ip, port, p.protocol))
                except OSError as e:
                    fam = "6" if ":" in p.host_ip else "4"
                    where = f"[{p.host_ip}]" if fam == "6" else p.host_ip
                    raise PortInUse(f"cannot listen on the {p.protocol.upper()} port: listen {p.protocol}{fam} "
                                    f"{where}:{port}: bind: {(e.strerror or str(e)).lower()}") from None
    except BaseException:
        for s in held:
            s.close()
        raise
    return held


def assign_random(ports: list[PortMapping]) -> None:
    """Give each mapping without a host port free ones (a whole range when it
    is one), as podman does when the container is created."""
    import random

    taken = {(p.protocol, p.host_port + i) for p in ports if p.host_port for i in range(p.range)}
    for p in ports:
        if p.host_port:
            continue
        for _attempt in range(64):
            if p.range == 1:
                s = _bind(p.host_ip, 0, p.protocol if p.protocol != "sctp" else "tcp")
                port = s.getsockname()[1]
                s.close()
            else:
                port = random.randint(10000, 65535 - p.range)
                try:
                    for s in reserve([PortMapping(p.container_port, port, p.host_ip, p.range, p.protocol)]):
                        s.close()
                except PortInUse:
                    continue
            if all((p.protocol, port + i) not in taken for i in range(p.range)):
                p.host_port = port
                taken.update((p.protocol, port + i) for i in range(p.range))
                break
        else:
            raise PortInUse(f"failed to find an available port range of {p.range} for {p.protocol}")
