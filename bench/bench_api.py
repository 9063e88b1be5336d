#!/usr/bin/env python3
"""pypod's REST service beside `podman system service`, driven by docker-py.

    sudo .venv/bin/python bench/bench_api.py [--runs N] [--containers 200] [--mb 64]

Each service gets its own temporary root and socket; both run the same
busybox image (saved by pypod, loaded by podman).  Reports medians and the
pypod/podman ratios: exec_run round trip, exec stdout throughput, and
containers.list with many containers.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

PYPOD = os.path.join(os.path.dirname(sys.executable), "pypod")
PODMAN_LIMITS = {"nofile": {"Name": "nofile", "Soft": 1024, "Hard": 1024}, "nproc": {"Name": "nproc", "Soft": 1024, "Hard": 1024}}


def wait_socket(path: str, proc: subprocess.Popen) -> None:
    for _ in range(200):
        if os.path.exists(path):
            return
        if proc.poll() is not None:
            raise SystemExit(f"service exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        time.sleep(0.05)
    raise SystemExit(f"no socket at {path}")


def main() -> int:
    import docker

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--containers", type=int, default=200)
    ap.add_argument("--mb", type=int, default=64)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="pa-", dir="/tmp")  # podman wants short run roots
    pypod = [PYPOD, "--root", f"{tmp}/y", "--runroot", f"{tmp}/yr"]
    podman = ["podman", "--root", f"{tmp}/p", "--runroot", f"{tmp}/pr", "--cgroup-manager", "cgroupfs",
              "--events-backend", "file", "--runtime", "runc"] if shutil.which("podman") else None
    procs = []
    try:
        subprocess.run([*pypod, "save", "-o", f"{tmp}/bb.tar", "busybox"], check=True)
        services = {"pypod": [*pypod, "system", "service", "--time", "0", f"unix://{tmp}/y.sock"]}
        if podman:
            subprocess.run([*podman, "load", "-q", "-i", f"{tmp}/bb.tar"], check=True, stdout=subprocess.DEVNULL)
            services["podman"] = [*podman, "system", "service", "--time", "0", f"unix://{tmp}/p.sock"]
        clients = {}
        for name, cmd in services.items():
            p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            procs.append(p)
            sock = cmd[-1][7:]
            wait_socket(sock, p)
            clients[name] = docker.DockerClient(base_url=f"unix://{sock}", version="1.41")
        results: dict[str, dict[str, float]] = {n: {} for n in clients}
        for name, c in clients.items():
            limits = [docker.types.Ulimit(name=k, soft=v["Soft"], hard=v["Hard"]) for k, v in PODMAN_LIMITS.items()] if name == "podman" else None
            ctr = c.containers.run("busybox", ["sleep", "10000"], detach=True, network_mode="none", ulimits=limits)
            ctr.exec_run(["true"])
            times = []
            for _ in range(a.runs):
                t0 = time.perf_counter()
                code, _ = ctr.exec_run(["true"])
                times.append(time.perf_counter() - t0)
                assert code == 0
            results[name]["exec_run ms"] = statistics.median(times) * 1000
            size = a.mb * 1024 * 1024
            rates = []
            for _ in range(3):
                t0 = time.perf_counter()
                code, out = ctr.exec_run(["sh", "-c", f"dd if=/dev/zero bs=65536 count={a.mb * 16} 2>/dev/null"])
                rates.append(size / (time.perf_counter() - t0) / 1e6)
                assert code == 0 and len(out) == size, (code, len(out))
            results[name][f"exec stdout {a.mb} MiB, MB/s"] = statistics.median(rates)
            for i in range(a.containers - 1):
                c.containers.create("busybox", ["true"], network_mode="none", ulimits=limits)
            times = []
            for _ in range(max(3, a.runs // 4)):
                t0 = time.perf_counter()
                listed = c.containers.list(all=True)
                times.append(time.perf_counter() - t0)
            assert len(listed) == a.containers, len(listed)
            results[name][f"containers.list({a.containers}) ms"] = statistics.median(times) * 1000
        for metric in results["pypod"]:
            line = f"  {metric:<28}" + "".join(f"{n} {results[n][metric]:9.1f}   " for n in results)
            if "podman" in results:
                better = "higher" if "/s" in metric else "lower"
                line += f"pypod/podman = {results['pypod'][metric] / results['podman'][metric]:.2f} ({better} is better)"
            print(line)
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        subprocess.run([*pypod, "rm", "-a", "-f", "-t", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if podman:
            subprocess.run([*podman, "rm", "-a", "-f", "-t", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            subprocess.run([*podman, "system", "reset", "-f"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(f"findmnt -rn -o TARGET | grep '^{tmp}' | sort -r | xargs -r umount -l", shell=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
