"""`pypod volume create|ls|inspect|rm|prune|exists|export|import|mount|unmount|reload`."""

from __future__ import annotations

import json
import sys

from ..errors import InvalidArgument, NoSuchVolume, PypodError

ACTIONS = ("create", "ls", "inspect", "rm", "prune", "exists", "export", "import", "mount", "unmount", "reload")


def add_volume_args(p) -> None:
    from ..specgen.numbers import uint_arg

    sub = p.add_subparsers(dest="action", metavar="{" + ",".join(ACTIONS) + "}")
    sub.required = True
    c = sub.add_parser("create", help="create a new volume")
    c.add_argument("-d", "--driver", default="local", help="volume driver (local)")
    c.add_argument("-l", "--label", action="append", default=[], help="set metadata for the volume (KEY=VALUE)")
    c.add_argument("-o", "--opt", action="append", default=[], help="driver options: type=, device=, o=, UID=, GID=, nocopy")
    c.add_argument("--ignore", action="store_true", help="do not fail when the volume exists")
    c.add_argument("name", nargs="?", default="")
    ls = sub.add_parser("ls", aliases=["list"], help="list volumes")
    ls.add_argument("-f", "--filter", action="append", default=[], help="filter: name, driver, label, opt, dangling, until, ...")
    ls.add_argument("--format", default="", help="json or a Go template")
    ls.add_argument("--noheading", action="store_true", help="do not print headers")
    ls.add_argument("-q", "--quiet", action="store_true", help="print volume names only")
    ins = sub.add_parser("inspect", help="display the configuration of volumes")
    ins.add_argument("-a", "--all", action="store_true", help="inspect all volumes")
    ins.add_argument("-f", "--format", default="", help="json or a Go template")
    ins.add_argument("names", nargs="*")
    rm = sub.add_parser("rm", aliases=["remove"], help="remove volumes")
    rm.add_argument("-a", "--all", action="store_true", help="remove all volumes")
    rm.add_argument("-f", "--force", action="store_true", help="remove the containers using the volume first")
    rm.add_argument("-t", "--time", type=uint_arg("-t, --time"), default=None, help="seconds to wait for those containers to stop")
    rm.add_argument("names", nargs="*")
    pr = sub.add_parser("prune", help="remove every volume no container uses")
    pr.add_argument("--filter", action="append", default=[], help="label=, label!=, until=")
    pr.add_argument("-f", "--force", action="store_true", help="do not ask for confirmation")
    ex = sub.add_parser("exists", help="exit 0 if the volume exists, 1 if not")
    ex.add_argument("name")
    exp = sub.add_parser("export", help="write a volume's content as a tar archive")
    exp.add_argument("-o", "--output", default="", help="write to this file instead of standard output")
    exp.add_argument("name")
    imp = sub.add_parser("import", help="unpack a tar archive into a volume")
    imp.add_argument("name")
    imp.add_argument("source", help="tar file, or - for standard input")
    mnt = sub.add_parser("mount", help="print the host path of volumes")
    mnt.add_argument("names", nargs="+")
    um = sub.add_parser("unmount", aliases=["umount"], help="nothing to do for local volumes")
    um.add_argument("names", nargs="+")
    sub.add_parser("reload", help="reload volumes from volume plugins (pypod has none)")


def cmd_volume(engine, a) -> int:
    action = {"list": "ls", "remove": "rm", "umount": "unmount"}.get(a.action, a.action)
    return globals()[f"_{action}"](engine, a)


def _create(engine, a) -> int:
    labels = _pairs(a.label, "label")
    opts = _pairs(a.opt, "option", bare_ok=True)
    if a.ignore and a.name and engine.volumes.exists(a.name):
        print(a.name)
        return 0
    vol = engine.volumes.create(a.name, driver=a.driver, labels=labels, options=opts)
    print(vol.name)
    return 0


def _pairs(items: list[str], what: str, bare_ok: bool = False) -> dict[str, str]:
    out = {}
    for item in items:
        k, sep, v = item.partition("=")
        if not k or (not sep and not bare_ok):
            raise InvalidArgument(f"invalid {what} {item!r}: must be KEY=VALUE")
        out[k] = v
    return out


def ls_row(vol) -> dict:
    d = vol.inspect()
    d["Anonymous"] = vol.config.anonymous
    return d


