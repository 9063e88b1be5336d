"""What a container asks of the network: its typed setting on
ContainerConfig.  (What a network is: network/definition.py, kept apart so
that loading a container's configuration builds no more than this.)"""

from __future__ import annotations

from ..record import asdict, field, fields, record


@record
class PortMapping:
    """One -p: netavark's port_mappings entry (range ports from both starts)."""

    container_port: int
    host_port: int = 0
    host_ip: str = ""
    range: int = 1
    protocol: str = "tcp"

    def to_json(self) -> dict:
        return {"host_ip": self.host_ip, "container_port": self.container_port, "host_port": self.host_port,
                "range": self.range, "protocol": self.protocol}


@record
class Attachment:
    """How a container joins one network (podman's PerNetworkOptions)."""

    aliases: list[str] = field(default_factory=list)
    static_ips: list[str] = field(default_factory=list)
    static_mac: str = ""
    interface_name: str = ""


@record
class Networking:
    """A container's network setting: its networks (for bridge mode) and
    what it publishes, resolves and writes in /etc/hosts.  The mode itself
    stays ContainerConfig.network."""

    #: bridge networks by name; empty in bridge mode means the default network
    networks: dict[str, Attachment] = field(default_factory=dict)
    ports: list[PortMapping] = field(default_factory=list)
    #: ports the container exposes without publishing ("80/tcp"), the image's included
    expose: list[str] = field(default_factory=list)
    publish_all: bool = False
    dns_servers: list[str] = field(default_factory=list)
    dns_search: list[str] = field(default_factory=list)
    dns_options: list[str] = field(default_factory=list)
    #: --add-host entries, "name:ip"
    add_hosts: list[str] = field(default_factory=list)
    no_hosts: bool = False

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> "Networking":
        if not d:
            return cls()
        if isinstance(d, Networking):
            return d
        known = {f.name for f in fields(cls)}
        n = cls(**{k: v for k, v in d.items() if k in known})
        n.networks = {name: a if isinstance(a, Attachment) else Attachment(**a) for name, a in n.networks.items()}
        n.ports = [p if isinstance(p, PortMapping) else PortMapping(**p) for p in n.ports]
        return n
