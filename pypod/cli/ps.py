"""`pypod ps`: containers listed as podman lists them.

The entries are podman's ListContainer (engine/listing.py, or the same
shape from a REST service when run remotely); this module only presents
them: the default table, --format templates with every field podman's
offers, json, --quiet, and --watch.
"""

from __future__ import annotations

import sys
import time

from ..errors import InvalidArgument

PS_HEADERS = {
    "Cgroup": "CGROUPNS", "CreatedHuman": "CREATED", "ID": "CONTAINER ID", "IPC": "IPC", "MNT": "MNT", "NET": "NET",
    "Networks": "NETWORKS", "PIDNS": "PIDNS", "Pod": "POD ID", "PodName": "PODNAME", "RunningFor": "RUNNING FOR",
    "UTS": "UTS", "User": "USERNS", "Pid": "PID",
}


def add_ps_args(p) -> None:
    from ..specgen.numbers import arg_type, uint_arg

    p.add_argument("-a", "--all", action="store_true", help="show all the containers (default: only running ones)")
    p.add_argument("--external", action="store_true", help="also show writable layers in storage that no container owns")
    p.add_argument("-f", "--filter", action="append", default=[], metavar="KEY=VALUE",
                   help="show only matching containers: id, name, label, status, exited, ancestor, before, since, "
                        "until, volume, health, network, pod, restart-policy (repeatable)")
    p.add_argument("--format", default="", help="json, or a Go template over the fields podman's ps offers")
    p.add_argument("-n", "--last", type=arg_type("-n, --last"), default=-1, metavar="N", help="show the N most recently created containers (all states)")
    p.add_argument("-l", "--latest", action="store_true", help="show the latest container created (all states)")
    p.add_argument("--no-trunc", action="store_true", help="do not shorten IDs and commands")
    p.add_argument("--noheading", action="store_true", help="do not print the column headings")
    p.add_argument("--ns", action="store_true", help="show the container's namespace IDs")
    p.add_argument("-p", "--pod", action="store_true", help="show the ID and name of each container's pod")
    p.add_argument("-q", "--quiet", action="store_true", help="print the container IDs only")
    p.add_argument("-s", "--size", action="store_true", help="show the size of each container's writable layer and rootfs")
    p.add_argument("--sort", default="", metavar="KEY",
                   help="sort by command, created, id, image, names, runningfor, size or status")
    p.add_argument("--sync", action="store_true", help="ask the OCI runtime for each container's state first")
    p.add_argument("-w", "--watch", type=uint_arg("-w, --watch"), default=0, metavar="SECONDS", help="show the list again every SECONDS seconds")


def check_ps_args(a) -> None:
    if a.last >= 0 and a.latest:
        raise InvalidArgument("last and latest are mutually exclusive")
    if a.quiet and (a.size or a.ns):
        raise InvalidArgument("quiet conflicts with size and namespace")
    if a.size and a.ns:
        raise InvalidArgument("size and namespace options conflict")
    if a.watch and a.latest:
        raise InvalidArgument("the watch and latest flags cannot be used together")
    if a.watch < 0:
        raise InvalidArgument(f'invalid argument "{a.watch}" for "-w, --watch" flag')
    if a.sort:
        from ..engine.listing import SORT_KEYS

        if a.sort not in SORT_KEYS:
            raise InvalidArgument("invalid option for --sort, options are: command, created, id, image, names, runningfor, size, or status")


def cmd_ps(engine, a) -> int:
    from ..engine.filters import parse_filters
    from ..engine.listing import list_containers

    check_ps_args(a)
    filters = parse_filters(a.filter)

    def gather() -> list[dict]:
        last = 1 if a.latest else a.last
        return list_containers(engine, all_=a.all, filters=filters, last=last, size=a.size, namespaces=a.ns,
                               external=a.external, sync=a.sync)

    return present(gather, a)


def present(gather, a) -> int:
    """Print the entries gather() returns, as ps's flags ask (also for the remote client)."""
    from ..engine.listing import sort_entries

    def entries() -> list[dict]:
        got = gather()
        return sort_entries(got, a.sort) if a.sort else got

    if a.format in ("json", "{{json .}}"):
        import json

        print(json.dumps([json_entry(e) for e in entries()], indent=2))
        return 0
    if a.quiet and not a.format:
        for e in entries():
            print(e["Id"] if a.no_trunc else e["Id"][:12])
        return 0
    fmt, noheading = a.format, a.noheading
    if fmt and not fmt.startswith("table"):
        noheading = True
    fmt = fmt.replace(".Namespaces.", ".")

    def render() -> str:
        if not fmt:
            return default_table(entries(), a)
        from ..proto.gotemplate import format_items

        rows = [template_row(e, a.no_trunc) for e in entries()]
        return format_items(fmt, rows, headers=PS_HEADERS, noheading=noheading, name="ps")

    if not a.watch:
        text = render()
        if text:
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return 0
    while True:
        text = render()
        sys.stdout.write("\x1b[2J\x1b[H" + text + ("" if text.endswith("\n") else "\n"))
        sys.stdout.flush()
        time.sleep(a.watch)


