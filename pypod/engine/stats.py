"""Resource usage of running containers, read straight from the kernel.

Each sample reads the container's cgroup files (found from its init
process's /proc/PID/cgroup, so cgroup v1, hybrid and v2 all work) and its
network namespace's /proc/PID/net/dev: no runtime or conmon is asked, and a
sample of fifty containers is a few hundred small file reads.

CPU percentages are deltas between two samples of the same container: a
first sample is measured against the container's start, as podman does.
"""

from __future__ import annotations

import os
import time

from ..record import field, record
from .container import Status

CGROUP_ROOT = "/sys/fs/cgroup"
_V2 = None


@record
class NetCounters:
    rx_bytes: int = 0
    rx_packets: int = 0
    rx_errors: int = 0
    rx_dropped: int = 0
    tx_bytes: int = 0
    tx_packets: int = 0
    tx_errors: int = 0
    tx_dropped: int = 0


@record
class Sample:
    """One reading of one container."""

    id: str
    name: str
    running: bool = False
    #: when it was read and when the container started (unix ns)
    read_ns: int = 0
    started_ns: int = 0
    #: CPU time used, total and per CPU, in ns; user and kernel parts
    cpu_ns: int = 0
    percpu_ns: list[int] = field(default_factory=list)
    cpu_user_ns: int = 0
    cpu_kernel_ns: int = 0
    #: the host's CPU time, all CPUs, in ns (/proc/stat; Docker's system_cpu_usage)
    system_ns: int = 0
    online_cpus: int = 1
    mem_usage: int = 0
    mem_max_usage: int = 0
    #: the limit, or the host's memory when there is none
    mem_limit: int = 0
    #: memory.stat as it is (v1 or v2 names)
    mem_stat: dict = field(default_factory=dict)
    pids: int = 0
    pids_limit: int = 0
    #: (major, minor, op, bytes) with op Read or Write
    blkio: list[tuple[int, int, str, int]] = field(default_factory=list)
    networks: dict = field(default_factory=dict)

    @property
    def block_read(self) -> int:
        return sum(v for _ma, _mi, op, v in self.blkio if op == "Read")

    @property
    def block_write(self) -> int:
        return sum(v for _ma, _mi, op, v in self.blkio if op == "Write")

    @property
    def net_rx(self) -> int:
        return sum(n.rx_bytes for n in self.networks.values())

    @property
    def net_tx(self) -> int:
        return sum(n.tx_bytes for n in self.networks.values())


def cpu_percent(cur: Sample, prev: Sample | None) -> float:
    """CPU time used over wall time elapsed since prev (or since the start), in %."""
    prev_cpu, prev_ns = (prev.cpu_ns, prev.read_ns) if prev and prev.running else (0, cur.started_ns)
    elapsed = cur.read_ns - prev_ns
    if not cur.running or elapsed <= 0:
        return 0.0
    return max(cur.cpu_ns - prev_cpu, 0) / elapsed * 100.0


def avg_cpu_percent(cur: Sample) -> float:
    """CPU time over the container's whole life, in %."""
    elapsed = cur.read_ns - cur.started_ns
    return cur.cpu_ns / elapsed * 100.0 if cur.running and elapsed > 0 else 0.0


def sample(ctr, host_cpu: tuple[int, int] | None = None) -> Sample:
    """Read one container (its state as last synced: a container that is not
    running gives a zero sample); host_cpu: /proc/stat's reading, when the
    caller samples several containers at once."""
    st = ctr.state
    s = Sample(id=ctr.id, name=ctr.name)
    if st.status not in (Status.RUNNING, Status.PAUSED) or not st.pid:
        return s
    try:
        dirs = _cgroup_dirs(st.pid)
    except OSError:
        return s  # it exited meanwhile
    s.running = True
    s.started_ns = int(st.started_at * 1e9)
    if _cgroup_v2():
        _read_v2(s, dirs.get("", ""))
    else:
        _read_v1(s, dirs)
    s.networks = _net_dev(st.pid)
    s.system_ns, s.online_cpus = host_cpu if host_cpu is not None else _host_cpu()
    if not s.mem_limit or s.mem_limit >= _host_memory():
        s.mem_limit = _host_memory()
    s.read_ns = time.time_ns()
    return s


# -- cgroups -------------------------------------------------------------------------


def _cgroup_v2() -> bool:
    global _V2
    if _V2 is None:
        _V2 = os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers"))
    return _V2


def _cgroup_dirs(pid: int) -> dict[str, str]:
    """controller -> the process's cgroup directory ("" is the v2 one)."""
    out: dict[str, str] = {}
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _hid, ctrls, path = line.rstrip("\n").split(":", 2)
            if not ctrls:
                out[""] = CGROUP_ROOT + path if _cgroup_v2() else os.path.join(CGROUP_ROOT, "unified") + path
                continue
            for c in ctrls.split(","):
                if not c.startswith("name="):
                    out[c] = os.path.join(CGROUP_ROOT, c) + path
    return out


