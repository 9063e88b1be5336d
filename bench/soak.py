#!/usr/bin/env python3
"""Soak: many exec sessions with streamed output and many containers
created and removed, all at once; then count what was lost and what leaked.

    sudo .venv/bin/python bench/soak.py [--execs 1000] [--containers 200] [--workers 8] [--no-podman]

The work, on each engine (pypod, then podman on the same work):
  * 4 running containers;
  * --execs one-shot `exec` sessions spread over them, each writing a known
    text to stdout and another to stderr (seq: 600 B to 40 KB a stream);
    every byte is compared with what it should be;
  * --containers containers, each `run -d` (or `create`) and then `rm -f`;
  * both at once, on --workers client threads.

Reported: wall time (and the ratio to podman's), failures (non-zero exits,
outputs that differ), bytes lost; for pypod also what is left after
`rm -af`: files under the run root and the container dirs, exec dirs,
mounts, conmon and pypod processes, rows in the store.  0 is the only
acceptable count for each.  Everything runs in a private temporary root.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_bench import PYPOD, podman_ulimits  # noqa: E402

SLEEPERS = 4


def run(cmd: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)


def seq_text(n: int) -> bytes:
    return "".join(f"{i}\n" for i in range(1, n + 1)).encode()


class Soak:
    def __init__(self, name: str, argv: list[str], run_args: list[str], image: list[str]):
        self.name = name
        self.argv = argv
        self.run_args = run_args
        self.image = image
        self.failures: list[str] = []
        self.lost = 0
        self.bytes_expected = 0
        self.lock = threading.Lock()

    def fail(self, what: str) -> None:
        with self.lock:
            self.failures.append(what)

    def exec_job(self, i: int) -> None:
        n_out, n_err = 200 + (i * 37) % 6000, 100 + (i * 53) % 3000
        want_out, want_err = seq_text(n_out), seq_text(n_err)
        ctr = f"soak-s{i % SLEEPERS}"
        p = run([*self.argv, "exec", ctr, "sh", "-c", f"seq 1 {n_out}; seq 1 {n_err} >&2"])
        with self.lock:
            self.bytes_expected += len(want_out) + len(want_err)
        if p.returncode != 0 or p.stdout != want_out or p.stderr != want_err:
            lost = max(0, len(want_out) - len(p.stdout)) + max(0, len(want_err) - len(p.stderr))
            with self.lock:
                self.lost += lost
            self.fail(f"exec {i}: exit {p.returncode}, stdout {len(p.stdout)}/{len(want_out)} B, "
                      f"stderr {len(p.stderr)}/{len(want_err)} B: {p.stderr[-200:]!r}")

    def container_job(self, i: int) -> None:
        name = f"soak-c{i}"
        verb = ["run", "-d"] if i % 2 == 0 else ["create"]
        p = run([*self.argv, *verb, *self.run_args, "--name", name, *self.image, "sleep", "1000"])
        if p.returncode != 0:
            self.fail(f"{verb[0]} {name}: exit {p.returncode}: {p.stderr.decode(errors='replace').strip()}")
            return
        p = run([*self.argv, "rm", "-f", "-t", "0", name])
        if p.returncode != 0:
            self.fail(f"rm {name}: exit {p.returncode}: {p.stderr.decode(errors='replace').strip()}")

    def go(self, execs: int, containers: int, workers: int) -> float:
        for s in range(SLEEPERS):
            p = run([*self.argv, "run", "-d", *self.run_args, "--name", f"soak-s{s}", *self.image, "sleep", "100000"])
            if p.returncode != 0:
                raise SystemExit(f"{self.name}: cannot start a container: {p.stderr.decode(errors='replace')}")
        jobs = [(self.exec_job, i) for i in range(execs)] + [(self.container_job, i) for i in range(containers)]
        random.Random(14).shuffle(jobs)
        t0 = time.monotonic()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for f in [pool.submit(fn, i) for fn, i in jobs]:
                f.result()
        elapsed = time.monotonic() - t0
        run([*self.argv, "rm", "-af", "-t", "0"])
        return elapsed


def pypod_leaks(root: str, runroot: str) -> dict[str, list]:
    """What is left of containers and exec sessions once all were removed."""
    from pypod.oci.procs import conmon_pids

    def listing(*parts: str) -> list[str]:
        path = os.path.join(*parts)
        return sorted(os.listdir(path)) if os.path.isdir(path) else []

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and (conmon_pids(runroot, exact=False) or _pypod_procs(root)):
        time.sleep(0.2)  # exit commands finishing
    mounts = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mnt = line.split()[4]
            if mnt.startswith((root + "/", runroot + "/")):
                mounts.append(mnt)
    db = sqlite3.connect(os.path.join(root, "pypod.db"))
    rows = {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("containers", "exec_sessions")}
    db.close()
    return {
        "run-root files": [*listing(runroot, "containers"), *listing(runroot, "exits"), *listing(runroot, "socket"),
                           *listing(runroot, "locks")],
        "container dirs": [*listing(root, "containers"), *listing(root, "storage", "overlay-containers")],
        "runtime entries": listing(runroot, "runtime"),
        "mounts": mounts,
        "processes": [*conmon_pids(runroot, exact=False), *_pypod_procs(root)],
        "rows": [f"{t}: {n}" for t, n in rows.items() if n],
    }


def _pypod_procs(root: str) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if root.encode() in argv and any(a.endswith(b"pypod") for a in argv[:2]):
                out.append(int(entry))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--execs", type=int, default=1000)
    ap.add_argument("--containers", type=int, default=200)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--no-podman", action="store_true")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="soak-", dir="/tmp")  # short: podman limits its run root's length
    rc = 0
    try:
        y = Soak("pypod", [PYPOD, "--root", f"{tmp}/y", "--runroot", f"{tmp}/yr"], [], ["busybox"])
        results = {"pypod": (y, y.go(a.execs, a.containers, a.workers))}
        leaks = pypod_leaks(f"{tmp}/y", f"{tmp}/yr")
        if not a.no_podman and shutil.which("podman"):
            archive = f"{tmp}/busybox.tar"
            subprocess.run([*y.argv, "save", "-o", archive, "busybox"], check=True, capture_output=True)
            pm = ["podman", "--root", f"{tmp}/p", "--runroot", f"{tmp}/pr", "--tmpdir", f"{tmp}/pt",
                  "--cgroup-manager", "cgroupfs", "--events-backend", "file", "--runtime", "runc"]
            subprocess.run([*pm, "load", "-q", "-i", archive], check=True, capture_output=True)
            p = Soak("podman", pm, ["--network", "none", *podman_ulimits()], ["busybox"])
            results["podman"] = (p, p.go(a.execs, a.containers, a.workers))
            subprocess.run([*pm, "rm", "-af", "-t", "0"], capture_output=True)
        print(f"soak: {a.execs} exec sessions (stdout and stderr checked byte for byte) and {a.containers} "
              f"containers run/created and removed, at once, {a.workers} clients")
        for name, (s, secs) in results.items():
            print(f"  {name:7s} {secs:7.1f} s   failures {len(s.failures)}   lost bytes {s.lost} "
                  f"of {s.bytes_expected}")
            for f in s.failures[:10]:
                print(f"      {f}")
            rc |= bool(s.failures or s.lost)
        if "podman" in results:
            print(f"  pypod/podman time ratio: {results['pypod'][1] / results['podman'][1]:.2f}")
        leaked = {k: v for k, v in leaks.items() if v}
        print("  pypod leaks after rm -af: " + ("none (files, mounts, processes, rows: 0)" if not leaked else json.dumps(leaked)))
        rc |= bool(leaked)
    finally:
        subprocess.run([PYPOD, "--root", f"{tmp}/y", "--runroot", f"{tmp}/yr", "rm", "-af", "-t", "0"], capture_output=True)
        with open("/proc/self/mountinfo") as f:
            left = sorted((line.split()[4] for line in f if line.split()[4].startswith(tmp + "/")), reverse=True)
        if left:  # podman's storage mounts its own dirs: never delete through a mount
            subprocess.run(["umount", "-R", "-l", *left], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
