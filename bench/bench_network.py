#!/usr/bin/env python3
"""pypod beside podman on network work, in one run (issue 8):

  bridge   `run --rm busybox true` on a bridge network (netavark setup and
           teardown, no DNS: as podman's default network)
  none     the same with `--network none`: what the bridge costs on top
  pod      `pod create --network NET` + `run --pod POD busybox true`
  port     one HTTP round trip (new connection, GET, answer) through a port
           published on 127.0.0.1 to busybox httpd in a container
  dns      `run --rm` on a DNS-enabled network of a container that resolves
           another container by name (aardvark-dns)

Each engine gets its own temporary root, run root and network: pypod's is
its default network, named in a config file of the run's own (PYPOD_CONFIG);
podman's a created network whose definition lives in the run's directory
(CONTAINERS_CONF's network_config_dir), never /etc/containers/networks.
Addresses and bridge names come from the claim the tests use
(tests/hostnet.py), so a run never meets another's networks.  Runs are
interleaved (pypod, podman, pypod, ...) after one warm-up each; medians
and pypod/podman ratios are printed.

    .venv/bin/python bench/bench_network.py [--runs N] [--only bridge,none,pod,port,dns]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from run_bench import BenchError, Engines, interleaved, quiet, report, sh, summary, time_once  # noqa: E402

from tests.hostnet import claim  # noqa: E402

CASES = ("bridge", "none", "pod", "port", "dns")


class NetBench:
    def __init__(self, e: Engines):
        self.e = e
        self.nb = claim()
        nb = self.nb
        t = e.tmp
        self.pypod_cfg = f"{t}/pypod.json"
        with open(self.pypod_cfg, "w") as f:
            f.write(nb.config("bridge"))
        self.podman_conf = f"{t}/containers.conf"
        with open(self.podman_conf, "w") as f:
            # the rlimits of run_bench.py for every container, the pods' infra ones too
            limits = ", ".join(f'"{v}"' for v in e.podman_run[2:][1::2])
            f.write(f'[containers]\ndefault_ulimits = [{limits}]\n\n[network]\nnetwork_config_dir = "{t}/pn"\n')
        os.makedirs(f"{t}/pn")
        os.environ["PYPOD_CONFIG"] = self.pypod_cfg
        os.environ["CONTAINERS_CONF"] = self.podman_conf
        self.podman_net = nb.name("p")
        self.dns_nets = {"pypod": nb.name("yd"), "podman": nb.name("pd")}
        self.pods = 0

    def make_networks(self) -> None:
        e, nb = self.e, self.nb
        self.podman_network(self.podman_net, nb.subnet(0), f"{nb.prefix}p", "--disable-dns")
        sh([*e.pypod, "network", "create", "--subnet", nb.subnet(1), "--interface-name", f"{nb.prefix}y1",
            self.dns_nets["pypod"]])
        self.podman_network(self.dns_nets["podman"], nb.subnet(2), f"{nb.prefix}p1")

    def podman_network(self, name: str, subnet: str, bridge: str, *opts: str) -> None:
        """podman 4.3 has no --interface-name: its definition (netavark's
        JSON, in this run's directory) gets the bridge name of this run's
        claim, so no other podman on the host picks the same podmanN."""
        import json

        sh([*self.e.podman, "network", "create", *opts, "--subnet", subnet, name])
        path = f"{self.e.tmp}/pn/{name}.json"
        with open(path) as f:
            net = json.load(f)
        net["network_interface"] = bridge
        with open(path, "w") as f:
            json.dump(net, f)

    def engine(self, name: str) -> list[str]:
        return self.e.pypod if name == "pypod" else self.e.podman

    def limits(self, name: str) -> list[str]:
        """podman's containers need their rlimits lowered here (run_bench.py)."""
        return [] if name == "pypod" else self.e.podman_run[2:]

    def run_opts(self, name: str) -> list[str]:
        """podman needs its network named too (pypod's is its default)."""
        return [] if name == "pypod" else ["--network", self.podman_net, *self.limits(name)]

    def cleanup(self) -> None:
        e = self.e
        for cmd in (e.pypod, e.podman):
            quiet([*cmd, "pod", "rm", "-a", "-f", "-t", "0"])
            quiet([*cmd, "rm", "-a", "-f", "-t", "0"])
        quiet([*e.podman, "network", "rm", "-f", self.podman_net, *self.dns_nets.values()])
        quiet([*e.pypod, "network", "rm", "-f", *self.dns_nets.values()])
        left = self.nb.cleanup()
        if left:
            print(f"warning: removed what was left on the host: {left}", file=sys.stderr)
        self.nb.release()

    # -- the cases ----------------------------------------------------------

    def bridge(self, a) -> None:
        fns = {n: (lambda n=n: time_once([*self.engine(n), "run", "--rm", *self.run_opts(n), "busybox", "true"]))
               for n in ("pypod", "podman")}
        report("run --rm busybox true, bridge network", interleaved(fns, a.runs), "ms")

    def none(self, a) -> None:
        fns = {"pypod": lambda: time_once([*self.e.pypod, "run", "--rm", "--network", "none", "busybox", "true"]),
               "podman": lambda: time_once([*self.e.podman, "run", "--rm", *self.e.podman_run, "busybox", "true"])}
        report("run --rm busybox true, --network none", interleaved(fns, a.runs), "ms")

    def pod(self, a) -> None:
        def one(name: str) -> float:
            self.pods += 1
            pod = f"pbpod{self.pods}"
            net = [] if name == "pypod" else ["--network", self.podman_net]
            cmd = self.engine(name)
            t0 = time.perf_counter()
            sh([*cmd, "pod", "create", "--name", pod, *net])
            sh([*cmd, "run", "--rm", "--pod", pod, *self.limits(name), "busybox", "true"])
            dt = time.perf_counter() - t0
            sh([*cmd, "pod", "rm", "-f", "-t", "0", pod])
            return dt

        fns = {n: (lambda n=n: one(n)) for n in ("pypod", "podman")}
        report("pod create + run --pod busybox true", interleaved(fns, max(3, a.runs // 2)), "ms")

    def port(self, a) -> None:
        import socket

        ports = {}
        for name in ("pypod", "podman"):
            cid = sh([*self.engine(name), "run", "-d", *self.run_opts(name), "-p", "127.0.0.1::80", "--name", "pbweb",
                      "busybox", "httpd", "-f", "-p", "80", "-h", "/etc"]).stdout.decode().strip()
            out = sh([*self.engine(name), "port", cid, "80/tcp"]).stdout.decode().strip()
            ports[name] = int(out.rsplit(":", 1)[1])

        def round_trip(port: int) -> float:
            t0 = time.perf_counter()
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(b"GET /hostname HTTP/1.0\r\n\r\n")
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
            dt = time.perf_counter() - t0
            if b" 200 " not in data.split(b"\r\n", 1)[0]:
                raise BenchError(f"port {port}: {data[:80]!r}")
            return dt

        deadline = time.monotonic() + 10
        for port in ports.values():
            while True:
                try:
                    round_trip(port)
                    break
                except (OSError, BenchError):
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
        try:
            fns = {n: (lambda p=p: round_trip(p)) for n, p in ports.items()}
            report("HTTP round trip through a published port", interleaved(fns, a.runs * 10), "ms")
        finally:
            for name in ("pypod", "podman"):
                quiet([*self.engine(name), "rm", "-f", "-t", "0", "pbweb"])

    def dns(self, a) -> None:
        for name in ("pypod", "podman"):
            opts = self.limits(name)
            sh([*self.engine(name), "run", "-d", "--network", self.dns_nets[name], *opts, "--name", "pbsrv",
                "busybox", "sleep", "100000"])

        def one(name: str) -> float:
            opts = self.limits(name)
            return time_once([*self.engine(name), "run", "--rm", "--network", self.dns_nets[name], *opts, "busybox",
                              "nslookup", "pbsrv"])

        try:
            fns = {n: (lambda n=n: one(n)) for n in ("pypod", "podman")}
            report("run --rm busybox nslookup NAME, DNS network", interleaved(fns, max(3, a.runs // 2)), "ms")
        finally:
            for name in ("pypod", "podman"):
                quiet([*self.engine(name), "rm", "-f", "-t", "0", "pbsrv"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10, help="timed runs per engine (port: ten times as many)")
    ap.add_argument("--only", default=",".join(CASES), help=f"comma-separated: {','.join(CASES)}")
    a = ap.parse_args()
    only = [c for c in a.only.split(",") if c]
    for c in only:
        if c not in CASES:
            ap.error(f"unknown case {c!r}")
    if os.geteuid() != 0:
        ap.error("run as root: containers and networks need it")
    e = Engines(["pypod", "podman"])
    nb = None
    try:
        nb = NetBench(e)  # the config files first: setup's first run is on the bridge
        e.setup()
        nb.make_networks()
        for c in only:
            getattr(nb, c)(a)
        summary()
        for note in e.notes:
            print(f"note: {note}")
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if nb is not None:
            nb.cleanup()
        e.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
