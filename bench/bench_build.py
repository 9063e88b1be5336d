"""pypod build beside podman build, in one run, on the same Containerfile:

    FROM busybox
    COPY tree /tree          (2,000 files in 40 directories)
    RUN ... > /built
    ENV BENCH=1
    CMD ["sh"]

"first": a build with no cache (--no-cache: every step runs, as in a first
build; the base image is present for both); "warm": the same build again
with the cache (every step reused).  Both engines get private roots under
one temp dir, podman the busybox image pypod saved, --network none (no
network set-up on either side) and podman the rlimits it can apply here.
Runs are interleaved (pypod, podman, pypod, ...) after one warm-up each;
medians and pypod/podman ratios are printed.

    .venv/bin/python bench/bench_build.py --runs 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from run_bench import BenchError, Engines, interleaved, podman_ulimits, time_once  # noqa: E402

CONTAINERFILE = """FROM busybox
COPY tree /tree
RUN find /tree -type f | wc -l > /built
ENV BENCH=1
CMD ["sh"]
"""


def make_context(path: str, files: int = 2000, per_dir: int = 50) -> None:
    os.makedirs(path)
    with open(os.path.join(path, "Containerfile"), "w") as f:
        f.write(CONTAINERFILE)
    for i in range(files):
        d = os.path.join(path, "tree", f"d{i // per_dir:03d}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"f{i:05d}.txt"), "w") as f:
            f.write(f"file {i}\n" * (1 + i % 7))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    e = Engines(["pypod", "podman"])
    try:
        e.setup()
        ctx = os.path.join(e.tmp, "ctx")
        make_context(ctx)
        pypod = [*e.pypod, "build", "--network", "none", "-t", "bench", ctx]
        podman = [*e.podman, "build", "--network", "none", *podman_ulimits(), "-t", "bench", ctx]
        results = {}
        for kind, extra in (("first", ["--no-cache"]), ("warm", [])):
            fns = {"pypod": lambda x=extra: time_once(pypod[:-1] + x + pypod[-1:]),
                   "podman": lambda x=extra: time_once(podman[:-1] + x + podman[-1:])}
            results[kind] = interleaved(fns, a.runs)
        print(f"build of a 5-step Containerfile (COPY of 2,000 files), {a.runs} runs each, medians:")
        for kind, goal in (("first", 0.7), ("warm", 0.5)):
            res = results[kind]
            py, pm = statistics.median(res["pypod"]), statistics.median(res["podman"])
            print(f"  {kind:<6} pypod {py:6.3f}s  podman {pm:6.3f}s  ratio {py / pm:5.2f}  (goal <= {goal})")
        return 0
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        e.cleanup()


if __name__ == "__main__":
    raise SystemExit(main())
