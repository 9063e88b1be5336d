#!/usr/bin/env python3
"""pypod beside podman (and raw runc as the floor), on the same work, in one run.

    sudo .venv/bin/python bench/run_bench.py [--runs N] [--only run,exec]

Absolute times drift on shared machines; the ratios are the result.  Every
engine gets its own temporary root, so this never touches /var/lib/pypod or
podman's real storage.  podman, when installed, gets pypod's busybox image
(saved by pypod, loaded by podman) so both run the same bytes.
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

HERE = os.path.dirname(os.path.abspath(__file__))
PYPOD = os.path.join(os.path.dirname(sys.executable), "pypod")


def timed(cmd: list[str], runs: int, **kw) -> list[float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kw)
        times.append(time.perf_counter() - t0)
    return times


class Engines:
    #: This machine lacks CAP_SYS_RESOURCE and podman's default rlimits exceed
    #: what its runtime may set here; pypod clamps its own defaults itself.
    PODMAN_RUN = ["--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]

    def __init__(self, tmp: str):
        self.tmp = tmp
        self.cleanup_dirs: list[str] = []
        self.pypod = [PYPOD, "--root", f"{tmp}/pypod/root", "--runroot", f"{tmp}/pypod/run"]
        self.podman = None
        if shutil.which("podman"):
            # podman refuses run roots over 50 characters: keep its paths short
            short = tempfile.mkdtemp(prefix="pb-", dir="/tmp")
            self.cleanup_dirs = [short]
            self.podman = ["podman", "--root", f"{short}/r", "--runroot", f"{short}/rr",
                           "--cgroup-manager", "cgroupfs", "--events-backend", "file", "--runtime", "runc"]
        subprocess.run([*self.pypod, "run", "--rm", "busybox", "true"], check=True)
        if self.podman:
            archive = f"{tmp}/busybox.tar"
            subprocess.run([*self.pypod, "save", "-o", archive, "busybox"], check=True)
            subprocess.run([*self.podman, "load", "-q", "-i", archive], check=True, stdout=subprocess.DEVNULL)

    def rootfs(self) -> str:
        """A minimal busybox rootfs for raw runc (the floor needs no image)."""
        path = f"{self.tmp}/runc-bundle/rootfs"
        if not os.path.isdir(path):
            os.makedirs(f"{path}/bin")
            shutil.copy("/bin/busybox", f"{path}/bin/busybox")
            for applet in ("sh", "true", "cat", "sleep"):
                os.symlink("busybox", f"{path}/bin/{applet}")
        return path


def raw_runc_bundle(engines: Engines, args: list[str], name: str) -> str:
    rootfs = engines.rootfs()
    bundle = os.path.dirname(rootfs)
    subprocess.run(["runc", "spec", "--bundle", bundle], check=False, stderr=subprocess.DEVNULL)
    import json

    with open(f"{bundle}/config.json") as f:
        spec = json.load(f)
    spec["process"]["terminal"] = False
    spec["process"]["args"] = args
    spec["root"]["readonly"] = False
    with open(f"{bundle}/config.json", "w") as f:
        json.dump(spec, f)
    return bundle


def report(title: str, rows: list[tuple[str, list[float]]], base: str = "podman") -> None:
    print(f"\n== {title}")
    med = {name: statistics.median(ts) for name, ts in rows if ts}
    for name, ts in rows:
        if not ts:
            continue
        ratio = f"  pypod/{base} = {med['pypod'] / med[base]:.2f}" if name == "pypod" and base in med else ""
        print(f"  {name:<8} median {med[name]*1000:8.1f} ms  (min {min(ts)*1000:.1f}, n={len(ts)}){ratio}")


def bench_run(e: Engines, runs: int) -> None:
    rows = [("pypod", timed([*e.pypod, "run", "--rm", "busybox", "true"], runs))]
    if e.podman:
        rows.append(("podman", timed([*e.podman, "run", "--rm", *e.PODMAN_RUN, "busybox", "true"], runs)))
    if shutil.which("runc"):
        bundle = raw_runc_bundle(e, ["true"], "b")
        rows.append(("runc", timed(["runc", "--root", f"{e.tmp}/runc-state", "run", "--bundle", bundle, "bench-run"], runs)))
    report("run --rm busybox true", rows)


def bench_exec(e: Engines, runs: int) -> None:
    subprocess.run([*e.pypod, "run", "-d", "--name", "bexec", "busybox", "sleep", "1000"], check=True, stdout=subprocess.DEVNULL)
    rows = []
    try:
        rows.append(("pypod", timed([*e.pypod, "exec", "bexec", "true"], runs)))
        if e.podman:
            subprocess.run([*e.podman, "run", "-d", *e.PODMAN_RUN, "--name", "bexec", "busybox", "sleep", "1000"],
                           check=True, stdout=subprocess.DEVNULL)
            rows.append(("podman", timed([*e.podman, "exec", "bexec", "true"], runs)))
        report("exec CTR true", rows)
    finally:
        subprocess.run([*e.pypod, "rm", "-f", "-t", "0", "bexec"], stdout=subprocess.DEVNULL)
        if e.podman:
            subprocess.run([*e.podman, "rm", "-f", "-t", "0", "bexec"], stdout=subprocess.DEVNULL)


def throughput(cmd: list[str], mb: int, direction: str) -> float:
    """MB/s of `mb` MiB through an exec, stdin (in) or stdout (out)."""
    size = mb * 1024 * 1024
    t0 = time.perf_counter()
    if direction == "in":
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
        block = b"\0" * (1 << 20)
        for _ in range(mb):
            p.stdin.write(block)
        p.stdin.close()
        p.wait()
    else:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, check=True)
        assert len(p.stdout) == size, len(p.stdout)
    return size / (time.perf_counter() - t0) / 1e6


def bench_throughput(e: Engines, runs: int, mb: int = 256) -> None:
    subprocess.run([*e.pypod, "run", "-d", "--name", "btp", "busybox", "sleep", "1000"], check=True, stdout=subprocess.DEVNULL)
    engines = [("pypod", e.pypod)]
    if e.podman:
        subprocess.run([*e.podman, "run", "-d", *e.PODMAN_RUN, "--name", "btp", "busybox", "sleep", "1000"],
                       check=True, stdout=subprocess.DEVNULL)
        engines.append(("podman", e.podman))
    out_cmd = ["sh", "-c", f"dd if=/dev/zero bs=65536 count={mb * 16} 2>/dev/null"]
    try:
        for label, direction, args in (("exec -i stdin", "in", ["-i", "btp", "sh", "-c", "cat > /dev/null"]),
                                       ("exec stdout", "out", ["btp", *out_cmd])):
            print(f"\n== {label}, {mb} MiB")
            res = {}
            for name, base in engines:
                vals = [throughput([*base, "exec", *args], mb, direction) for _ in range(max(1, runs // 10))]
                res[name] = statistics.median(vals)
                print(f"  {name:<8} median {res[name]:8.1f} MB/s (n={len(vals)})")
            if "podman" in res:
                print(f"  pypod/podman throughput = {res['pypod'] / res['podman']:.2f}")
    finally:
        subprocess.run([*e.pypod, "rm", "-f", "-t", "0", "btp"], stdout=subprocess.DEVNULL)
        if e.podman:
            subprocess.run([*e.podman, "rm", "-f", "-t", "0", "btp"], stdout=subprocess.DEVNULL)


BENCHES = {"run": bench_run, "exec": bench_exec, "throughput": bench_throughput}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--only", default=",".join(BENCHES))
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="pypod-bench-")
    try:
        e = Engines(tmp)
        for name in a.only.split(","):
            BENCHES[name](e, a.runs)
    finally:
        subprocess.run([PYPOD, "--root", f"{tmp}/pypod/root", "--runroot", f"{tmp}/pypod/run", "rm", "-a", "-f", "-t", "0"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if "e" in locals() and e.podman:
            subprocess.run([*e.podman, "rm", "-a", "-f", "-t", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            subprocess.run([*e.podman, "system", "reset", "-f"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for d in [tmp, *(e.cleanup_dirs if "e" in locals() else [])]:
            subprocess.run(f"findmnt -rn -o TARGET | grep '^{d}' | sort -r | xargs -r umount -l", shell=True)
            shutil.rmtree(d, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
