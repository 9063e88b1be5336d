"""`pypod system connection add|ls|rm|default|rename`: named service
destinations for the remote client (pypod/remote/connections.py)."""

from __future__ import annotations

import json

from ..errors import InvalidArgument


def add_connection_args(p) -> None:
    sub = p.add_subparsers(dest="action", metavar="{add,default,list,remove,rename}")
    sub.required = True
    add = sub.add_parser("add", help="record a destination: unix:///path or tcp://host:port")
    add.add_argument("-d", "--default", action="store_true", help="make it the default connection")
    add.add_argument("--identity", default="", help="ssh identity file (kept for podman's sake; pypod speaks no ssh)")
    add.add_argument("name")
    add.add_argument("destination")
    d = sub.add_parser("default", help="make a connection the default")
    d.add_argument("name")
    ls = sub.add_parser("list", aliases=["ls"], help="list the connections")
    ls.add_argument("-f", "--format", default="", help="json, or a Go template over .Name .URI .Identity .Default")
    ls.add_argument("-q", "--quiet", action="store_true", help="names only")
    rm = sub.add_parser("remove", aliases=["rm"], help="forget a connection")
    rm.add_argument("-a", "--all", action="store_true", help="forget every connection")
    rm.add_argument("name", nargs="?", default="")
    rn = sub.add_parser("rename", help="give a connection a new name")
    rn.add_argument("old")
    rn.add_argument("new")


def cmd_connection(engine, a) -> int:
    from ..remote import connections as conns

    data = conns.load()
    known = data["connections"]
    if a.action == "add":
        uri = conns.check_uri(a.destination)
        known[a.name] = {"uri": uri, "identity": a.identity}
        if a.default or len(known) == 1:
            data["default"] = a.name
    elif a.action == "default":
        _need(known, a.name)
        data["default"] = a.name
    elif a.action in ("remove", "rm"):
        if a.all:
            if a.name:
                raise InvalidArgument("--all and a name cannot be used together")
            known.clear()
        elif not a.name:
            raise InvalidArgument("accepts 1 arg(s), received 0")
        else:
            known.pop(a.name, None)  # podman: removing a name that is not there is fine
        if data["default"] not in known:
            data["default"] = next(iter(known), "")
    elif a.action == "rename":
        _need(known, a.old)
        if a.new in known:
            raise InvalidArgument(f'connection "{a.new}" already exists')
        known[a.new] = known.pop(a.old)
        if data["default"] == a.old:
            data["default"] = a.new
    else:
        return _list(data, a)
    conns.save(data)
    return 0


def _need(known: dict, name: str) -> None:
    if name not in known:
        raise InvalidArgument(f'"{name}" destination is not defined. See "pypod system connection add ..." to create a connection')


def _list(data: dict, a) -> int:
    rows = [{"Name": name, "URI": c["uri"], "Identity": c.get("identity", ""), "Default": name == data["default"]}
            for name, c in sorted(data["connections"].items())]
    if a.quiet:
        for r in rows:
            print(r["Name"])
    elif a.format in ("json", "{{json .}}"):
        print(json.dumps(rows, indent=4))
    elif a.format:
        from .output import print_template

        print_template(a.format, rows)
    else:
        from .output import print_table

        print_table([("NAME", "Name"), ("URI", "URI"), ("IDENTITY", "Identity"), ("DEFAULT", "Default")],
                    [{**r, "Default": str(r["Default"]).lower()} for r in rows])
    return 0
