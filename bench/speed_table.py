#!/usr/bin/env python3
"""Issue 11's table: every row beside podman in one run, with the goals.

    sudo .venv/bin/python bench/speed_table.py [--runs 15] [--mb 256] [--api-mb 64] [--ps-containers 500]

Rows (pypod/podman ratio; goal):

  run --rm busybox true           time   <= 0.5
  exec CTR true                   time   <= 0.5
  ps (no containers)              time   <= 0.7
  ps -a with 500 containers       time   <= 0.5
  API exec_run (docker-py)        time   <= 0.35
  exec stdout, 256 MiB            MB/s   >= 2
  exec -i stdin, 256 MiB          MB/s   >= 3
  API exec stdout, 64 MiB         MB/s   >= 3
  50 concurrent run --rm          runs/s >= 2, and no failure
  pypod --version                 time   <= 20 ms (absolute)

It reuses run_bench.py's engines (private roots under one /tmp/pb-* directory,
the same busybox image for both, interleaved runs after a warm-up each, the
clean-up on any exit) and adds the rest.  The machine may be shared: run it
a few times and compare the ratios.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import signal
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_bench import MIB, PYPOD, BenchError, Engines, interleaved, pipe_in, pipe_out, sh, time_once  # noqa: E402

#: (row, unit, goal as (op, value)) in the issue's order; "ms" lower is better
ROWS = [
    ("run --rm busybox true", "ms", ("<=", 0.5)),
    ("exec CTR true", "ms", ("<=", 0.5)),
    ("ps (no containers)", "ms", ("<=", 0.7)),
    ("ps -a with {n} containers", "ms", ("<=", 0.5)),
    ("API exec_run (docker-py)", "ms", ("<=", 0.35)),
    ("exec stdout, {mb} MiB", "MB/s", (">=", 2.0)),
    ("exec -i stdin, {mb} MiB", "MB/s", (">=", 3.0)),
    ("API exec stdout, {api_mb} MiB", "MB/s", (">=", 3.0)),
    ("{conc} concurrent run --rm", "runs/s", (">=", 2.0)),
    ("pypod --version", "ms", ("abs<=", 20.0)),
]

RESULTS: dict[str, dict[str, float]] = {}
NOTES: dict[str, str] = {}


def median_of(res: dict[str, list[float]]) -> dict[str, float]:
    return {name: statistics.median(v) for name, v in res.items()}


def record(row: str, med: dict[str, float], note: str = "") -> None:
    RESULTS[row] = med
    if note:
        NOTES[row] = note
    shown = ", ".join(f"{k} {v * 1000:.1f} ms" if row_unit(row) == "ms" else f"{k} {v:.1f}" for k, v in med.items())
    print(f"  {row}: {shown}", flush=True)


def row_unit(row: str) -> str:
    return next(u for r, u, _g in FORMATTED if r == row)


# -- rows -----------------------------------------------------------------------------


def bench_version(e: Engines, a) -> None:
    cmds = {"pypod": [PYPOD, "--version"]}
    if e.podman:
        cmds["podman"] = ["podman", "--version"]
    record("pypod --version", median_of(interleaved({n: (lambda c=c: time_once(c)) for n, c in cmds.items()}, a.runs)))


def bench_ps(e: Engines, a) -> None:
    cmds = {"pypod": [*e.pypod, "ps"]}
    if e.podman:
        cmds["podman"] = [*e.podman, "ps"]
    record("ps (no containers)", median_of(interleaved({n: (lambda c=c: time_once(c)) for n, c in cmds.items()}, a.runs)))


def bench_run(e: Engines, a) -> None:
    cmds = {n: c for n, c in e.run_cmds().items() if n != "runc"}
    record("run --rm busybox true", median_of(interleaved({n: (lambda c=c: time_once(c)) for n, c in cmds.items()}, a.runs)))


def bench_exec(e: Engines, a) -> None:
    try:
        execs = {n: c for n, c in e.start_sleepers("pb-exec", interactive=False).items() if n != "runc"}
        res = interleaved({n: (lambda c=c: time_once([*c, "true"])) for n, c in execs.items()}, a.runs)
        record("exec CTR true", median_of(res))
    finally:
        e.stop_sleepers("pb-exec")


def bench_streams(e: Engines, a) -> None:
    size = a.mb * MIB
    runs = max(3, a.runs // 3)
    try:
        execs = {n: c for n, c in e.start_sleepers("pb-out", interactive=False).items() if n != "runc"}
        prod = f"dd if=/dev/zero bs=65536 count={a.mb * 16} 2>/dev/null"
        fns = {n: (lambda c=c: pipe_out([*c, "sh", "-c", prod], size)) for n, c in execs.items()}
        record(f"exec stdout, {a.mb} MiB", median_of(interleaved(fns, runs)), "dd bs=64K")
    finally:
        e.stop_sleepers("pb-out")
    try:
        execs = {n: c for n, c in e.start_sleepers("pb-in", interactive=True).items() if n != "runc"}
        fns = {n: (lambda c=c: pipe_in([*c, "sh", "-c", "cat > /dev/null"], size)) for n, c in execs.items()}
        record(f"exec -i stdin, {a.mb} MiB", median_of(interleaved(fns, runs)), "into cat")
    finally:
        e.stop_sleepers("pb-in")


def bench_api(e: Engines, a) -> None:
    import docker

    services = {"pypod": [*e.pypod, "system", "service", "--time", "0", f"unix://{e.tmp}/y.sock"]}
    if e.podman:
        services["podman"] = [*e.podman, "system", "service", "--time", "0", f"unix://{e.tmp}/p.sock"]
    procs = []
    try:
        ctrs = {}
        for name, cmd in services.items():
            p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            procs.append(p)
            path = cmd[-1][7:]
            deadline = time.monotonic() + 20
            while not os.path.exists(path):
                if p.poll() is not None or time.monotonic() > deadline:
                    raise BenchError(f"{name} service did not start: {p.stderr.read().decode(errors='replace') if p.poll() is not None else 'timeout'}")
                time.sleep(0.05)
            client = docker.DockerClient(base_url=f"unix://{path}", version="1.41", timeout=300)
            ulimits = None
            if name == "podman":
                ulimits = [docker.types.Ulimit(name=k.split("=")[0], soft=int(k.split("=")[1].split(":")[0]),
                                               hard=int(k.split(":")[1]))
                           for k in e.podman_run[3::2]]
            ctrs[name] = client.containers.run("busybox", ["sleep", "100000"], detach=True, network_mode="none",
                                               ulimits=ulimits, name="pb-api")

        def exec_true(c) -> float:
            t0 = time.perf_counter()
            code, _ = c.exec_run(["true"])
            dt = time.perf_counter() - t0
            if code != 0:
                raise BenchError(f"exec_run true: exit {code}")
            return dt

        size = a.api_mb * MIB

        def exec_out(c) -> float:
            t0 = time.perf_counter()
            code, out = c.exec_run(["sh", "-c", f"dd if=/dev/zero bs=65536 count={a.api_mb * 16} 2>/dev/null"])
            dt = time.perf_counter() - t0
            if code != 0 or len(out) != size:
                raise BenchError(f"exec_run dd: exit {code}, {len(out)} of {size} bytes")
            return size / dt / 1e6

        # the floor: the runtime's exec of the same container, no engine at all
        runc_exec = ["runc", "--root", os.path.join(e.tmp, "yr", "runtime"), "exec", ctrs["pypod"].id, "true"]
        res = interleaved({**{n: (lambda c=c: exec_true(c)) for n, c in ctrs.items()},
                           "runc": lambda: time_once(runc_exec)}, a.runs)
        floor = statistics.median(res.pop("runc"))
        record("API exec_run (docker-py)", median_of(res), f"`runc exec` alone: {floor * 1000:.1f} ms")
        record(f"API exec stdout, {a.api_mb} MiB",
               median_of(interleaved({n: (lambda c=c: exec_out(c)) for n, c in ctrs.items()}, max(3, a.runs // 3))))
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        e.stop_sleepers("pb-api")


def bench_ps_many(e: Engines, a) -> None:
    n = a.ps_containers
    engines = {"pypod": e.pypod, **({"podman": e.podman} if e.podman else {})}

    def create(prefix: list[str], extra: list[str], i: int) -> None:
        sh([*prefix, "create", *extra, "--name", f"pb-many-{i}", "busybox", "true"])

    print(f"  creating {n} containers per engine...", flush=True)
    for name, prefix in engines.items():
        extra = e.podman_run if name == "podman" else []
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda i: create(prefix, extra, i), range(n)))
    cmds = {name: [*prefix, "ps", "-a"] for name, prefix in engines.items()}
    for name, cmd in cmds.items():
        lines = sh(cmd).stdout.decode().count("\n")
        if lines != n + 1:
            raise BenchError(f"{name} ps -a listed {lines - 1} containers, not {n}")
    res = interleaved({k: (lambda c=c: time_once(c)) for k, c in cmds.items()}, max(5, a.runs // 2))
    record(f"ps -a with {n} containers", median_of(res))
    for prefix in engines.values():
        sh([*prefix, "rm", "-a", "-f", "-t", "0"])


def bench_concurrent(e: Engines, a) -> None:
    """Throughput of many `run --rm` at once: runs/s, and failures counted."""
    n = a.concurrent
    cmds = {k: c for k, c in e.run_cmds().items() if k != "runc"}
    failures = {k: 0 for k in cmds}

    def burst(cmd: list[str], name: str) -> float:
        t0 = time.perf_counter()
        procs = [subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                 for _ in range(n)]
        for p in procs:
            _out, err = p.communicate()
            if p.returncode != 0:
                failures[name] += 1
                if failures[name] <= 3:
                    print(f"    {name} failure: exit {p.returncode}: {err.decode(errors='replace').strip()[:300]}")
        return n / (time.perf_counter() - t0)

    res = interleaved({k: (lambda c=c, k=k: burst(c, k)) for k, c in cmds.items()}, 3)
    runs = 4 * n  # the warm-up burst counts too
    record(f"{n} concurrent run --rm", median_of(res),
           "failures: " + ", ".join(f"{k} {v} of {runs}" for k, v in failures.items()))
    RESULTS[f"{n} concurrent run --rm"]["_failures_pypod"] = failures["pypod"]


def stop_lingering_monitors(tmp: str) -> None:
    """podman's exec sessions keep their conmon for its exit delay (5
    minutes) after the process ended: end those of this run's root."""
    from run_bench import processes_using

    for pid in processes_using(tmp):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            if argv[0].endswith(b"conmon") and b"--exit-delay" in argv:
                os.kill(pid, signal.SIGTERM)
        except OSError:
            pass