def default_columns(a) -> list[str]:
    if a.ns:
        return ["ID", "Names", "Pid", "Cgroup", "IPC", "MNT", "NET", "PIDNS", "User", "UTS"]
    cols = ["ID", "Image", "Command", "CreatedHuman", "Status", "Ports", "Names"]
    if a.pod:
        cols += ["Pod", "PodName"]
    if a.size:
        cols.append("Size")
    return cols


def default_table(entries: list[dict], a) -> str:
    """The table ps prints without --format (no template engine needed)."""
    from ..proto.tabwriter import tabwrite
    from .output import printable

    cols = default_columns(a)
    lines = [] if a.noheading else ["\t".join(PS_HEADERS.get(c, c.upper()) for c in cols)]
    for e in entries:
        row = template_row(e, a.no_trunc, plain=True)
        # a command's newlines, tabs and escape sequences never reach the terminal raw
        lines.append("\t".join(printable(str(row[c])) for c in cols))
    return tabwrite("\n".join(lines) + "\n") if lines else ""


def json_entry(e: dict) -> dict:
    """`ps --format json`: podman's ListContainer, Created in unix seconds,
    CreatedAt and Status as ps prints them, empty namespaces left out."""
    from ..proto.humanize import human_ago

    out = dict(e)
    created = out.pop("Created")
    out["CreatedAt"] = human_ago(time.time() - created)
    out["Status"] = state_text(e)
    out["Namespaces"] = {k: v for k, v in (e.get("Namespaces") or {}).items() if v}
    out["Created"] = int(created)
    return out


def state_text(e: dict) -> str:
    """psReporter.Status: "Up 5 minutes ago", "Exited (0) 2 hours ago",
    "Created", with the health word in parentheses when there is one."""
    from ..proto.humanize import human_duration

    now = time.time()
    state = e["State"]
    if state == "running":
        text = f"Up {human_duration(now - e['StartedAt'])} ago"
    elif state in ("exited", "stopped"):
        text = f"Exited ({e['ExitCode']}) {human_duration(now - e['ExitedAt'])} ago"
    else:
        text = state[:1].upper() + state[1:]
    return f"{text} ({e['Status']})" if e.get("Status") else text


def ports_text(ports) -> str:
    """IP:HostPort(-Range)->ContainerPort(-Range)/Proto, comma separated."""
    out = []
    for p in ports or []:
        ip = p.get("host_ip") or "0.0.0.0"
        rng = int(p.get("range") or 1)
        hp, cp = int(p.get("host_port") or 0), int(p.get("container_port") or 0)
        for proto in (p.get("protocol") or "tcp").split(","):
            if rng > 1:
                out.append(f"{ip}:{hp}-{hp + rng - 1}->{cp}-{cp + rng - 1}/{proto}")
            else:
                out.append(f"{ip}:{hp}->{cp}/{proto}")
    return ", ".join(out)


def template_row(e: dict, no_trunc: bool, plain: bool = False) -> dict:
    """The fields a --format template sees (podman's psReporter); plain:
    only for the default table, without the template engine's types."""
    from ..proto.humanize import GoTime, human_ago, human_size

    if plain:
        GoMap = dict
    else:
        from ..proto.gotemplate import GoMap

    command = " ".join(e["Command"] or [])
    if not no_trunc and len(command) > 17:
        command = command[:17] + "..."
    created_human = human_ago(time.time() - e["Created"])
    status = state_text(e)
    ns = e.get("Namespaces") or {}
    size = e.get("Size")
    if size is not None:
        size_text = f"{human_size(size.get('rwSize', 0), '')} (virtual {human_size(size.get('rootFsSize', 0), '')})"
    else:
        size_text = ""
    return {
        "AutoRemove": e["AutoRemove"],
        "Command": command,
        "Created": GoTime(e["Created"]),
        "CreatedAt": GoTime(e["Created"]),
        "CreatedHuman": created_human,
        "RunningFor": created_human,
        "Exited": e["Exited"],
        "ExitedAt": e["ExitedAt"],
        "ExitCode": e["ExitCode"],
        "ID": e["Id"] if no_trunc else e["Id"][:12],
        "Id": e["Id"],
        "Image": e["Image"],
        "ImageID": e["ImageID"] if no_trunc else e["ImageID"][:12],
        "IsInfra": e["IsInfra"],
        "Labels": GoMap(e["Labels"] or {}),
        "Mounts": list(e["Mounts"] or []),
        "Names": e["Names"][0] if e["Names"] else "",
        "Namespaces": ns,
        "Cgroup": ns.get("Cgroup", ""), "IPC": ns.get("Ipc", ""), "MNT": ns.get("Mnt", ""), "NET": ns.get("Net", ""),
        "PIDNS": ns.get("Pidns", ""), "User": ns.get("User", ""), "UTS": ns.get("Uts", ""),
        "Networks": ",".join(e["Networks"] or []),
        "Pid": e["Pid"],
        "Pod": e["Pod"] if no_trunc else e["Pod"][:12],
        "PodName": e["PodName"],
        "Ports": ports_text(e["Ports"]),
        "Size": size_text,
        "StartedAt": e["StartedAt"],
        "State": status,
        "Status": status,
    }
