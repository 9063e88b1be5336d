"""info, version, service, and the whole-store commands: df, prune, reset,
migrate, renumber."""

from __future__ import annotations

import json
import sys

from ..errors import InvalidArgument


def add_info_args(p) -> None:
    p.add_argument("-f", "--format", default="", help="json, or a Go template over podman's fields (.Host.Arch, .Store.GraphRoot, ...)")


def cmd_info(engine, a) -> int:
    from ..engine.sysinfo import info

    return present_info(info(engine), a.format)


def present_info(data: dict, fmt: str) -> int:
    """data under Go's field names (engine/sysinfo.py); also for the remote client."""
    from ..engine.sysinfo import as_json

    if fmt in ("json", "{{json .}}"):
        print(json.dumps(as_json(data), indent=4))
    elif fmt:
        from .output import print_template

        print_template(fmt, [_go_maps(data)])
    else:
        print(to_yaml(as_json(data)), end="")
    return 0


def _go_maps(data):
    """Maps stay maps in templates ({{.Store.GraphStatus}} prints map[...])."""
    from ..proto.gotemplate import GoMap

    out = {}
    for k, v in data.items():
        if k in ("Registries", "GraphOptions", "GraphStatus"):
            out[k] = GoMap(v or {})
        elif isinstance(v, dict):
            out[k] = _go_maps(v)
        else:
            out[k] = v
    return out


def to_yaml(value, indent: int = 0) -> str:
    """The YAML podman prints (keys sorted, lists under their key, block
    strings for several lines, quotes where YAML would misread)."""
    pad = "  " * indent
    lines = []
    for key in sorted(value):
        v = value[key]
        if isinstance(v, dict):
            if v:
                lines.append(f"{pad}{key}:\n" + to_yaml(v, indent + 1))
            else:
                lines.append(f"{pad}{key}: {{}}\n")
        elif isinstance(v, list):
            if v:
                lines.append(f"{pad}{key}:\n" + "".join(f"{pad}- {_scalar(x, indent)}\n" for x in v))
            else:
                lines.append(f"{pad}{key}: []\n")
        else:
            lines.append(f"{pad}{key}: {_scalar(v, indent)}\n")
    return "".join(lines)


def _scalar(v, indent: int) -> str:
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return str(v)
    text = str(v)
    if "\n" in text:
        pad = "  " * (indent + 1)
        return "|-\n" + "\n".join(pad + line for line in text.splitlines())
    if text == "":
        return '""'
    plain_risky = text.lower() in ("true", "false", "yes", "no", "null", "~", "on", "off") or _is_number(text)
    if plain_risky:
        return f'"{text}"'
    if ": " in text or text[0] in "!&*?|>'\"%@`#{}[],-" or text.endswith(":") or " #" in text:
        return "'" + text.replace("'", "''") + "'"
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def add_version_args(p) -> None:
    p.add_argument("-f", "--format", default="", help="json, or a Go template over .Client (and .Server when remote)")


def cmd_version(engine, a) -> int:
    from ..engine.sysinfo import version_data

    return present_version({"Client": version_data()}, a.format)


def present_version(data: dict, fmt: str) -> int:
    """{"Client": Version[, "Server": Version]} as podman's version prints it."""
    if fmt in ("json", "{{json .}}"):
        print(json.dumps(data, separators=(",", ":")))
        return 0
    if fmt:
        from .output import print_template

        print_template(fmt, [data])
        return 0
    for section in ("Client", "Server"):
        v = data.get(section)
        if not v:
            continue
        if section == "Server":
            print()
        print(f"{section + ':':<14}pypod Engine" if section == "Client" else f"{section + ':':<14}{data.get('ServerName', 'Podman Engine')}")
        print(f"Version:      {v['Version']}\nAPI Version:  {v['APIVersion']}\nGo Version:   {v['GoVersion']}")
        if v.get("GitCommit"):
            print(f"Git Commit:   {v['GitCommit']}")
        print(f"Built:        {v['BuiltTime']}\nOS/Arch:      {v['OsArch']}")
    return 0


def add_service_args(p) -> None:
    from ..specgen.numbers import uint_arg

    p.add_argument("-t", "--time", type=uint_arg("-t, --time"), default=5, help="seconds idle before the service exits; 0 never exits")
    p.add_argument("--group", default="", help="group that may use the unix socket (mode 0660)")
    p.add_argument("--cors", default="", metavar="ORIGIN",
                   help="let browsers on ORIGIN (or * for any) call the API: sets the CORS headers on every answer")
    p.add_argument("uri", nargs="?", default="", help="unix:///path or tcp://host:port")


def cmd_service(engine, a) -> int:
    from ..api.service import serve

    config = engine.config
    engine.close()
    return serve(config, a.uri, a.time, a.group, a.cors)


# -- df / prune / reset / migrate / renumber ------------------------------------------------


def add_df_args(p) -> None:
    p.add_argument("--format", default="", help="json, or a Go template over .Type .Total .Active .Size .Reclaimable")
    p.add_argument("-v", "--verbose", action="store_true", help="list every image, container and volume with its size")


def cmd_df(engine, a) -> int:
    from ..engine.housekeeping import disk_usage

    return present_df(disk_usage(engine), a)


