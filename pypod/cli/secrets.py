"""`pypod secret create|ls|rm|inspect`: secrets stored in the engine, given to
containers as environment variables (`--secret NAME,type=env`)."""

from __future__ import annotations

import json
import sys
import time

from ..errors import InvalidArgument, PypodError


def add_secret_args(p) -> None:
    sub = p.add_subparsers(dest="action", metavar="{create,ls,rm,inspect}")
    sub.required = True
    c = sub.add_parser("create", help="create a new secret from a file or - for standard input")
    c.add_argument("--env", action="store_true", help="read the secret data from the environment variable FILE")
    c.add_argument("-d", "--driver", default="file", help="secret driver (only 'file')")
    c.add_argument("--driver-opts", action="append", default=[], metavar="KEY=VALUE",
                   help="options for the driver (shown in inspect's Spec.Driver.Options)")
    c.add_argument("-l", "--label", action="append", default=[], metavar="KEY=VALUE", help="a label on the secret")
    c.add_argument("--replace", action="store_true", help="replace an existing secret of the same name")
    c.add_argument("name")
    c.add_argument("file")
    ls = sub.add_parser("ls", aliases=["list"], help="list secrets")
    ls.add_argument("--filter", action="append", default=[], metavar="KEY=VALUE",
                    help="only secrets matching: name=, id= (prefix)")
    ls.add_argument("--format", default="", help="json or a Go template")
    ls.add_argument("-q", "--quiet", action="store_true", help="print IDs only")
    ls.add_argument("--noheading", action="store_true", help="do not print headers")
    rm = sub.add_parser("rm", aliases=["remove"], help="remove one or more secrets")
    rm.add_argument("-a", "--all", action="store_true", help="remove all secrets")
    rm.add_argument("names", nargs="*")
    ins = sub.add_parser("inspect", help="inspect secrets (never shows their data)")
    ins.add_argument("-f", "--format", default="", help="json or a Go template")
    ins.add_argument("--pretty", action="store_true", help="readable lines instead of JSON")
    ins.add_argument("names", nargs="+")


def cmd_secret(engine, a) -> int:
    return {"create": _create, "ls": _ls, "list": _ls, "rm": _rm, "remove": _rm, "inspect": _inspect}[a.action](engine, a)


def _create(engine, a) -> int:
    import os
    import secrets as _secrets

    from ..engine.naming import validate_name

    validate_name(a.name, what="secret")
    if a.driver != "file":
        raise InvalidArgument(f"secret driver {a.driver!r} is not supported: only 'file'")
    if a.env:
        if a.file not in os.environ:
            raise InvalidArgument(f"cannot create store secret data: environment variable {a.file} is not set")
        data = os.environ[a.file].encode()
    elif a.file == "-":
        data = sys.stdin.buffer.read()
    else:
        try:
            with open(a.file, "rb") as f:
                data = f.read()
        except OSError as e:
            raise InvalidArgument(f"open {a.file}: {e.strerror.lower()}") from None
    if not data:
        raise InvalidArgument("secret data must be larger than 0 and less than 512000 bytes")
    labels, options = _key_values(a.label, "label"), _key_values(a.driver_opts, "driver option")
    if len(data) >= 512000:
        raise InvalidArgument("secret data must be larger than 0 and less than 512000 bytes")
    if a.replace:
        try:
            sid, *_ = engine.store.lookup_secret(a.name)
            engine.store.remove_secret(sid)
        except PypodError:
            pass
    sid = _secrets.token_hex(12)
    engine.store.add_secret(sid, a.name, data, {"driver": a.driver, "created": time.time(), "labels": labels,
                                                "options": options})
    print(sid)
    return 0


def _key_values(items: list[str], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not key:
            raise InvalidArgument(f"invalid {what} {item!r}: no key")
        out[key] = value if eq else ""
    return out


def _rows(engine, filters: list[str] = ()):
    from ..proto.humanize import human_ago, rfc3339

    wanted = {}
    for f in filters:
        key, _, value = f.partition("=")
        if key not in ("name", "id"):
            raise InvalidArgument(f'invalid filter "{key}"')
        wanted.setdefault(key, []).append(value)
    now = time.time()
    rows = []
    for sid, name, meta in engine.store.all_secrets():
        if "name" in wanted and name not in wanted["name"]:
            continue
        if "id" in wanted and not any(sid.startswith(v) for v in wanted["id"]):
            continue
        created = meta.get("created", 0)
        rows.append({"ID": sid, "Name": name, "Driver": meta.get("driver", "file"), "CreatedAt": rfc3339(created),
                     "UpdatedAt": rfc3339(created), "Created": human_ago(now - created), "Updated": human_ago(now - created),
                     "Labels": meta.get("labels") or {}})
    return rows


def _ls(engine, a) -> int:
    rows = _rows(engine, a.filter)
    if a.quiet:
        for r in rows:
            print(r["ID"])
    elif a.format in ("json", "{{json .}}"):
        print(json.dumps(rows, indent=4))
    elif a.format:
        from .output import print_template

        print_template(a.format, rows, noheading=a.noheading)
    else:
        from .output import print_table

        print_table([("ID", "ID"), ("NAME", "Name"), ("DRIVER", "Driver"), ("CREATED", "Created"), ("UPDATED", "Updated")],
                    rows, noheading=a.noheading)
    return 0


def _rm(engine, a) -> int:
    names = [sid for sid, _n, _m in engine.store.all_secrets()] if a.all else a.names
    if not names:
        raise InvalidArgument("secret name or ID must be specified")
    rc = 0
    for name in names:
        try:
            sid, *_ = engine.store.lookup_secret(name)
            users = [c.name for c in engine.containers(sync=False) if any(s == name or s == sid for s, _e in c.config.secrets)]
            if users:
                raise InvalidArgument(f"{name}: secret is in use by container {users[0]}")
            engine.store.remove_secret(sid)
            print(sid)
        except PypodError as e:
            print(f"Error: {e}", file=sys.stderr)
            rc = 125
    return rc


def _inspect(engine, a) -> int:
    from ..proto.humanize import rfc3339

    out, created, rc = [], [], 0
    for name in a.names:
        try:
            sid, sname, _data, meta = engine.store.lookup_secret(name)
        except PypodError as e:
            print(f"Error: {e}", file=sys.stderr)
            rc = 125
            continue
        created.append(meta.get("created", 0))
        out.append({"ID": sid, "CreatedAt": rfc3339(meta.get("created", 0)), "UpdatedAt": rfc3339(meta.get("created", 0)),
                    "Spec": {"Name": sname, "Driver": {"Name": meta.get("driver", "file"), "Options": meta.get("options") or {}},
                             "Labels": meta.get("labels") or {}}})
    if a.pretty and a.format:
        raise InvalidArgument("--format and --pretty cannot be used together")
    if a.pretty:
        from ..proto.humanize import GoTime

        for sec, when in zip(out, created):
            spec = sec["Spec"]
            lines = [f"ID:              {sec['ID']}", f"Name:              {spec['Name']}"]
            if spec["Labels"]:
                lines += ["Labels:"] + [f" - {k}={v}" for k, v in spec["Labels"].items()]
            lines += [f"Driver:            {spec['Driver']['Name']}",
                      f"Created at:        {GoTime(when)}", f"Updated at:        {GoTime(when)}"]
            print("\n".join(lines))
        return rc
    if a.format and a.format not in ("json", "{{json .}}"):
        from .output import print_template

        print_template(a.format, out)
    else:
        print(json.dumps(out, indent=4))
    return rc
