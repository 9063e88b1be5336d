#!/usr/bin/env python3
"""Rootless pypod beside rootless podman, on the same work in one run.

    sudo .venv/bin/python bench/bench_rootless.py [--runs N]

A throwaway unprivileged user (tests/rootless/user.py: useradd with a
subuid/subgid range, removed with every process it left at the end) runs
both engines, each with its own storage under the user's home:

  run    `run --rm --network none busybox true`
  exec   `exec CTR true` against a running `sleep`

podman 4.3.1 gets the same busybox image (saved by pypod as root, loaded by
podman as the user), native overlay (`--storage-driver overlay`; its
default here is vfs) and runc (crun refuses this host's hybrid cgroups).
Both keep their pause process between commands, as in everyday use.  Runs
are interleaved after a warm-up, so drift on a shared machine hits both
alike: the medians' ratios are the result.  Stdlib only (and the tests'
user helper).
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

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.rootless.user import RootlessUser, missing  # noqa: E402

PYPOD_ROOT = os.path.join(os.path.dirname(os.path.abspath(sys.executable)), "pypod")


def timed(user: RootlessUser, argv: list[str]) -> float:
    t = time.perf_counter()
    p = user.run(argv)
    took = time.perf_counter() - t
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(argv)}: exit {p.returncode}: {p.stderr.decode(errors='replace').strip()}")
    return took


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=15)
    a = ap.parse_args()
    reason = missing() or (None if shutil.which("podman") else "podman is not installed")
    if reason:
        print(f"bench_rootless: {reason}", file=sys.stderr)
        return 2
    user = RootlessUser(prefix="pbrl")
    tmp = tempfile.mkdtemp(prefix="pbrl-")
    try:
        archive = os.path.join(tmp, "busybox.tar")
        subprocess.run([PYPOD_ROOT, "--root", f"{tmp}/r", "--runroot", f"{tmp}/rr", "save", "-o", archive, "busybox"],
                       check=True, capture_output=True)
        os.chmod(tmp, 0o755)
        os.chmod(archive, 0o644)
        pypod = [user.launcher]
        podman = ["podman", "--runtime", "runc", "--storage-driver", "overlay", "--cgroup-manager", "cgroupfs",
                  "--events-backend", "file"]
        timed(user, [*pypod, "run", "--rm", "--network", "none", "busybox", "true"])  # image, pause process
        timed(user, [*podman, "load", "-q", "-i", archive])
        timed(user, [*podman, "run", "--rm", "--network", "none", "busybox", "true"])
        engines = {"pypod": pypod, "podman": podman}
        results: dict[str, dict[str, list[float]]] = {"run": {}, "exec": {}}
        for _ in range(a.runs):
            for name, cmd in engines.items():
                results["run"].setdefault(name, []).append(
                    timed(user, [*cmd, "run", "--rm", "--network", "none", "busybox", "true"]))
        for name, cmd in engines.items():
            timed(user, [*cmd, "run", "-d", "--name", "bench-sleeper", "--network", "none", "busybox", "sleep", "100000"])
            timed(user, [*cmd, "exec", "bench-sleeper", "true"])
        for _ in range(a.runs):
            for name, cmd in engines.items():
                results["exec"].setdefault(name, []).append(timed(user, [*cmd, "exec", "bench-sleeper", "true"]))
        print(f"rootless, {a.runs} runs each, medians (interleaved; user {user.name})")
        print(f"{'benchmark':<8} {'pypod':>10} {'podman':>10} {'pypod/podman':>13}")
        for bench, per in results.items():
            py, pm = statistics.median(per["pypod"]), statistics.median(per["podman"])
            print(f"{bench:<8} {py * 1000:>8.0f}ms {pm * 1000:>8.0f}ms {py / pm:>12.2f}x")
        return 0
    finally:
        user.remove()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
