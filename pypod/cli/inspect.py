"""`pypod inspect`: any object by name or ID, as podman prints it.

Each kind of object has one inspector here (a function of the engine and a
name that returns the object's inspect data or raises its "no such" error);
`--type all` tries them in podman's order: container, image, volume,
network, pod.
"""

from __future__ import annotations

import json
import sys

from ..errors import InvalidArgument, PypodError

TYPES = ("container", "image", "volume", "network", "pod", "all")


def inspect_container(engine, name: str, size: bool = False) -> dict:
    from ..errors import NoSuchContainer

    try:
        ctr = engine.container(name)
    except NoSuchContainer:
        raise NoSuchContainer(f"no such container {name}") from None
    ctr.sync_cheap(with_execs=True)
    data = ctr.inspect()
    if size:
        from ..engine.listing import container_size

        sizes = container_size(ctr)
        data["SizeRw"] = sizes["rwSize"]
        data["SizeRootFs"] = sizes["rootFsSize"]
    return data


def inspect_image(engine, name: str, size: bool = False) -> dict:
    return engine.images.inspect_dict(engine.images.lookup(name))


def _inspect_volume(engine, name: str, size: bool = False) -> dict:
    from ..errors import NoSuchObject

    raise NoSuchObject(f"no such volume {name}")


def _inspect_network(engine, name: str, size: bool = False) -> dict:
    from ..errors import NoSuchObject

    raise NoSuchObject(f"unable to find network with name or ID {name}: network not found")


def _inspect_pod(engine, name: str, size: bool = False) -> dict:
    from ..errors import NoSuchObject

    raise NoSuchObject(f"no such pod {name}")


#: kind -> inspector; the modules that own volumes, networks and pods put theirs here
INSPECTORS = {
    "container": inspect_container,
    "image": inspect_image,
    "volume": _inspect_volume,
    "network": _inspect_network,
    "pod": _inspect_pod,
}

#: podman's errors for an unknown name, by kind
NOT_FOUND = {
    "container": "no such container {name}",
    "image": "{name}: image not known",
}


def add_inspect_args(p) -> None:
    p.add_argument("-f", "--format", default="", help="json (the default), or a Go template applied to each object")
    p.add_argument("-t", "--type", default="all", metavar="TYPE",
                   help="what kind of object: container, image, volume, network, pod, or all (the first kind that has the name)")
    p.add_argument("-s", "--size", action="store_true", help="add the container's sizes (SizeRw, SizeRootFs)")
    p.add_argument("-l", "--latest", action="store_true", help="inspect the latest container created")
    p.add_argument("names", nargs="*", metavar="NAME")


def cmd_inspect(engine, a) -> int:
    kind = a.type
    if kind not in TYPES:
        raise InvalidArgument(f'invalid type "{kind}": must be "image", "container", "pod", "network", "volume", or "all"')
    names = list(a.names)
    if a.latest:
        if names:
            raise InvalidArgument("--latest and arguments cannot be used together")
        names = [engine.latest_container().id]
        kind = "container" if kind == "all" else kind
    if not names:
        raise InvalidArgument("no names or ids specified")
    results, errors = [], []
    for name in names:
        try:
            results.append(find(engine, kind, name, a.size))
        except PypodError as e:
            errors.append(str(e))
    return print_inspect(results, errors, a.format, kind)


def find(engine, kind: str, name: str, size: bool = False) -> dict:
    if kind != "all":
        return INSPECTORS[kind](engine, name, size)
    for each in ("container", "image", "volume", "network", "pod"):
        try:
            return INSPECTORS[each](engine, name, size)
        except PypodError:
            continue
    from ..errors import NoSuchObject

    raise NoSuchObject(f'no such object: "{name}"')


def normalize_format(fmt: str, kind: str) -> str:
    """podman's aliases in inspect templates (.Id, .Src, .Dst, .ImageID)."""
    import re

    fmt = re.sub(r"{{\s*\.Id\s*}}", "{{.ID}}", fmt)
    for old, new in ((".Src", ".Source"), (".Dst", ".Destination"), (".ImageID", ".Image")):
        fmt = fmt.replace(old, new)
    if kind == "image":
        fmt = fmt.replace(".Config.Healthcheck", ".HealthCheck")
    return fmt


def print_inspect(results: list, errors: list[str], fmt: str, kind: str = "all") -> int:
    if fmt and fmt not in ("json", "{{json .}}"):
        from ..proto.gotemplate import format_items

        rows = [_with_id_alias(r) for r in results]
        text = format_items(normalize_format(fmt, kind), rows, noheading=True, name="inspect")
        if text:
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        print(json.dumps(results, indent=5, ensure_ascii=False))
    for e in errors[1:]:
        print(f"error inspecting object: {e}", file=sys.stderr)
    if errors:
        print(f"Error: inspecting object: {errors[0]}", file=sys.stderr)
        return 125
    return 0


def _with_id_alias(data):
    """Templates may say .ID where the data says Id (podman's structs have both)."""
    if isinstance(data, dict) and "Id" in data and "ID" not in data:
        data = {**data, "ID": data["Id"]}
    return data
