#!/usr/bin/env python3
"""pypod beside podman, with raw runc as the floor, on the same work in one run.

    sudo .venv/bin/python bench/run_bench.py [--runs N] [--only run,exec,stdin,stdout] [--mb N]

Benchmarks (bench/README.md says what each number means):

  run     `run --rm busybox true`                        (runc: `runc run`)
  exec    `exec CTR true` against a running `sleep`      (runc: `runc exec`)
  stdin   `exec -i CTR sh -c 'cat > /dev/null'`, N MiB piped in, MB/s
  stdout  `exec CTR dd bs=65536 ...` and `exec CTR head -c ...`, N MiB out, MB/s

Every engine gets its own temporary root under one short /tmp/pb-* directory,
so this never touches /var/lib/pypod, /run/pypod or podman's real storage;
everything it made (containers, mounts, the directory) is removed at the end,
also after an error, Ctrl-C or SIGTERM.  podman gets pypod's busybox image
(saved by pypod, loaded by podman) and raw runc a rootfs unpacked from the
same archive, so all three run the same bytes.  If `pypod save` fails (or
with --rootfs) every engine runs a busybox rootfs directory instead.

Runs are interleaved (pypod, podman, runc, pypod, ...) after one warm-up
each, so drift on a shared machine hits every engine alike.  Absolute times
drift; the ratios are the result.  Stdlib only.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

PYPOD = os.path.join(os.path.dirname(os.path.abspath(sys.executable)), "pypod")
APPLETS = ("sh", "true", "cat", "sleep", "dd", "head")
NAMES = ("pypod", "podman", "runc")
MIB = 1024 * 1024


class BenchError(Exception):
    pass


def sh(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    """Run a set-up command; on failure raise with its stderr."""
    kw.setdefault("stdin", subprocess.DEVNULL)
    kw.setdefault("stdout", subprocess.PIPE)
    p = subprocess.run(cmd, stderr=subprocess.PIPE, **kw)
    if p.returncode != 0:
        raise BenchError(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.decode(errors='replace').strip()}")
    return p


def quiet(cmd: list[str]) -> None:
    """A clean-up command: errors ignored."""
    subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def podman_ulimits() -> list[str]:
    """The rlimits podman's containers can actually get on this machine.

    Without CAP_SYS_RESOURCE nobody may raise a hard limit.  podman 4.3.1 as
    root writes nofile=1048576 (and nproc 32768 or 1048576) into config.json
    unless told otherwise (`--ulimit host` does not change that), and at start
    it lowers its *own* RLIMIT_NPROC to 32768:32768.  conmon and runc inherit
    podman's limits, and runc's prlimit() of the container's init to anything
    higher fails with EPERM: "error setting rlimit type 7" (nofile) or "type
    6" (nproc).  So: nofile up to our hard limit, nproc up to 32768.
    """
    def cap(res: int, ceiling: int) -> int:
        hard = resource.getrlimit(res)[1]
        return ceiling if hard == resource.RLIM_INFINITY else min(hard, ceiling)

    nofile = cap(resource.RLIMIT_NOFILE, 1048576)
    nproc = cap(resource.RLIMIT_NPROC, 32768)
    return ["--ulimit", f"nofile={nofile}:{nofile}", "--ulimit", f"nproc={nproc}:{nproc}"]


class Engines:
    """pypod, podman and raw runc, each with a private root under one temp dir."""

    def __init__(self, want: list[str], force_rootfs: bool = False):
        for name in want:
            if name not in NAMES:
                raise BenchError(f"unknown engine {name!r}; choose from {', '.join(NAMES)}")
            if name != "pypod" and not shutil.which(name):
                raise BenchError(f"{name} is not installed (leave it out with --engines)")
        # podman refuses run roots of more than 50 characters: keep paths short.
        self.tmp = tempfile.mkdtemp(prefix="pb-", dir="/tmp")
        t = self.tmp
        self.pypod = [PYPOD, "--root", f"{t}/y", "--runroot", f"{t}/yr"]
        self.podman: list[str] | None = None
        if "podman" in want:
            # --tmpdir too: libpod's default /run/libpod would be shared with the host's podman
            self.podman = ["podman", "--root", f"{t}/p", "--runroot", f"{t}/pr", "--tmpdir", f"{t}/pt",
                           "--cgroup-manager", "cgroupfs", "--events-backend", "file", "--runtime", "runc"]
        self.runc: list[str] | None = None
        if "runc" in want:
            self.runc = ["runc", "--root", f"{t}/rs"]
        self.podman_run = ["--network", "none", *podman_ulimits()]
        # the same network for both: pypod's default, as podman's for root, is
        # now the bridge (netavark, ~45 ms of CPU a run), which podman's CNI
        # cannot even set up here
        self.pypod_run = ["--network", "none"]
        self.runc_ids: list[str] = []
        self.force_rootfs = force_rootfs
        self.image_mode = True  # False: every engine runs a --rootfs directory
        self.rootfs = f"{t}/rootfs"
        self.notes: list[str] = []

    # -- set-up -------------------------------------------------------------

    def setup(self) -> None:
        sh([*self.pypod, "run", "--rm", "busybox", "true"])  # builds pypod's busybox image
        archive = f"{self.tmp}/busybox.tar"
        try:
            if self.force_rootfs:
                raise BenchError("--rootfs given")
            sh([*self.pypod, "save", "-o", archive, "busybox"])
            self._unpack_image(archive, self.rootfs)
        except (BenchError, OSError, KeyError, ValueError, tarfile.TarError) as exc:
            self.image_mode = False
            self.notes.append(f"every engine runs on --rootfs directories ({exc})")
            shutil.rmtree(self.rootfs, ignore_errors=True)
            self._busybox_rootfs(self.rootfs)
        if self.podman and self.image_mode:
            sh([*self.podman, "load", "-q", "-i", archive])
        for applet in APPLETS:  # the benchmarks need these, whatever the image holds
            if not os.path.lexists(f"{self.rootfs}/bin/{applet}"):
                raise BenchError(f"the busybox rootfs lacks /bin/{applet}")

    @staticmethod
    def _unpack_image(archive: str, dest: str) -> None:
        """Unpack a docker-archive's layers into dest (raw runc's rootfs)."""
        os.makedirs(dest)
        with tarfile.open(archive) as outer:
            manifest = json.load(outer.extractfile("manifest.json"))
            for layer in manifest[0]["Layers"]:
                with tarfile.open(fileobj=outer.extractfile(layer)) as inner:
                    # extraction filters came with 3.11.4; Debian's 3.11.2 has none (the archive is our own)
                    inner.extractall(dest, **({"filter": "tar"} if hasattr(tarfile, "tar_filter") else {}))

    @staticmethod
    def _busybox_rootfs(dest: str) -> None:
        os.makedirs(f"{dest}/bin")
        shutil.copy2(os.path.realpath(shutil.which("busybox") or "/bin/busybox"), f"{dest}/bin/busybox")
        for applet in APPLETS:
            os.symlink("busybox", f"{dest}/bin/{applet}")

    def _private_rootfs(self, name: str) -> str:
        """--rootfs mode: podman writes into the rootfs, so each engine gets a copy."""
        path = f"{self.tmp}/rootfs-{name}"
        if not os.path.isdir(path):
            shutil.copytree(self.rootfs, path, symlinks=True)
        return path

    def image(self, name: str) -> list[str]:
        if self.image_mode:
            return ["busybox"]
        return ["--rootfs", self._private_rootfs(name)]

    def runc_bundle(self, label: str, args: list[str]) -> str:
        bundle = f"{self.tmp}/bundle-{label}"
        os.makedirs(bundle, exist_ok=True)
        if os.path.exists(f"{bundle}/config.json"):
            os.unlink(f"{bundle}/config.json")
        sh(["runc", "spec", "--bundle", bundle])
        with open(f"{bundle}/config.json") as f:
            spec = json.load(f)
        spec["process"]["terminal"] = False
        spec["process"]["args"] = args
        spec["root"] = {"path": self.rootfs, "readonly": False}
        with open(f"{bundle}/config.json", "w") as f:
            json.dump(spec, f)
        return bundle

    # -- commands per engine ------------------------------------------------

    def run_cmds(self) -> dict[str, list[str]]:
        cmds = {"pypod": [*self.pypod, "run", "--rm", *self.pypod_run, *self.image("pypod"), "true"]}
        if self.podman:
            cmds["podman"] = [*self.podman, "run", "--rm", *self.podman_run, *self.image("podman"), "true"]
        if self.runc:
            bundle = self.runc_bundle("true", ["true"])
            self.runc_ids.append("pb-true")
            cmds["runc"] = [*self.runc, "run", "--bundle", bundle, "pb-true"]  # deletes itself on exit
        return cmds

    def start_sleepers(self, name: str, interactive: bool) -> dict[str, list[str]]:
        """A running `sleep` container per engine; returns each one's exec prefix."""
        flag = ["-i"] if interactive else []
        sh([*self.pypod, "run", "-d", *self.pypod_run, "--name", name, *self.image("pypod"), "sleep", "1000000"])
        execs = {"pypod": [*self.pypod, "exec", *flag, name]}
        if self.podman:
            sh([*self.podman, "run", "-d", *self.podman_run, "--name", name, *self.image("podman"), "sleep", "1000000"])
            execs["podman"] = [*self.podman, "exec", *flag, name]
        if self.runc:
            bundle = self.runc_bundle(name, ["sleep", "1000000"])
            self.runc_ids.append(name)
            # runc -d hands its own stdio to the container: never a pipe we would wait on
            with open(f"{self.tmp}/{name}.runc-err", "w+") as err:
                p = subprocess.run([*self.runc, "run", "-d", "--bundle", bundle, name],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
                if p.returncode != 0:
                    err.seek(0)
                    raise BenchError(f"runc run -d {name}: exit {p.returncode}: {err.read().strip()}")
            execs["runc"] = [*self.runc, "exec", name]  # stdio passes straight through
        return execs

    def stop_sleepers(self, name: str) -> None:
        quiet([*self.pypod, "rm", "-f", "-t", "0", name])
        if self.podman:
            quiet([*self.podman, "rm", "-f", "-t", "0", name])
        if self.runc:
            quiet([*self.runc, "delete", "-f", name])

    # -- clean-up -----------------------------------------------------------

    def cleanup(self) -> None:
        quiet([*self.pypod, "rm", "-a", "-f", "-t", "0"])
        if self.podman:
            # rm frees each container's lock in the host-wide /dev/shm/libpod_lock.
            # Never `system reset`: it would also remove the host's podman networks.
            quiet([*self.podman, "rm", "-a", "-f", "-t", "0"])
            quiet([*self.podman, "rmi", "-a", "-f"])
        if self.runc:
            listed = subprocess.run([*self.runc, "list", "-q"], capture_output=True, text=True).stdout.split()
            for cid in dict.fromkeys([*self.runc_ids, *listed]):
                quiet([*self.runc, "delete", "-f", cid])
        # conmon runs `podman ... container cleanup` (or pypod's exit command)
        # after a container dies: let those finish, or they recreate dirs here.
        for _ in range(2):
            wait_processes_gone(self.tmp)
            unmount_under(self.tmp)
            shutil.rmtree(self.tmp, ignore_errors=True)
        # a late `podman container cleanup` may mount podman's overlay dir
        # again after that: its mount outlives the removed directory
        wait_processes_gone(self.tmp)
        unmount_under(self.tmp)
        if os.path.exists(self.tmp):
            print(f"warning: could not remove {self.tmp}", file=sys.stderr)


def processes_using(path: str) -> list[int]:
    """Processes (not us) whose command line mentions path."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if path.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


def wait_processes_gone(path: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while (left := processes_using(path)) and time.monotonic() < deadline:
        time.sleep(0.1)
    if left:
        print(f"warning: still running under {path}: pids {left}", file=sys.stderr)


def unmount_under(path: str) -> None:
    prefix = path.rstrip("/") + "/"
    for _ in range(3):
        with open("/proc/self/mountinfo") as f:
            targets = [line.split()[4].replace("\\040", " ") for line in f]
        mine = [t for t in targets if t == path or t.startswith(prefix)]
        if not mine:
            return
        for target in sorted(set(mine), key=len, reverse=True):
            quiet(["umount", "-l", target])


# -- measuring ----------------------------------------------------------------


def time_once(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise BenchError(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.decode(errors='replace').strip()}")
    return dt


def interleaved(fns: dict, runs: int) -> dict[str, list[float]]:
    """One warm-up each, then `runs` rounds of every engine in turn."""
    for fn in fns.values():
        fn()
    out: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            out[name].append(fn())
    return out


def pipe_in(cmd: list[str], size: int) -> float:
    """MB/s of `size` zero bytes written into cmd's stdin, start to exit."""
    block = memoryview(bytes(MIB))
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    fd = p.stdin.fileno()
    left = size
    try:
        while left:
            left -= os.write(fd, block[: min(left, MIB)])
    except BrokenPipeError:
        pass
    p.stdin.close()
    err = p.stderr.read()
    rc = p.wait()
    dt = time.perf_counter() - t0
    if rc != 0 or left:
        raise BenchError(f"{' '.join(cmd)}: exit {rc}, {size - left} of {size} bytes taken: "
                         f"{err.decode(errors='replace').strip()}")
    return size / dt / 1e6


def pipe_out(cmd: list[str], size: int) -> float:
    """MB/s of cmd's stdout, read and counted (exactly `size` bytes), start to exit."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    fd, got = p.stdout.fileno(), 0
    while chunk := os.read(fd, MIB):
        got += len(chunk)
    err = p.stderr.read()
    rc = p.wait()
    dt = time.perf_counter() - t0
    if rc != 0 or got != size:
        raise BenchError(f"{' '.join(cmd)}: exit {rc}, {got} of {size} bytes: {err.decode(errors='replace').strip()}")
    return size / dt / 1e6


# -- reporting ------------------------------------------------------------------

SUMMARY: list[tuple[str, dict[str, float], str]] = []


def report(title: str, res: dict[str, list[float]], unit: str) -> None:
    """unit "ms": values are seconds, lower is better; "MB/s": higher is better."""
    print(f"\n== {title}")
    med = {name: statistics.median(v) for name, v in res.items()}
    for name in NAMES:
        if name not in res:
            continue
        v = res[name]
        if unit == "ms":
            line = f"median {med[name] * 1000:8.1f} ms   min {min(v) * 1000:7.1f} ms"
        else:
            line = f"median {med[name]:8.0f} MB/s min {min(v):7.0f} MB/s  max {max(v):5.0f}"
        extra = ""
        if name == "pypod" and "podman" in med:
            better = "<1: pypod faster" if unit == "ms" else ">1: pypod faster"
            extra = f"   pypod/podman = {med['pypod'] / med['podman']:.2f} ({better})"
        print(f"  {name:<7} {line}  n={len(v)}{extra}", flush=True)
    SUMMARY.append((title, med, unit))


def summary() -> None:
    if not SUMMARY:
        return
    print("\n== summary (medians; pypod/podman: for times <1 and for MB/s >1 means pypod is faster)")
    print("| work | pypod | podman | runc | pypod/podman |")
    print("| --- | --- | --- | --- | --- |")
    for title, med, unit in SUMMARY:
        cells = []
        for name in NAMES:
            if name not in med:
                cells.append("-")
            elif unit == "ms":
                cells.append(f"{med[name] * 1000:.1f} ms")
            else:
                cells.append(f"{med[name]:.0f} MB/s")
        ratio = f"{med['pypod'] / med['podman']:.2f}" if "podman" in med else "-"
        print(f"| {title} | {' | '.join(cells)} | {ratio} |")


# -- the benchmarks -----------------------------------------------------------------


def bench_run(e: Engines, a: argparse.Namespace) -> None:
    cmds = e.run_cmds()
    res = interleaved({n: (lambda c=c: time_once(c)) for n, c in cmds.items()}, a.runs)
    report("run --rm busybox true", res, "ms")


def bench_exec(e: Engines, a: argparse.Namespace) -> None:
    try:
        execs = e.start_sleepers("pb-exec", interactive=False)
        res = interleaved({n: (lambda c=c: time_once([*c, "true"])) for n, c in execs.items()}, a.runs)
        report("exec CTR true", res, "ms")
    finally:
        e.stop_sleepers("pb-exec")


def tp_runs(a: argparse.Namespace) -> int:
    return a.tp_runs or max(3, a.runs // 4)


def bench_stdin(e: Engines, a: argparse.Namespace) -> None:
    size = a.mb * MIB
    try:
        execs = e.start_sleepers("pb-in", interactive=True)
        fns = {n: (lambda c=c: pipe_in([*c, "sh", "-c", "cat > /dev/null"], size)) for n, c in execs.items()}
        report(f"exec -i stdin, {a.mb} MiB into cat", interleaved(fns, tp_runs(a)), "MB/s")
    finally:
        e.stop_sleepers("pb-in")


def bench_stdout(e: Engines, a: argparse.Namespace) -> None:
    size = a.mb * MIB
    producers = {
        "dd bs=64K": f"dd if=/dev/zero bs=65536 count={a.mb * 16} 2>/dev/null",
        "head -c": f"head -c {size} /dev/zero",  # busybox head: 4 KiB writes
    }
    try:
        execs = e.start_sleepers("pb-out", interactive=False)
        for label, prod in producers.items():
            fns = {n: (lambda c=c: pipe_out([*c, "sh", "-c", prod], size)) for n, c in execs.items()}
            report(f"exec stdout, {a.mb} MiB, {label}", interleaved(fns, tp_runs(a)), "MB/s")
    finally:
        e.stop_sleepers("pb-out")


BENCHES = {"run": bench_run, "exec": bench_exec, "stdin": bench_stdin, "stdout": bench_stdout}
ALIASES = {"a": "run", "b": "exec", "c": "stdin", "d": "stdout", "throughput": "stdin,stdout"}


def _terminate(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.splitlines()[4:11]))
    ap.add_argument("--runs", type=int, default=20, help="timed runs per engine for run and exec (default 20)")
    ap.add_argument("--tp-runs", type=int, default=0, help="runs per engine per throughput test (default max(3, runs/4))")
    ap.add_argument("--only", default="run,exec,stdin,stdout",
                    help="comma list of run,exec,stdin,stdout (or a,b,c,d; throughput = stdin,stdout)")
    ap.add_argument("--mb", type=int, default=256, help="MiB per throughput run (default 256)")
    ap.add_argument("--engines", default="pypod,podman,runc", help="pypod always runs; leave podman or runc out here")
    ap.add_argument("--rootfs", action="store_true",
                    help="run every engine on a busybox rootfs directory instead of the saved/loaded image")
    a = ap.parse_args()
    only: list[str] = []
    for item in a.only.split(","):
        for b in ALIASES.get(item.strip(), item.strip()).split(","):
            if b not in BENCHES:
                ap.error(f"unknown benchmark {b!r}; choose from {', '.join(BENCHES)} (or a,b,c,d)")
            if b not in only:
                only.append(b)
    if a.runs < 1 or a.mb < 1 or a.tp_runs < 0:
        ap.error("--runs and --mb must be positive")
    if os.geteuid() != 0:
        ap.error("run as root (podman and runc need it here)")
    if not os.access(PYPOD, os.X_OK):
        ap.error(f"no pypod CLI at {PYPOD}: run with the venv's python (.venv/bin/python bench/run_bench.py)")
    engines = ["pypod", *(x.strip() for x in a.engines.split(",") if x.strip() != "pypod")]

    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    e = None
    rc = 0
    try:
        e = Engines(engines, force_rootfs=a.rootfs)
        versions = [sh([*e.podman, "--version"]).stdout.decode().strip()] if e.podman else []
        if e.runc:
            versions.append(sh(["runc", "--version"]).stdout.decode().splitlines()[0])
        print(f"temp root {e.tmp}; {'; '.join(versions)}")
        if e.podman:
            print(f"podman run flags: {' '.join(e.podman_run)}")
        e.setup()
        for note in e.notes:
            print(f"note: {note}")
        print("image: " + ("busybox (pypod save -> podman load; runc runs its unpacked layers)"
                           if e.image_mode else "--rootfs directories (a copy each)"), flush=True)
        for b in only:
            BENCHES[b](e, a)
        summary()
    except BenchError as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        rc = 1
    except KeyboardInterrupt:
        print("\ninterrupted, cleaning up", file=sys.stderr)
        rc = 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not stop the clean-up
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if e is not None:
            e.cleanup()
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
