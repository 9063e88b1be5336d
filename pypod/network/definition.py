"""What a network is: netavark's JSON, as podman writes it."""

from __future__ import annotations

from ..record import field, record


@record
class Subnet:
    subnet: str
    gateway: str = ""
    #: --ip-range: {"start_ip": ..., "end_ip": ...}
    lease_range: dict | None = None

    def to_json(self) -> dict:
        d: dict = {"subnet": self.subnet}
        if self.gateway:
            d["gateway"] = self.gateway
        if self.lease_range:
            d["lease_range"] = dict(self.lease_range)
        return d


@record
class Network:
    """One network definition; to_json() is the file podman and netavark read."""

    name: str
    id: str
    driver: str = "bridge"
    network_interface: str = ""
    created: str = ""
    subnets: list[Subnet] = field(default_factory=list)
    ipv6_enabled: bool = False
    internal: bool = False
    dns_enabled: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    ipam_options: dict[str, str] = field(default_factory=lambda: {"driver": "host-local"})

    def to_json(self) -> dict:
        d: dict = {
            "name": self.name,
            "id": self.id,
            "driver": self.driver,
            "network_interface": self.network_interface,
            "created": self.created,
            "subnets": [s.to_json() for s in self.subnets],
            "ipv6_enabled": self.ipv6_enabled,
            "internal": self.internal,
            "dns_enabled": self.dns_enabled,
        }
        if self.labels:
            d["labels"] = dict(self.labels)
        if self.options:
            d["options"] = dict(self.options)
        d["ipam_options"] = dict(self.ipam_options)
        return d

    @classmethod
    def from_json(cls, d: dict) -> "Network":
        return cls(
            name=d["name"],
            id=d["id"],
            driver=d.get("driver", "bridge"),
            network_interface=d.get("network_interface", ""),
            created=d.get("created", ""),
            subnets=[Subnet(s["subnet"], s.get("gateway", ""), s.get("lease_range")) for s in d.get("subnets") or []],
            ipv6_enabled=bool(d.get("ipv6_enabled")),
            internal=bool(d.get("internal")),
            dns_enabled=bool(d.get("dns_enabled")),
            labels=dict(d.get("labels") or {}),
            options=dict(d.get("options") or {}),
            ipam_options=dict(d.get("ipam_options") or {"driver": "host-local"}),
        )