# -- the table ----------------------------------------------------------------------------


FORMATTED: list[tuple[str, str, tuple[str, float]]] = []


def table(a) -> str:
    out = ["| work | pypod | podman | pypod/podman | goal | met |", "| --- | --- | --- | --- | --- | --- |"]
    for row, unit, (op, goal) in FORMATTED:
        med = RESULTS.get(row)
        if med is None:
            continue
        p, q = med.get("pypod"), med.get("podman")

        def cell(v):
            if v is None:
                return "-"
            return f"{v * 1000:.1f} ms" if unit == "ms" else f"{v:.0f} {unit}" if unit == "MB/s" else f"{v:.1f} {unit}"

        if op == "abs<=":
            ratio = f"{p / q:.2f}" if q else "-"
            met = p * 1000 <= goal
            goal_text = f"<= {goal:.0f} ms"
        else:
            r = p / q if q else None
            ratio = "-" if r is None else (f"{r:.2f}" if unit == "ms" else f"{r:.2f}x")
            met = r is not None and (r <= goal if op == "<=" else r >= goal)
            goal_text = f"{op} {goal:g}" + ("" if unit == "ms" else "x")
            if "concurrent" in row:
                met = met and med.get("_failures_pypod", 0) == 0
                goal_text += ", 0 failures"
        note = f" ({NOTES[row]})" if row in NOTES else ""
        out.append(f"| {row}{note} | {cell(p)} | {cell(q)} | {ratio} | {goal_text} | {'yes' if met else 'no'} |")
    return "\n".join(out)


