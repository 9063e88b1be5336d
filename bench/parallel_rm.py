#!/usr/bin/env python3
"""`rm -af` of containers whose process ignores SIGTERM, pypod beside podman.

    sudo .venv/bin/python bench/parallel_rm.py [--containers 20] [--time 10]

Each container's PID 1 is `sleep`, which ignores SIGTERM: every removal waits
its whole stop timeout before the SIGKILL.  Done one after another that is
containers x time; podman's --parallel workers (and pypod's) do several at
once.  Prints each engine's wall time and the ratio.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_bench import PYPOD, podman_ulimits  # noqa: E402


def timed_rm(argv: list[str], run_args: list[str], n: int, t: int) -> float:
    for i in range(n):
        subprocess.run([*argv, "run", "-d", *run_args, "--name", f"pr{i}", "busybox", "sleep", "100000"],
                       check=True, capture_output=True)
    t0 = time.monotonic()
    p = subprocess.run([*argv, "rm", "-af", "-t", str(t)], capture_output=True)
    elapsed = time.monotonic() - t0
    if p.returncode != 0 or len(p.stdout.split()) != n:
        raise SystemExit(f"{argv[0]} rm -af: exit {p.returncode}: {p.stderr.decode(errors='replace')[-500:]}")
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--containers", type=int, default=20)
    ap.add_argument("--time", type=int, default=10)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="prm-", dir="/tmp")
    try:
        y = [PYPOD, "--root", f"{tmp}/y", "--runroot", f"{tmp}/yr"]
        results = {"pypod": timed_rm(y, [], a.containers, a.time)}
        if shutil.which("podman"):
            subprocess.run([*y, "save", "-o", f"{tmp}/bb.tar", "busybox"], check=True, capture_output=True)
            pm = ["podman", "--root", f"{tmp}/p", "--runroot", f"{tmp}/pr", "--tmpdir", f"{tmp}/pt",
                  "--cgroup-manager", "cgroupfs", "--events-backend", "file", "--runtime", "runc"]
            subprocess.run([*pm, "load", "-q", "-i", f"{tmp}/bb.tar"], check=True, capture_output=True)
            results["podman"] = timed_rm(pm, ["--network", "none", *podman_ulimits()], a.containers, a.time)
        print(f"rm -af -t {a.time} of {a.containers} containers ignoring SIGTERM "
              f"(one after another: {a.containers * a.time} s)")
        for name, secs in results.items():
            print(f"  {name:7s} {secs:6.1f} s")
        if "podman" in results:
            print(f"  pypod/podman: {results['pypod'] / results['podman']:.2f}")
    finally:
        subprocess.run([PYPOD, "--root", f"{tmp}/y", "--runroot", f"{tmp}/yr", "rm", "-af", "-t", "0"], capture_output=True)
        with open("/proc/self/mountinfo") as f:
            left = sorted((line.split()[4] for line in f if line.split()[4].startswith(tmp + "/")), reverse=True)
        if left:
            subprocess.run(["umount", "-R", "-l", *left], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
