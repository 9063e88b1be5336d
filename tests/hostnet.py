"""Host-wide network state for tests: a private block of addresses and bridge
names per test, claimed across every test process on the machine (other
helpers' suites and xdist workers run at once), and the leak checks.

A claim is a file named after a /20 block of 10.192.0.0/10 (a range no
podman default pool reaches before thousands of networks) holding the
claimer's pid; a claim whose process is gone is taken over.  Bridges are
named after the block (pyt<N>d, pyt<N>n1, ...), so everything a test
makes on the host can be found and removed by name.
"""

from __future__ import annotations

import ipaddress
import os
import random
import re
import subprocess

from pypod.oci.procs import pid_alive

CLAIMS_DIR = "/tmp/pypod-test-netblocks"
BASE = ipaddress.ip_network("10.192.0.0/10")
BLOCKS = list(BASE.subnets(new_prefix=20))


class NetBlock:
    def __init__(self, index: int):
        self.index = index
        self.block = BLOCKS[index]
        subnets = list(self.block.subnets(new_prefix=24))
        self.default_subnet = subnets[0]
        #: further /24s a test may give --subnet (the pool starts after them)
        self.spare = subnets[1:8]
        self.pool = subnets[8:]
        self.prefix = f"pyt{index}"
        self.default_interface = f"{self.prefix}d"
        #: netavark names its firewall chains after the network's *name*:
        #: networks of parallel tests must never share one
        self.default_network = self.name("podman")

    def name(self, base: str) -> str:
        """A network name of this test's own (see default_network)."""
        return f"{self.prefix}-{base}"

    def subnet(self, i: int) -> str:
        return str(self.spare[i])

    def config(self, netns: str) -> str:
        """The test's pypod config (JSON: the same tables as TOML, without
        tomllib's import on every command)."""
        import json

        return json.dumps({
            "network": {"default_network": self.default_network,
                        "default_subnet": str(self.default_subnet), "default_interface": self.default_interface,
                        "interface_prefix": f"{self.prefix}n",
                        "default_subnet_pools": [{"base": str(s), "size": 24} for s in self.pool[:4]]},
            "containers": {"netns": netns},
        })

    def release(self) -> None:
        try:
            os.unlink(os.path.join(CLAIMS_DIR, str(self.index)))
        except FileNotFoundError:
            pass

    # -- what is left on the host --------------------------------------------------

    def bridges(self) -> list[str]:
        return [n for n in os.listdir("/sys/class/net") if re.fullmatch(rf"{self.prefix}[dn]\d*", n)]

    def iptables_rules(self) -> list[str]:
        """Rules of any table that name an address of this block."""
        out = []
        for table in ("nat", "filter"):
            text = subprocess.run(["iptables", "-t", table, "-S"], capture_output=True, text=True).stdout
            for line in text.splitlines():
                for m in re.finditer(r"(\d+\.\d+\.\d+\.\d+)(/\d+)?", line):
                    try:
                        if ipaddress.ip_address(m.group(1)) in self.block:
                            out.append(f"{table}: {line}")
                            break
                    except ValueError:
                        continue
        return out

    def cleanup(self) -> list[str]:
        """Remove whatever of this block is left on the host; say what was."""
        left = []
        for rule in self.iptables_rules():
            table, _, spec = rule.partition(": ")
            if spec.startswith("-A "):
                subprocess.run(["iptables", "-t", table, "-D", *_split_rule(spec[3:])], capture_output=True)
                left.append(rule)
        for br in self.bridges():
            subprocess.run(["ip", "link", "del", br], capture_output=True)
            left.append(f"bridge {br}")
        return left


def _split_rule(spec: str) -> list[str]:
    import shlex

    return shlex.split(spec)


def host_routes() -> list:
    out = []
    for line in open("/proc/net/route").read().splitlines()[1:]:
        parts = line.split()
        dest = ipaddress.IPv4Address(int(parts[1], 16).to_bytes(4, "little"))
        mask = ipaddress.IPv4Address(int(parts[7], 16).to_bytes(4, "little"))
        if int(mask):
            out.append(ipaddress.ip_network(f"{dest}/{mask}", strict=False))
    return out


def claim() -> NetBlock:
    os.makedirs(CLAIMS_DIR, exist_ok=True)
    routes = host_routes()
    start = random.randrange(len(BLOCKS))
    for k in range(len(BLOCKS)):
        i = (start + k) % len(BLOCKS)
        if any(BLOCKS[i].overlaps(r) for r in routes):
            continue
        path = os.path.join(CLAIMS_DIR, str(i))
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                pid = int(open(path).read().strip() or 0)
            except (OSError, ValueError):
                continue
            if pid and pid_alive(pid):
                continue
            try:
                os.unlink(path)  # its claimer is gone
            except FileNotFoundError:
                pass
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                continue
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        nb = NetBlock(i)
        nb.cleanup()  # what a crashed claimer may have left
        return nb
    raise RuntimeError("no free test network block")
