"""The network tables of pypod's SQLite store: IP allocations (IPAM) and
each container's network sandbox (its namespace, what netavark was told,
and what it answered).

IPAM is pypod's job, as it is libnetwork's for podman: netavark is handed
the addresses.  An allocation is one IMMEDIATE transaction (SQLite's write
lock), so concurrent pypod processes never hand out the same address; the
address after the last one handed out comes next, so a container's address
is not given to the next container at once (stale ARP entries elsewhere).

A sandbox row is written before anything exists on the host and deleted
only after everything is gone: whatever killed pypod in between, the row
says what to tear down.
"""

from __future__ import annotations

import ipaddress
import json

from ..errors import InvalidArgument
from ..sqlitedb import connect
from .definition import Network
from .types import Attachment

_SCHEMA = """
CREATE TABLE IF NOT EXISTS net_allocations (
    network TEXT NOT NULL,
    ip TEXT NOT NULL,
    container_id TEXT NOT NULL,
    PRIMARY KEY (network, ip)
);
CREATE INDEX IF NOT EXISTS net_alloc_by_container ON net_allocations(container_id);
CREATE TABLE IF NOT EXISTS net_last_ip (
    network TEXT NOT NULL,
    subnet TEXT NOT NULL,
    ip TEXT NOT NULL,
    PRIMARY KEY (network, subnet)
);
CREATE TABLE IF NOT EXISTS net_sandboxes (
    container_id TEXT PRIMARY KEY,
    netns TEXT NOT NULL,
    options TEXT NOT NULL,
    status TEXT NOT NULL
);
"""


class NetStore:
    def __init__(self, db_path: str):
        self._path = db_path
        self._db = connect(db_path, _SCHEMA, "net_sandboxes")

    def close(self) -> None:
        from ..sqlitedb import close

        close(self._db, self._path)

    # -- IPAM ----------------------------------------------------------------

    def allocate(self, container_id: str, wanted: list[tuple[Network, Attachment]]) -> dict[str, list[str]]:
        """Addresses for the container on each network: its static ones
        (checked free and inside a subnet) and one per subnet otherwise."""
        out: dict[str, list[str]] = {}
        with self._db.transaction():
            for net, att in wanted:
                ips = []
                subnets = [(s, ipaddress.ip_network(s.subnet, strict=False)) for s in net.subnets]
                statics = [ipaddress.ip_address(ip) for ip in att.static_ips]
                for ip in statics:
                    if not any(ip in sub for _s, sub in subnets):
                        raise InvalidArgument(f"requested static ip {ip} not in any subnet on network {net.name}")
                for s, sub in subnets:
                    mine = [ip for ip in statics if ip in sub]
                    if mine:
                        for ip in mine:
                            self._claim(net, ip, container_id)
                            ips.append(str(ip))
                        continue
                    ips.append(str(self._next_free(net, s, sub, container_id)))
                out[net.name] = ips
        return out

    def _claim(self, net: Network, ip, container_id: str) -> None:
        row = self._db.execute("SELECT container_id FROM net_allocations WHERE network = ? AND ip = ?",
                               (net.name, str(ip))).fetchone()
        if row and row[0] != container_id:
            raise InvalidArgument(f"requested ip address {ip} is already allocated to container ID {row[0]}: IPAM error")
        gateways = {s.gateway for s in net.subnets}
        if str(ip) in gateways:
            raise InvalidArgument(f"requested ip address {ip} is the gateway of network {net.name}: IPAM error")
        self._db.execute("INSERT OR REPLACE INTO net_allocations (network, ip, container_id) VALUES (?, ?, ?)",
                         (net.name, str(ip), container_id))

    def _next_free(self, net: Network, s, sub, container_id: str):
        if s.lease_range:
            first = ipaddress.ip_address(s.lease_range["start_ip"])
            last = ipaddress.ip_address(s.lease_range["end_ip"])
        else:
            first = sub.network_address + 1
            last = sub.broadcast_address - 1 if sub.version == 4 else sub.broadcast_address
        used = {r[0] for r in self._db.execute("SELECT ip FROM net_allocations WHERE network = ?", (net.name,))}
        used.add(s.gateway)
        row = self._db.execute("SELECT ip FROM net_last_ip WHERE network = ? AND subnet = ?", (net.name, s.subnet)).fetchone()
        start = ipaddress.ip_address(row[0]) + 1 if row else first
        if not first <= start <= last:
            start = first
        size = int(last) - int(first) + 1
        ip = start
        for _ in range(min(size, len(used) + 2)):
            if str(ip) not in used:
                self._db.execute("INSERT INTO net_allocations (network, ip, container_id) VALUES (?, ?, ?)",
                                 (net.name, str(ip), container_id))
                self._db.execute("INSERT OR REPLACE INTO net_last_ip (network, subnet, ip) VALUES (?, ?, ?)",
                                 (net.name, s.subnet, str(ip)))
                return ip
            ip = ip + 1 if ip < last else first
        raise InvalidArgument(f"IPAM error: failed to find free IP in range: {first} - {last}")

    def allocations(self, container_id: str) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for net, ip in self._db.execute("SELECT network, ip FROM net_allocations WHERE container_id = ?", (container_id,)):
            out.setdefault(net, []).append(ip)
        return out

    def free(self, container_id: str, network: str | None = None) -> None:
        if network is None:
            self._db.execute("DELETE FROM net_allocations WHERE container_id = ?", (container_id,))
        else:
            self._db.execute("DELETE FROM net_allocations WHERE container_id = ? AND network = ?", (container_id, network))

    def forget_network(self, network: str) -> None:
        self._db.execute("DELETE FROM net_last_ip WHERE network = ?", (network,))

    # -- sandboxes -------------------------------------------------------------

    def record_sandbox(self, container_id: str, netns: str, options: dict) -> None:
        self._db.execute("INSERT OR REPLACE INTO net_sandboxes (container_id, netns, options, status) VALUES (?, ?, ?, '')",
                         (container_id, netns, json.dumps(options)))

    def set_status(self, container_id: str, options: dict, status: dict) -> None:
        self._db.execute("UPDATE net_sandboxes SET options = ?, status = ? WHERE container_id = ?",
                         (json.dumps(options), json.dumps(status), container_id))

    def sandbox(self, container_id: str) -> tuple[str, dict, dict] | None:
        """(netns path, netavark options, netavark's answer ({} before it came))."""
        row = self._db.execute("SELECT netns, options, status FROM net_sandboxes WHERE container_id = ?",
                               (container_id,)).fetchone()
        if not row:
            return None
        return row[0], json.loads(row[1]), json.loads(row[2]) if row[2] else {}

    def orphans(self) -> list[str]:
        """Sandboxes whose container is no longer in the store."""
        from ..sqlitedb import OperationalError

        try:
            return [r[0] for r in self._db.execute(
                "SELECT container_id FROM net_sandboxes WHERE container_id NOT IN (SELECT id FROM containers)")]
        except OperationalError:
            return []  # no containers table yet: no containers either

    def sandboxes(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT container_id FROM net_sandboxes")]

    def drop_sandbox(self, container_id: str) -> None:
        """The sandbox is gone from the host: forget it and free its addresses."""
        with self._db.transaction():
            self._db.execute("DELETE FROM net_sandboxes WHERE container_id = ?", (container_id,))
            self._db.execute("DELETE FROM net_allocations WHERE container_id = ?", (container_id,))

    def users_of(self, network: str) -> set[str]:
        """Containers holding addresses on the network (sandboxes alive or half gone)."""
        return {r[0] for r in self._db.execute("SELECT DISTINCT container_id FROM net_allocations WHERE network = ?", (network,))}