def _read(path: str) -> str:
    """A small kernel file in one read (no buffered text layer: a sample of
    fifty containers is some six hundred of these)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return ""
    try:
        chunks = []
        while True:
            data = os.read(fd, 65536)
            if not data:
                break
            chunks.append(data)
        return b"".join(chunks).decode(errors="replace")
    except OSError:
        return ""
    finally:
        os.close(fd)


def _int(path: str) -> int:
    text = _read(path).strip()
    return int(text) if text.isdigit() else 0


def _kv(text: str) -> dict[str, int]:
    out = {}
    for line in text.splitlines():
        k, _, v = line.partition(" ")
        if v.strip().lstrip("-").isdigit():
            out[k] = int(v)
    return out


def _read_v1(s: Sample, dirs: dict[str, str]) -> None:
    acct = dirs.get("cpuacct", "")
    s.cpu_ns = _int(f"{acct}/cpuacct.usage")
    s.percpu_ns = [int(x) for x in _read(f"{acct}/cpuacct.usage_percpu").split() if x.isdigit()]
    ticks = _kv(_read(f"{acct}/cpuacct.stat"))
    hz = os.sysconf("SC_CLK_TCK")
    s.cpu_user_ns = ticks.get("user", 0) * 1_000_000_000 // hz
    s.cpu_kernel_ns = ticks.get("system", 0) * 1_000_000_000 // hz
    mem = dirs.get("memory", "")
    s.mem_usage = _int(f"{mem}/memory.usage_in_bytes")
    s.mem_max_usage = _int(f"{mem}/memory.max_usage_in_bytes")
    s.mem_limit = _int(f"{mem}/memory.limit_in_bytes")
    s.mem_stat = _kv(_read(f"{mem}/memory.stat"))
    pids = dirs.get("pids", "")
    s.pids = _int(f"{pids}/pids.current")
    s.pids_limit = _int(f"{pids}/pids.max")
    blkio = dirs.get("blkio", "")
    text = _read(f"{blkio}/blkio.throttle.io_service_bytes_recursive") or _read(f"{blkio}/blkio.io_service_bytes_recursive")
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in ("Read", "Write") and ":" in parts[0]:
            major, _, minor = parts[0].partition(":")
            s.blkio.append((int(major), int(minor), parts[1], int(parts[2])))


def _read_v2(s: Sample, d: str) -> None:
    cpu = _kv(_read(f"{d}/cpu.stat"))
    s.cpu_ns = cpu.get("usage_usec", 0) * 1000
    s.cpu_user_ns = cpu.get("user_usec", 0) * 1000
    s.cpu_kernel_ns = cpu.get("system_usec", 0) * 1000
    s.mem_usage = _int(f"{d}/memory.current")
    s.mem_max_usage = _int(f"{d}/memory.peak")
    s.mem_limit = _int(f"{d}/memory.max")  # "max" reads as 0: no limit
    s.mem_stat = _kv(_read(f"{d}/memory.stat"))
    s.pids = _int(f"{d}/pids.current")
    s.pids_limit = _int(f"{d}/pids.max")
    for line in _read(f"{d}/io.stat").splitlines():
        dev, *fields = line.split()
        if ":" not in dev:
            continue
        major, _, minor = dev.partition(":")
        kv = dict(f.split("=", 1) for f in fields if "=" in f)
        s.blkio.append((int(major), int(minor), "Read", int(kv.get("rbytes", 0))))
        s.blkio.append((int(major), int(minor), "Write", int(kv.get("wbytes", 0))))


# -- the rest of the host ----------------------------------------------------------------


def _net_dev(pid: int) -> dict[str, NetCounters]:
    """Counters of the container's interfaces (its network namespace), loopback left out."""
    out = {}
    for line in _read(f"/proc/{pid}/net/dev").splitlines()[2:]:
        name, _, rest = line.partition(":")
        name = name.strip()
        nums = rest.split()
        if name == "lo" or len(nums) < 16:
            continue
        n = [int(x) for x in nums]
        out[name] = NetCounters(rx_bytes=n[0], rx_packets=n[1], rx_errors=n[2], rx_dropped=n[3],
                                tx_bytes=n[8], tx_packets=n[9], tx_errors=n[10], tx_dropped=n[11])
    return out


_MEMTOTAL = 0


def _host_memory() -> int:
    global _MEMTOTAL
    if not _MEMTOTAL:
        for line in _read("/proc/meminfo").splitlines():
            if line.startswith("MemTotal:"):
                _MEMTOTAL = int(line.split()[1]) * 1024
                break
    return _MEMTOTAL


def _host_cpu() -> tuple[int, int]:
    """(the host's CPU time in ns, online CPUs) from /proc/stat."""
    text = _read("/proc/stat")
    total, cpus = 0, 0
    for line in text.splitlines():
        if line.startswith("cpu "):
            total = sum(int(x) for x in line.split()[1:8])
        elif line.startswith("cpu"):
            cpus += 1
        else:
            break
    return total * 1_000_000_000 // os.sysconf("SC_CLK_TCK"), max(cpus, 1)


def collect(engine, names: list[str] = (), all_: bool = False) -> list[Sample]:
    """One sample of each named container (none named: every running
    container, or every container with all_), in the order asked."""
    from ..errors import NoSuchContainer

    if names:
        ctrs = []
        for n in names:
            ctr = engine.container(n)
            try:
                ctr.sync_cheap()
            except NoSuchContainer:
                continue
            ctrs.append(ctr)
    else:
        ctrs = [c for c in engine.containers() if all_ or c.state.status in (Status.RUNNING, Status.PAUSED)]
        ctrs.sort(key=lambda c: c.config.created)
    host_cpu = _host_cpu()
    return [sample(c, host_cpu) for c in ctrs]
