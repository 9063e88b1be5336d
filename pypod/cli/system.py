"""info and version."""

from __future__ import annotations

import json


def add_info_args(p) -> None:
    p.add_argument("-f", "--format", default="", help="json, or a Go template over podman's fields (.Host.Arch, .Store.GraphRoot, ...)")
    p.add_argument("--debug", "-D", action="store_true", help=argparse_hidden())


def argparse_hidden():
    import argparse

    return argparse.SUPPRESS


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
    p.add_argument("uri", nargs="?", default="", help="unix:///path or tcp://host:port")


def cmd_service(engine, a) -> int:
    from ..api.service import serve

    config = engine.config
    engine.close()
    return serve(config, a.uri, a.time, a.group)
