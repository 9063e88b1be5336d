"""`pypod stats`: live resource usage of containers, as podman prints it."""

from __future__ import annotations

import json
import sys
import time

from ..errors import InvalidArgument

#: template field -> header, podman's
HEADERS = {"ID": "ID", "ContainerID": "CONTAINER ID", "Name": "NAME", "CPUPerc": "CPU %", "MemUsage": "MEM USAGE / LIMIT",
           "MemUsageBytes": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET IO", "BlockIO": "BLOCK IO",
           "PIDS": "PIDS", "PIDs": "PIDS", "CPU": "CPU", "AVGCPU": "AVG CPU %", "UpTime": "CPU TIME",
           "CPUNano": "CPU NANO", "CPUSystemNano": "CPU SYSTEM NANO", "SystemNano": "SYSTEM NANO",
           "MemLimit": "MEM LIMIT", "Duration": "DURATION"}
COLUMNS = ("ID", "Name", "CPUPerc", "MemUsage", "MemPerc", "NetIO", "BlockIO", "PIDS", "UpTime", "AVGCPU")


def add_stats_args(p) -> None:
    p.add_argument("-a", "--all", action="store_true", help="show all containers (default: running ones)")
    p.add_argument("--format", default="", help="json, or a Go template over the fields of podman's stats")
    p.add_argument("-i", "--interval", type=int, default=5, help="seconds between refreshes (default 5)")
    p.add_argument("-l", "--latest", action="store_true", help="act on the latest container")
    p.add_argument("--no-reset", action="store_true", help="do not clear the screen between refreshes")
    p.add_argument("--no-stream", action="store_true", help="print one sample and exit")
    p.add_argument("--no-trunc", action="store_true", help="do not truncate IDs")
    p.add_argument("names", nargs="*", metavar="CONTAINER")


def cmd_stats(engine, a) -> int:
    from .. import rootless
    from ..engine import stats

    rootless.refuse_without_cgroups("stats is not supported in rootless mode without cgroups v2")

    if a.interval < 1:
        raise InvalidArgument("stats interval cannot be less than 1 second")
    if a.latest and (a.names or a.all):
        raise InvalidArgument("--latest and containers cannot be used together" if a.names else
                              "--all and --latest cannot be used together")
    names = [engine.latest_container().id] if a.latest else list(a.names)
    previous: dict[str, stats.Sample] = {}
    fmt = a.format
    while True:
        samples = stats.collect(engine, names, all_=a.all)
        rows = [row(s, previous.get(s.id), a.no_trunc) for s in samples]
        previous = {s.id: s for s in samples}
        if fmt in ("json", "{{json .}}"):
            text = json.dumps([json_entry(r) for r in rows], indent=1) + "\n"
        elif fmt:
            from ..proto.gotemplate import format_items

            text = format_items(fmt, rows, headers=HEADERS, name="stats")
        else:
            from ..proto.tabwriter import tabwrite

            lines = ["\t".join(HEADERS[c] for c in COLUMNS)]
            lines += ["\t".join(str(r[c]) for c in COLUMNS) for r in rows]
            text = tabwrite("\n".join(lines) + "\n")
        if not a.no_stream and not a.no_reset and sys.stdout.isatty():
            text = "\x1b[2J\x1b[H" + text
        sys.stdout.write(text if not text or text.endswith("\n") else text + "\n")
        sys.stdout.flush()
        if a.no_stream:
            return 0
        time.sleep(a.interval)


def row(s, prev, no_trunc: bool) -> dict:
    """podman's stats fields of a sample, as its templates see them."""
    from ..engine.stats import avg_cpu_percent, cpu_percent
    from ..proto.humanize import go_duration, human_size, iec_size

    cpu = cpu_percent(s, prev)
    mem_perc = s.mem_usage / s.mem_limit * 100 if s.mem_limit else 0.0
    return {
        "ID": s.id if no_trunc else s.id[:12], "ContainerID": s.id, "Name": s.name,
        "CPUPerc": f"{cpu:.2f}%", "CPU": cpu, "AVGCPU": f"{avg_cpu_percent(s):.2f}%",
        "MemUsage": f"{human_size(s.mem_usage, '', 4)} / {human_size(s.mem_limit, '', 4)}",
        "MemUsageBytes": f"{iec_size(s.mem_usage)} / {iec_size(s.mem_limit)}",
        "MemPerc": f"{mem_perc:.2f}%", "MemLimit": s.mem_limit,
        "NetIO": f"{human_size(s.net_rx, '', 4)} / {human_size(s.net_tx, '', 4)}",
        "BlockIO": f"{human_size(s.block_read, '', 4)} / {human_size(s.block_write, '', 4)}",
        "PIDS": s.pids, "PIDs": s.pids, "UpTime": go_duration(s.cpu_ns), "CPUNano": s.cpu_ns,
        "CPUSystemNano": s.cpu_kernel_ns, "SystemNano": s.read_ns, "Duration": s.cpu_ns,
    }


def json_entry(r: dict) -> dict:
    """`stats --format json`: podman's keys and strings."""
    return {"id": r["ID"], "name": r["Name"], "cpu_time": r["UpTime"], "cpu_percent": r["CPUPerc"],
            "avg_cpu": r["AVGCPU"], "mem_usage": r["MemUsage"], "mem_percent": r["MemPerc"], "net_io": r["NetIO"],
            "block_io": r["BlockIO"], "pids": str(r["PIDS"])}