BENCHES = {"version": bench_version, "ps": bench_ps, "run": bench_run, "exec": bench_exec,
           "streams": bench_streams, "api": bench_api, "psmany": bench_ps_many, "concurrent": bench_concurrent}


def _terminate(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.splitlines()[4:16]))
    ap.add_argument("--runs", type=int, default=15, help="timed runs per engine for the timed rows (default 15)")
    ap.add_argument("--mb", type=int, default=256, help="MiB per CLI throughput run (default 256)")
    ap.add_argument("--api-mb", type=int, default=64, help="MiB per API throughput run (default 64)")
    ap.add_argument("--ps-containers", type=int, default=500, help="containers for the ps -a row (default 500)")
    ap.add_argument("--concurrent", type=int, default=50, help="run --rm at once (default 50)")
    ap.add_argument("--only", default=",".join(BENCHES), help=f"comma list of {', '.join(BENCHES)}")
    ap.add_argument("--engines", default="pypod,podman", help="pypod,podman (podman may be left out)")
    a = ap.parse_args()
    only = [b.strip() for b in a.only.split(",") if b.strip()]
    for b in only:
        if b not in BENCHES:
            ap.error(f"unknown row group {b!r}; choose from {', '.join(BENCHES)}")
    if os.geteuid() != 0:
        ap.error("run as root (podman and runc need it here)")
    FORMATTED[:] = [(r.format(n=a.ps_containers, mb=a.mb, api_mb=a.api_mb, conc=a.concurrent), u, g) for r, u, g in ROWS]
    signal.signal(signal.SIGTERM, _terminate)
    e = None
    rc = 0
    try:
        e = Engines(["pypod", *(x for x in a.engines.split(",") if x.strip() and x.strip() != "pypod")])
        versions = [sh([*e.podman, "--version"]).stdout.decode().strip()] if e.podman else []
        print(f"temp root {e.tmp}; {'; '.join(versions)}; {time.strftime('%Y-%m-%d %H:%M')}; "
              f"{os.cpu_count()} CPUs; load {os.getloadavg()[0]:.1f}", flush=True)
        e.setup()
        for b in only:
            BENCHES[b](e, a)
        print(f"\nload average at the end: {os.getloadavg()[0]:.1f}\n")
        print(table(a))
    except BenchError as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        if RESULTS:
            print(table(a))
        rc = 1
    except KeyboardInterrupt:
        print("\ninterrupted, cleaning up", file=sys.stderr)
        rc = 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if e is not None:
            stop_lingering_monitors(e.tmp)
            e.cleanup()
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
