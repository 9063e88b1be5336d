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