def _ls(engine, a) -> int:
    from ..engine.volumes import matches_filters, parse_filters

    filters = parse_filters(a.filter)
    used = engine.volumes.in_use()
    vols = [v for v in engine.volumes.list() if matches_filters(v, filters, used)]
    if a.quiet:
        for v in vols:
            print(v.name)
        return 0
    rows = [ls_row(v) for v in vols]
    if a.format in ("json", "{{json .}}"):
        print(json.dumps([{k: v for k, v in r.items() if k not in ("NeedsCopyUp", "NeedsChown", "Anonymous")} for r in rows], indent=2))
    elif a.format:
        from .output import print_template

        print_template(a.format, rows, noheading=a.noheading)
    else:
        from .output import print_table

        print_table([("DRIVER", "Driver"), ("VOLUME NAME", "Name")], rows, noheading=a.noheading)
    return 0


def _inspect(engine, a) -> int:
    names = [v.name for v in engine.volumes.list()] if a.all else a.names
    if not names:
        raise InvalidArgument("provide one or more volume names or use --all")
    out, rc = [], 0
    for name in names:
        try:
            out.append(engine.volumes.get(name).inspect())
        except NoSuchVolume as e:
            print(f"Error: {e}", file=sys.stderr)
            rc = 125
    if a.format and a.format not in ("json", "{{json .}}"):
        from .output import print_template

        print_template(a.format, out)
    else:
        print(json.dumps(out, indent=4))
    return rc


def _rm(engine, a) -> int:
    """podman's exit codes: 1 for a volume that does not exist, 2 for one in use."""
    from ..errors import VolumeInUse

    if a.all:
        names = [v.name for v in engine.volumes.list()]
    elif a.names:
        names = a.names
    else:
        raise InvalidArgument("choose either one or more volumes or all")
    worst = 0
    for name in names:
        try:
            engine.volumes.remove(name, force=a.force, timeout=a.time)
            print(name)
        except PypodError as e:
            if a.all and isinstance(e, VolumeInUse) and not a.force:
                continue  # --all leaves volumes in use alone, as podman does
            print(f"Error: {e}", file=sys.stderr)
            worst = max(worst, 1 if isinstance(e, NoSuchVolume) else e.exit_code if isinstance(e, VolumeInUse) else 125)
    return worst


def confirm(question: str, force: bool) -> bool:
    """podman's prompt: anything but y/Y declines; no terminal, no answer: an error."""
    if force:
        return True
    sys.stdout.write(question + " [y/N] ")
    sys.stdout.flush()
    line = sys.stdin.readline()
    if not line:
        raise InvalidArgument("EOF")
    return line.strip().lower() in ("y", "yes")


def _prune(engine, a) -> int:
    from ..engine.volumes import parse_filters

    filters = parse_filters(a.filter)
    if not confirm("WARNING! This will remove all volumes not used by at least one container. "
                   "The following volumes will be removed:\n" + "".join(f"{v}\n" for v in _prunable(engine, filters))
                   + "Are you sure you want to continue?", a.force):
        return 0
    for name, _size in engine.volumes.prune(filters):
        print(name)
    return 0


def _prunable(engine, filters) -> list[str]:
    from ..engine.volumes import matches_filters

    used = engine.volumes.in_use()
    return [v.name for v in engine.volumes.list() if v.name not in used and matches_filters(v, filters, used, prune=True)]


def _exists(engine, a) -> int:
    return 0 if engine.volumes.exists(a.name) else 1


def _export(engine, a) -> int:
    engine.volumes.get(a.name)
    if a.output:
        with open(a.output, "wb") as f:
            engine.volumes.export(a.name, f)
        return 0
    if sys.stdout.isatty():
        raise InvalidArgument("cannot write to terminal, use command-line redirection or the --output flag")
    sys.stdout.flush()
    engine.volumes.export(a.name, sys.stdout.buffer)
    sys.stdout.buffer.flush()
    return 0


def _import(engine, a) -> int:
    engine.volumes.get(a.name)
    if a.source == "-":
        engine.volumes.import_(a.name, sys.stdin.buffer)
        return 0
    try:
        f = open(a.source, "rb")
    except OSError as e:
        raise InvalidArgument(f"open {a.source}: {e.strerror.lower()}") from None
    with f:
        engine.volumes.import_(a.name, f)
    return 0


def _mount(engine, a) -> int:
    for name in a.names:
        print(engine.volumes.get(name).mountpoint)
    return 0


def _unmount(engine, a) -> int:
    for name in a.names:
        engine.volumes.get(name)
    return 0


def _reload(engine, a) -> int:
    return 0