def present_df(report: dict, a) -> int:
    from ..engine.housekeeping import since, summary
    from ..proto.gotemplate import format_items

    def size(n: int) -> str:
        from ..engine.images import _tree_size

        return _tree_size(n)

    def write(text: str) -> None:
        if text:
            sys.stdout.write(text if text.endswith("\n") else text + "\n")

    if a.verbose:
        if a.format:
            raise InvalidArgument("cannot combine --format and --verbose flags")
        print("Images space usage:\n")
        rows = [{**i, "ImageID": i["ImageID"][:12], "Created": since(i["Created"]), "Size": size(i["Size"]),
                 "SharedSize": size(i["SharedSize"]), "UniqueSize": size(i["UniqueSize"])} for i in report["Images"]]
        write(format_items("table {{.Repository}}\t{{.Tag}}\t{{.ImageID}}\t{{.Created}}\t{{.Size}}\t{{.SharedSize}}\t"
                           "{{.UniqueSize}}\t{{.Containers}}", rows, name="df",
                           headers={"ImageID": "IMAGE ID", "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE"}))
        print("\nContainers space usage:\n")
        rows = [{**c, "ContainerID": c["ContainerID"][:12], "Image": c["Image"][:12], "Command": " ".join(c["Command"]),
                 "Size": size(c["Size"]), "Created": since(c["Created"])} for c in report["Containers"]]
        write(format_items("table {{.ContainerID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.Created}}\t"
                           "{{.Status}}\t{{.Names}}", rows, name="df",
                           headers={"ContainerID": "CONTAINER ID", "LocalVolumes": "LOCAL VOLUMES"}))
        print("\nLocal Volumes space usage:\n")
        rows = [{**v, "Size": size(v["Size"])} for v in report["Volumes"]]
        write(format_items("table {{.VolumeName}}\t{{.Links}}\t{{.Size}}", rows, name="df",
                           headers={"VolumeName": "VOLUME NAME"}))
        return 0
    lines = summary(report)
    for line in lines:
        pct = round(100 * line["RawReclaimable"] / line["RawSize"]) if line["RawSize"] else 0
        line["Size"] = size(line["RawSize"])
        line["Reclaimable"] = f"{size(line['RawReclaimable'])} ({pct}%)"
    if a.format in ("json", "{{json .}}"):
        print(json.dumps([{k: v for k, v in x.items()} for x in lines], indent=4))
        return 0
    fmt = a.format or "table {{.Type}}\t{{.Total}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"
    write(format_items(fmt, lines, noheading=bool(a.format) and not a.format.startswith("table"), name="df"))
    return 0


def add_system_prune_args(p) -> None:
    p.add_argument("-a", "--all", action="store_true", help="remove every image no container uses, not only dangling ones")
    p.add_argument("--filter", action="append", default=[], metavar="KEY=VALUE", help="only what matches: label=, until=")
    p.add_argument("-f", "--force", action="store_true", help="do not ask for confirmation")
    p.add_argument("--volumes", action="store_true", help="remove the volumes no container uses too")


def cmd_system_prune(engine, a) -> int:
    from ..engine.filters import parse_filters
    from ..engine.housekeeping import system_prune
    from ..proto.humanize import human_size
    from .images import confirm

    filters = parse_filters(a.filter)
    for key in filters:
        if key not in ("label", "label!", "until"):
            raise InvalidArgument(f"{key} is an invalid filter")
    if not a.force:
        what = ["all stopped containers", "all networks not used by at least one container", "all dangling images" if not a.all else "all images without at least one container associated to them"]
        if a.volumes:
            what.append("all volumes not used by at least one container")
        text = "WARNING! This command removes:\n" + "".join(f"\t- {w}\n" for w in what) + "\nAre you sure you want to continue?"
        if not confirm(text):
            return 0
    report = system_prune(engine, all_images=a.all, volumes=a.volumes, filters=filters)
    total = 0
    for title, key in (("Deleted Pods", "Pods"), ("Deleted Containers", "Containers"), ("Deleted Networks", "Networks"),
                       ("Deleted Volumes", "Volumes"), ("Deleted Images", "Images")):
        if report[key]:
            print(title)
            for item in report[key]:  # pods and networks: names; the rest (ident, size)
                ident, size = item if isinstance(item, tuple) else (item, 0)
                print(ident)
                total += size
    print(f"Total reclaimed space: {human_size(total, '')}")
    return 0


def add_reset_args(p) -> None:
    p.add_argument("-f", "--force", action="store_true", help="do not ask for confirmation")


def cmd_reset(engine, a) -> int:
    from ..engine.housekeeping import reset
    from .images import confirm

    if not a.force and not confirm("WARNING! This will remove:\n        - all containers\n        - all pods\n        - all images\n"
                                   "        - all networks\n        - all build cache\n        - all volumes\n"
                                   "Are you sure you want to continue?"):
        return 0
    reset(engine)
    return 0


def add_migrate_args(p) -> None:
    p.add_argument("--new-runtime", default="", metavar="RUNTIME",
                   help="move every container to this OCI runtime (running ones are stopped first)")


def cmd_migrate(engine, a) -> int:
    from ..engine.housekeeping import migrate

    if a.new_runtime:
        engine.runtime_for(a.new_runtime)  # must exist before anything moves to it
    migrate(engine, a.new_runtime)
    return 0


def add_renumber_args(p) -> None:
    pass


def cmd_renumber(engine, a) -> int:
    from ..engine.housekeeping import renumber

    renumber(engine)
    return 0
