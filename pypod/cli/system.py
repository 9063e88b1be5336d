"""info and version."""

from __future__ import annotations

import json


def add_info_args(p) -> None:
    p.add_argument("-f", "--format", default="", help="change the output format to JSON or a Go template")


def cmd_info(engine, a) -> int:
    info = engine.info()
    if a.format in ("json", "{{json .}}"):
        print(json.dumps(info, indent=4))
    elif a.format:
        from .output import print_template

        print_template(a.format, [info])
    else:
        _print_yaml(info)
    return 0


def _print_yaml(d: dict, indent: int = 0) -> None:
    """podman prints info as YAML; this small emitter covers the dict's shapes."""
    pad = "  " * indent
    for k, v in d.items():
        if isinstance(v, dict):
            print(f"{pad}{k}:")
            _print_yaml(v, indent + 1)
        elif isinstance(v, list):
            print(f"{pad}{k}:")
            for item in v:
                print(f"{pad}- {item}")
        else:
            print(f"{pad}{k}: {v}")


def add_version_args(p) -> None:
    p.add_argument("-f", "--format", default="", help="change the output format to JSON or a Go template")


def cmd_version(engine, a) -> int:
    import platform

    from .. import __version__

    data = {
        "Client": {"APIVersion": "4.3.1", "Version": __version__, "GoVersion": "python" + platform.python_version(),
                   "OsArch": f"linux/{platform.machine()}", "BuiltTime": "", "GitCommit": ""},
    }
    if a.format in ("json", "{{json .}}"):
        print(json.dumps(data, indent=4))
    elif a.format:
        from .output import print_template

        print_template(a.format, [data])
    else:
        c = data["Client"]
        print(f"Version:      {c['Version']}\nAPI Version:  {c['APIVersion']}\nGo Version:   {c['GoVersion']}\nOS/Arch:      {c['OsArch']}")
    return 0


def add_events_args(p) -> None:
    p.add_argument("--since", default="", help="show events created since this time (RFC 3339, unix time or a duration)")
    p.add_argument("--until", default="", help="show events created until this time")
    p.add_argument("--stream", default="true", help="stream new events (false: print past events and exit)")
    p.add_argument("-f", "--filter", action="append", default=[], help="type=, event=, container= filters")
    p.add_argument("--format", default="", help="json or a Go template")


def cmd_events(engine, a) -> int:
    import datetime
    import sys

    from ..proto.k8s_log import parse_time

    since = parse_time(a.since) if a.since else 0
    until = parse_time(a.until, since=False) if a.until else 0
    want: dict[str, set] = {}
    for f in a.filter:
        k, sep, v = f.partition("=")
        if not sep or k not in ("type", "event", "container"):
            from ..errors import InvalidArgument

            raise InvalidArgument(f"invalid filter {f!r}: use type=, event= or container=")
        want.setdefault(k, set()).add(v)
    follow = a.stream.lower() not in ("false", "0", "no") and not until
    for ev in engine.events.read(since_ns=since, until_ns=until, follow=follow):
        if "type" in want and ev["type"] not in want["type"]:
            continue
        if "event" in want and ev["action"] not in want["event"]:
            continue
        if "container" in want and not (want["container"] & {ev["id"], ev["name"]}):
            continue
        if a.format in ("json", "{{json .}}"):
            print(json.dumps({"ID": ev["id"], "Name": ev["name"], "Image": ev["image"], "Status": ev["action"],
                              "Type": ev["type"], "Time": ev["time"], "Attributes": ev["attributes"]}))
        elif a.format:
            from .output import print_template

            print_template(a.format, [{"ID": ev["id"], "Name": ev["name"], "Image": ev["image"], "Status": ev["action"],
                                       "Type": ev["type"], "Time": ev["time"]}])
        else:
            when = datetime.datetime.fromtimestamp(ev["time"] / 1e9).isoformat(sep=" ")
            print(f"{when} {ev['type']} {ev['action']} {ev['id']} (image={ev['image']}, name={ev['name']})")
        sys.stdout.flush()
    return 0


def add_service_args(p) -> None:
    from ..specgen.numbers import uint_arg

    p.add_argument("-t", "--time", type=uint_arg("-t, --time"), default=5, help="seconds idle before the service exits; 0 never exits")
    p.add_argument("--group", default="", help="group that may use the unix socket (mode 0660)")
    p.add_argument("uri", nargs="?", default="", help="unix:///path or tcp://host:port")


def cmd_service(engine, a) -> int:
    from ..api.service import serve

    config = engine.config
    engine.close()
    return serve(config, a.uri, a.time, a.group)
