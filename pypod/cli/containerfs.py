"""A container's files from the host: mount, unmount (umount), export."""

from __future__ import annotations

import json
import sys

from ..errors import InvalidArgument, PypodError
from .targets import add_target_flags, resolve


def add_mount_args(p) -> None:
    p.add_argument("--format", default="", help="json, or a Go template over .ID .Names .Mountpoint")
    p.add_argument("--no-trunc", action="store_true", help="do not shorten container IDs in the list")
    add_target_flags(p, all_help="mount every container")


def cmd_mount(engine, a) -> int:
    """With containers: mount each and print where. Without: list the mounted ones."""
    if a.containers or a.all or a.latest:
        targets = resolve(engine, a)
        failed = False
        for ctr, _label in targets:
            try:
                path = ctr.mount()
            except PypodError as e:
                print(f"Error: {e}", file=sys.stderr)
                failed = True
                continue
            if not a.all:
                print(path)
        if not a.all:
            return 125 if failed else 0
    mounted = [c for c in engine.containers() if c.state.mountpoint]
    if a.format in ("json", "{{json .}}"):
        print(json.dumps([{"id": c.id, "Names": [c.name], "mountpoint": c.state.mountpoint} for c in mounted], indent=1))
        return 0
    rows = [{"ID": c.id if a.no_trunc else c.id[:12], "Names": c.name, "Mountpoint": c.state.mountpoint} for c in mounted]
    if a.format:
        from .output import print_template

        print_template(a.format, rows)
        return 0
    for r in rows:
        print(f"{r['ID']}  {r['Mountpoint']}")
    return 0


def add_unmount_args(p) -> None:
    p.add_argument("-f", "--force", action="store_true", help="undo every mount of the container, not just one")
    add_target_flags(p, all_help="unmount every mounted container")


def cmd_unmount(engine, a) -> int:
    if a.all:
        if a.containers:
            raise InvalidArgument("no arguments are needed with --all")
        targets = [(c, c.id) for c in engine.containers() if c.state.mountpoint]
    else:
        targets = resolve(engine, a)
    failed = False
    for ctr, label in targets:
        try:
            ctr.unmount(force=a.force)
        except PypodError as e:
            print(f"Error: {e}", file=sys.stderr)
            failed = True
            continue
        print(label)
    return 125 if failed else 0


def add_export_args(p) -> None:
    p.add_argument("-o", "--output", default="", help="write the tar archive to this file (default: standard output)")
    p.add_argument("container", metavar="CONTAINER")


def cmd_export(engine, a) -> int:
    ctr = engine.container(a.container)
    if a.output:
        with open(a.output, "wb") as out:
            export(ctr, out)
        return 0
    if sys.stdout.isatty():
        raise InvalidArgument("refusing to export to terminal. Use -o flag or redirect")
    sys.stdout.flush()
    export(ctr, sys.stdout.buffer)
    return 0


def export(ctr, out) -> None:
    """The container's whole filesystem as one tar (mounted for the time it takes)."""
    from ..storage import rootfs

    path = ctr.mount()
    try:
        root = rootfs.open_root(path)
        try:
            rootfs.write_tar(rootfs.iter_tree(root, ""), out)
        finally:
            import os

            os.close(root)
    finally:
        ctr.unmount()
    ctr.engine.events.container(ctr, "export")
