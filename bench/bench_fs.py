#!/usr/bin/env python3
"""A container's filesystem and resources, pypod beside podman in one run.

    sudo .venv/bin/python bench/bench_fs.py [--runs N] [--only cp,commit,stats,volume] [--mb 200] [--files 2000]
                                            [--containers 50]

  cp      `cp TREE CTR:/in` and `cp CTR:/in OUT` of a tree of --files files
          (--mb MB in all) with a running container, MB/s each way
  commit  `commit CTR IMG` of a container whose writable layer holds that tree
  stats   `stats --no-stream` over --containers running containers
  volume  `volume create V` + `run --rm -v V:/data busybox true`

Each engine has its own temporary root (run_bench.Engines: podman gets
pypod's busybox image through save/load); runs are interleaved after one
warm-up each; what a run leaves (the copy, the image, the volume) is removed
untimed before the next.  Medians and ratios are the result: the machine is
shared.  Stdlib only.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_bench import PYPOD, BenchError, Engines, _terminate, interleaved, quiet, report, sh, summary, time_once  # noqa: E402


def make_tree(path: str, files: int, mb: int) -> int:
    """files files of random bytes in 20 directories; returns the total size."""
    size = mb * 1_000_000 // files
    block = os.urandom(size)
    for i in range(files):
        d = os.path.join(path, f"d{i % 20:02d}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"f{i:05d}"), "wb") as f:
            f.write(block[i % 64:] + block[:i % 64])  # distinct contents, same size
    return size * files


def engines_cmds(e: Engines) -> dict[str, list[str]]:
    out = {"pypod": e.pypod}
    if e.podman:
        out["podman"] = e.podman
    return out


def bench_cp(e: Engines, a, tree: str, total: int) -> None:
    cmds = engines_cmds(e)
    e.start_sleepers("cpbox", interactive=False)
    out_dir = os.path.join(e.tmp, "cp-out")

    def copy_in(cmd):
        def run() -> float:
            quiet([*cmd, "exec", "cpbox", "rm", "-rf", "/in"])
            return total / time_once([*cmd, "cp", tree, "cpbox:/in"]) / 1e6
        return run

    def copy_out(cmd):
        def run() -> float:
            shutil.rmtree(out_dir, ignore_errors=True)
            return total / time_once([*cmd, "cp", "cpbox:/in", out_dir]) / 1e6
        return run

    report(f"cp in: {a.files} files, {total / 1e6:.0f} MB (MB/s)",
           interleaved({n: copy_in(c) for n, c in cmds.items()}, a.runs), "MB/s")
    for n, c in cmds.items():  # the last copy in stays for cp out
        got = sh([*c, "exec", "cpbox", "sh", "-c", "find /in -type f | wc -l"]).stdout.decode().strip()
        if got != str(a.files):
            raise BenchError(f"{n}: {got} files copied in, {a.files} expected")
    report(f"cp out: {a.files} files, {total / 1e6:.0f} MB (MB/s)",
           interleaved({n: copy_out(c) for n, c in cmds.items()}, a.runs), "MB/s")
    shutil.rmtree(out_dir, ignore_errors=True)


def bench_commit(e: Engines, a, total: int) -> None:
    cmds = engines_cmds(e)

    def commit(cmd):
        def run() -> float:
            quiet([*cmd, "rmi", "-f", "bench-committed"])
            return time_once([*cmd, "commit", "-q", "cpbox", "bench-committed"])
        return run

    report(f"commit of a container holding {total / 1e6:.0f} MB in {a.files} files",
           interleaved({n: commit(c) for n, c in cmds.items()}, a.runs), "ms")
    for c in cmds.values():
        quiet([*c, "rmi", "-f", "bench-committed"])


def bench_stats(e: Engines, a) -> None:
    cmds = engines_cmds(e)
    for i in range(a.containers):
        sh([*e.pypod, "run", "-d", "--name", f"st{i}", *e.image("pypod"), "sleep", "1000000"])
        if e.podman:
            sh([*e.podman, "run", "-d", *e.podman_run, "--name", f"st{i}", *e.image("podman"), "sleep", "1000000"])
    for n, c in cmds.items():
        rows = sh([*c, "stats", "--no-stream", "--format", "{{.Name}}"]).stdout.decode().split()
        if len([r for r in rows if r.startswith("st")]) != a.containers:
            raise BenchError(f"{n} stats listed {len(rows)} containers, {a.containers} expected")
    report(f"stats --no-stream over {a.containers} running containers",
           interleaved({n: (lambda c=c: time_once([*c, "stats", "--no-stream"])) for n, c in cmds.items()}, a.runs), "ms")
    for i in range(a.containers):
        for c in cmds.values():
            quiet([*c, "rm", "-f", "-t", "0", f"st{i}"])


def bench_volume(e: Engines, a) -> None:
    cmds = {"pypod": (e.pypod, [], e.image("pypod"))}
    if e.podman:
        cmds["podman"] = (e.podman, e.podman_run, e.image("podman"))

    def make_and_use(cmd, run_flags, image):
        def run() -> float:
            quiet([*cmd, "volume", "rm", "-f", "benchvol"])
            return (time_once([*cmd, "volume", "create", "benchvol"])
                    + time_once([*cmd, "run", "--rm", *run_flags, "-v", "benchvol:/data", *image, "true"]))
        return run

    report("volume create + run --rm -v VOL:/data true",
           interleaved({n: make_and_use(*v) for n, v in cmds.items()}, a.runs), "ms")


BENCHES = ("cp", "commit", "stats", "volume")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.splitlines()[4:10]))
    ap.add_argument("--runs", type=int, default=5, help="timed runs per engine per benchmark (default 5)")
    ap.add_argument("--only", default=",".join(BENCHES), help=f"comma list of {', '.join(BENCHES)}")
    ap.add_argument("--mb", type=int, default=200, help="MB in the copied tree (default 200)")
    ap.add_argument("--files", type=int, default=2000, help="files in the copied tree (default 2000)")
    ap.add_argument("--containers", type=int, default=50, help="running containers for stats (default 50)")
    ap.add_argument("--engines", default="pypod,podman", help="pypod always runs; leave podman out here")
    a = ap.parse_args()
    only = [b.strip() for b in a.only.split(",") if b.strip()]
    if any(b not in BENCHES for b in only):
        ap.error(f"choose from {', '.join(BENCHES)}")
    if "commit" in only and "cp" not in only:
        ap.error("commit commits the container cp fills: add cp to --only")
    if a.runs < 1 or a.mb < 1 or a.files < 1 or a.containers < 1:
        ap.error("--runs, --mb, --files and --containers must be positive")
    if os.geteuid() != 0:
        ap.error("run as root (podman and runc need it here)")
    if not os.access(PYPOD, os.X_OK):
        ap.error(f"no pypod CLI at {PYPOD}: run with the venv's python")
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    e, rc = None, 0
    try:
        e = Engines(["pypod", *(x.strip() for x in a.engines.split(",") if x.strip() == "podman")])
        e.setup()
        print(f"temp root {e.tmp}; " + (sh([*e.podman, "--version"]).stdout.decode().strip() if e.podman else "no podman"),
              flush=True)
        tree = os.path.join(e.tmp, "tree")
        t0 = time.perf_counter()
        total = make_tree(tree, a.files, a.mb) if "cp" in only else 0
        if total:
            print(f"tree: {a.files} files, {total / 1e6:.0f} MB, made in {time.perf_counter() - t0:.1f} s", flush=True)
        if "cp" in only:
            bench_cp(e, a, tree, total)
        if "commit" in only:
            bench_commit(e, a, total)
        if "cp" in only:
            e.stop_sleepers("cpbox")
        if "stats" in only:
            bench_stats(e, a)
        if "volume" in only:
            bench_volume(e, a)
        summary()
    except BenchError as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        rc = 1
    except KeyboardInterrupt:
        print("\ninterrupted, cleaning up", file=sys.stderr)
        rc = 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if e is not None:
            e.cleanup()
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
