"""`generate systemd` and `generate spec`."""

from __future__ import annotations

import json
import os
import sys

from ..errors import InvalidArgument


def add_generate_args(p) -> None:
    sub = p.add_subparsers(dest="what", metavar="COMMAND")
    sub.required = True
    s = sub.add_parser("systemd", help="a systemd unit file that runs the container")
    s.add_argument("--after", action="append", default=[], metavar="UNIT", help="add an After= dependency (repeatable)")
    s.add_argument("--container-prefix", default="container", help="the unit name's prefix (default container)")
    s.add_argument("-e", "--env", action="append", default=[], metavar="KEY=VALUE", help="set an environment variable in the unit")
    s.add_argument("-f", "--files", action="store_true", help="write unit files in the current directory and print their paths")
    s.add_argument("--format", default="", help="json: a map of unit names to their text")
    s.add_argument("-n", "--name", action="store_true", help="use the container's name instead of its ID")
    s.add_argument("--new", action="store_true", help="create the container afresh on each start, and remove it on stop")
    s.add_argument("--no-header", action="store_true", help="leave out the header with the version and the date")
    s.add_argument("--pod-prefix", default="pod", help="the prefix of pod units' names (default pod)")
    s.add_argument("--requires", action="append", default=[], metavar="UNIT", help="add a Requires= dependency (repeatable)")
    s.add_argument("--restart-policy", default="on-failure", metavar="POLICY",
                   help="systemd's Restart=: no, on-success, on-failure (default), on-abnormal, on-watchdog, on-abort, always")
    s.add_argument("--restart-sec", type=_uint("--restart-sec"), default=None, metavar="SECONDS", help="systemd's RestartSec=")
    s.add_argument("--separator", default="-", help="between the prefix and the name (default -)")
    s.add_argument("--start-timeout", type=_uint("--start-timeout"), default=None, metavar="SECONDS", help="systemd's TimeoutStartSec=")
    s.add_argument("--stop-timeout", type=_uint("--stop-timeout"), default=None, metavar="SECONDS",
                   help="seconds the unit's stop waits (default: the container's stop timeout)")
    s.add_argument("--template", action="store_true", help="a template unit (name@.service) for several instances (with --new)")
    s.add_argument("--wants", action="append", default=[], metavar="UNIT", help="add a Wants= dependency (repeatable)")
    s.add_argument("container", metavar="CONTAINER")
    sp = sub.add_parser("spec", help="the container's settings as libpod's SpecGenerator JSON")
    sp.add_argument("-c", "--compact", action="store_true", help="no indentation")
    sp.add_argument("-f", "--filename", default="", help="write to this file instead of standard output")
    sp.add_argument("-n", "--name", action="store_true", help="give the spec a new name (the container's with -clone)")
    sp.add_argument("container", metavar="CONTAINER")


def _uint(flag: str):
    def conv(text: str) -> int:
        if not text.isdigit():
            raise InvalidArgument(f'invalid argument "{text}" for "{flag}" flag: strconv.ParseUint: parsing "{text}": invalid syntax')
        return int(text)

    return conv


def cmd_generate(engine, a) -> int:
    if a.what == "systemd":
        return _systemd(engine, a)
    return _spec(engine, a)


def _systemd(engine, a) -> int:
    from ..engine.systemd_units import UnitOptions, container_unit

    if a.template and not a.new:
        raise InvalidArgument("--template cannot be set without --new")
    opts = UnitOptions(new=a.new, name=a.name, no_header=a.no_header, template=a.template,
                       restart_policy=a.restart_policy, restart_sec=a.restart_sec, start_timeout=a.start_timeout,
                       stop_timeout=a.stop_timeout, container_prefix=a.container_prefix, separator=a.separator,
                       env=a.env, wants=a.wants, after=a.after, requires=a.requires)
    ctr = engine.container(a.container)
    restart = _restart_policy_of(ctr)
    if not a.new and restart not in ("", "no"):
        from .. import diag

        diag.warn(f'Container {ctr.id} has restart policy "{restart}" which can lead to issues on shutdown: consider '
                  "recreating the container without a restart policy and use systemd's restart mechanism instead")
    name, text = container_unit(ctr, opts)
    if a.format and a.format not in ("json", "{{json .}}"):
        raise InvalidArgument(f"unsupported format {a.format!r}: only json")
    if a.files:
        path = os.path.join(os.getcwd(), f"{name}{'@' if a.template else ''}.service")
        with open(path, "w") as f:
            f.write(text)
        if a.format:
            print(json.dumps({name: path}, indent=1))
        else:
            print(path)
        return 0
    if a.format:
        print(json.dumps({name: text}, indent=1))
    else:
        sys.stdout.write(text)
    return 0


def _restart_policy_of(ctr) -> str:
    policy = (ctr.inspect().get("HostConfig") or {}).get("RestartPolicy") or {}
    return policy.get("Name", "") or ""


def _spec(engine, a) -> int:
    from ..engine.specgen_export import spec_of

    spec = spec_of(engine.container(a.container))
    if a.name:
        spec["name"] = f"{spec.get('name', '')}-clone"
    text = json.dumps(spec, separators=(",", ":")) if a.compact else json.dumps(spec, indent=4)
    if a.filename:
        with open(a.filename, "w") as f:
            f.write(text + "\n")
        print(a.filename)
    else:
        print(text)
    return 0
