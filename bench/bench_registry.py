"""pypod beside podman on registry work, in one run: pull into an empty root,
pull of an image already present, peak RSS of the pulling process, push
to an empty registry.  skopeo copying the same blobs to a directory (no
extraction) is the floor.

The image (issue 7): 4 layers, about 130 MB: 1,500 small files, then three
layers of 40 MB random bytes; in Debian's docker-registry on a free
127.0.0.1 port, plain HTTP.  Runs are interleaved (pypod, podman, ...);
medians and pypod/podman ratios are printed.

    .venv/bin/python bench/bench_registry.py --runs 5
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from tests.registry.helpers import OCILayout, Registry, push_layout  # noqa: E402

PYPOD = os.path.join(os.path.dirname(sys.executable), "pypod")
MB = 1 << 20


def build_image(d: str, small_files: int = 1500, big_layers: int = 3, big_size: int = 40 * MB) -> OCILayout:
    layout = OCILayout(d)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for i in range(small_files):
            data = os.urandom(512 + (i * 37) % 3000)
            info = tarfile.TarInfo(f"small/{i // 100:02d}/f{i:04d}")
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    layers = [(buf.getvalue(), "gzip")]
    for n in range(big_layers):
        b = io.BytesIO()
        with tarfile.open(fileobj=b, mode="w") as tar:
            data = os.urandom(big_size)
            info = tarfile.TarInfo(f"big/blob{n}")
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
        layers.append((b.getvalue(), "gzip"))
    desc = layout.image(layers, {"Cmd": ["true"]})
    layout.tag(desc, "bench")
    return layout


CPU: dict[str, list[float]] = {}


def timed(cmd: list[str], cpu_key: str = "") -> tuple[float, int]:
    """(seconds, peak RSS in KiB) of one command, through GNU time; its CPU
    seconds (user + system, children included) go to CPU[cpu_key]: on a
    shared machine they drift less than the wall clock."""
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", *cmd], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - t
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{p.stderr.decode(errors='replace')}")
    rss, user, system = p.stderr.decode().strip().splitlines()[-1].split()
    if cpu_key:
        CPU.setdefault(cpu_key, []).append(float(user) + float(system))
    return elapsed, int(rss)


def quiet(cmd: list[str]) -> None:
    subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Roots:
    """A private root per engine and run, under one short temp dir (podman
    wants its run root under 50 characters)."""

    def __init__(self, base: str):
        self.base = base
        self.n = 0

    def fresh(self) -> tuple[list[str], list[str], str]:
        self.n += 1
        t = os.path.join(self.base, str(self.n))
        os.makedirs(t)
        pypod = [PYPOD, "--root", f"{t}/y", "--runroot", f"{t}/yr"]
        podman = ["podman", "--root", f"{t}/p", "--runroot", f"{t}/pr", "--tmpdir", f"{t}/pt", "--cgroup-manager",
                  "cgroupfs", "--events-backend", "file", "--runtime", "runc", "--log-level", "error"]
        return pypod, podman, t

    @staticmethod
    def drop(t: str) -> None:
        with open("/proc/self/mountinfo") as f:
            mounts = sorted((line.split()[4] for line in f if line.split()[4].startswith(t + "/")), reverse=True)
        for m in mounts:
            quiet(["umount", "-l", m])
        shutil.rmtree(t, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-podman", action="store_true")
    a = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root (pypod and podman store images as root here)")
    podman_on = not a.no_podman and shutil.which("podman") is not None
    base = tempfile.mkdtemp(prefix="rb-", dir="/tmp")
    regs: list[Registry] = []
    try:
        print("building the image (4 layers, ~130 MB) ...", file=sys.stderr)
        layout = build_image(os.path.join(base, "layout"))
        src = Registry(os.path.join(base, "src"))
        regs.append(src)
        push_layout(src, layout, "bench", "bench/app:1")
        ref = f"{src.host}/bench/app:1"
        roots = Roots(os.path.join(base, "r"))
        res: dict[str, dict[str, list[float]]] = {k: {"pypod": [], "podman": [], "skopeo": []}
                                                  for k in ("pull", "present", "rss", "push")}
        engines = ["pypod", *(["podman"] if podman_on else [])]
        for i in range(a.runs):
            pypod, podman, t = roots.fresh()
            cmds = {"pypod": pypod, "podman": podman}
            flo = os.path.join(t, "skopeo-dir")
            secs, _ = timed(["skopeo", "copy", "--quiet", "--src-tls-verify=false", f"docker://{ref}", f"dir:{flo}"])
            res["pull"]["skopeo"].append(secs)
            order = engines if i % 2 == 0 else engines[::-1]
            for eng in order:
                secs, rss = timed([*cmds[eng], "pull", "-q", "--tls-verify=false", ref], f"pull-{eng}")
                res["pull"][eng].append(secs)
                res["rss"][eng].append(rss / 1024)
            for eng in order:
                secs, _ = timed([*cmds[eng], "pull", "-q", "--tls-verify=false", ref])
                res["present"][eng].append(secs)
            for eng in order:
                dest = Registry(os.path.join(t, f"dest-{eng}"))
                regs.append(dest)
                try:
                    secs, _ = timed([*cmds[eng], "push", "-q", "--tls-verify=false", ref, f"{dest.host}/pushed/app:1"],
                                    f"push-{eng}")
                    res["push"][eng].append(secs)
                finally:
                    dest.stop()
                    regs.remove(dest)
            if podman_on:
                quiet([*podman, "rmi", "-a", "-f"])
            roots.drop(t)
            print(f"run {i + 1}/{a.runs} done", file=sys.stderr)
        med = {k: {e: statistics.median(v) for e, v in d.items() if v} for k, d in res.items()}
        rows = [("pull into an empty root (s)", "pull"), ("pull, image already present (s)", "present"),
                ("peak RSS of the pull (MiB)", "rss"), ("push to an empty registry (s)", "push")]
        print(f"\n{'work':<34} {'pypod':>8} {'podman':>8} {'ratio':>7}")
        for label, key in rows:
            p = med[key]["pypod"]
            q = med[key].get("podman")
            ratio = f"{p / q:.2f}" if q else "-"
            print(f"{label:<34} {p:>8.3f} {q if q is not None else float('nan'):>8.3f} {ratio:>7}")
        print(f"{'floor: skopeo copy to dir (s)':<34} {med['pull']['skopeo']:>8.3f}")
        for op in ("pull", "push"):
            p = statistics.median(CPU[f"{op}-pypod"])
            q = statistics.median(CPU[f"{op}-podman"]) if f"{op}-podman" in CPU else None
            label = f"{op}: CPU seconds (user+sys)"
            print(f"{label:<34} {p:>8.3f} {q if q is not None else float('nan'):>8.3f} {p / q if q else float('nan'):>7.2f}")
        print(f"(load average while measuring: {os.getloadavg()[0]:.1f})")
        return 0
    finally:
        for r in regs:
            r.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
