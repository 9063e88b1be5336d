"""A container's filesystem from the command line: cp, diff (and image
diff), export, mount, unmount, rename, commit."""

from __future__ import annotations

import json
import sys

from ..errors import InvalidArgument, NoSuchContainer, NoSuchImage, PypodError

_BOOL = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


# -- cp --------------------------------------------------------------------------------


def add_cp_args(p) -> None:
    p.add_argument("-a", "--archive", nargs="?", const="true", default="true",
                   help="give copied-in files the container user's uid and gid (default true; --archive=false keeps them)")
    p.add_argument("--overwrite", action="store_true", help="allow replacing a directory with a non-directory and back")
    p.add_argument("paths", nargs="*", metavar="SRC DEST", help="[CONTAINER:]SRC_PATH [CONTAINER:]DEST_PATH; - for a tar stream")


def split_target(arg: str) -> tuple[str, str]:
    """("container", "path") or ("", host path): a path starting with / or . is the host's."""
    if arg == "-" or arg.startswith(("/", ".")) or ":" not in arg:
        return "", arg
    ctr, _, path = arg.partition(":")
    return ctr, path


def cmd_cp(engine, a) -> int:
    from ..engine import containerfs

    paths = list(a.paths)
    archive = _BOOL.get(a.archive.lstrip("=").lower())
    if archive is None:  # -a took the source as its value
        paths.insert(0, a.archive)
        archive = True
    if len(paths) != 2:
        raise InvalidArgument("cp requires exactly 2 arguments: SRC DEST")
    (sctr, spath), (dctr, dpath) = split_target(paths[0]), split_target(paths[1])
    if sctr and dctr:
        raise InvalidArgument("copying between containers is not supported")
    if not sctr and not dctr:
        raise InvalidArgument(f"invalid arguments {paths[0]}, {paths[1]}: you must use just one container")
    if sctr:
        ctr = engine.container(sctr)
        spath = _in_container(spath)
        if dpath == "-":
            if sys.stdout.isatty():
                raise InvalidArgument("cannot write a tar stream to a terminal: redirect the output")
            sys.stdout.flush()
            containerfs.archive_out(ctr, spath, sys.stdout.buffer, follow=True)
            sys.stdout.buffer.flush()
        else:
            containerfs.copy_out(ctr, spath, dpath)
        return 0
    ctr = engine.container(dctr)
    dpath = _in_container(dpath)
    if spath == "-":
        containerfs.archive_in(ctr, dpath, sys.stdin.buffer, chown=archive, overwrite=a.overwrite)
    else:
        containerfs.copy_in(ctr, spath, dpath, chown=archive, overwrite=a.overwrite)
    return 0


def _in_container(path: str) -> str:
    """A container path is taken from its root (podman: relative to /)."""
    return path if path.startswith("/") else "/" + path


# -- diff ------------------------------------------------------------------------------


def add_diff_args(p) -> None:
    p.add_argument("--format", default="", help="json to print the changes as JSON")
    p.add_argument("-l", "--latest", action="store_true", help="act on the latest container")
    p.add_argument("names", nargs="*", metavar="CONTAINER|IMAGE", help="a container or image (and, for images, another to compare with)")


def add_image_diff_args(p) -> None:
    p.add_argument("--format", default="", help="json to print the changes as JSON")
    p.add_argument("names", nargs="+", metavar="IMAGE", help="the image (and another to compare with)")


def cmd_diff(engine, a) -> int:
    """A container's changes, or an image's (its top layer, or against a second image)."""
    from ..engine import containerfs

    if getattr(a, "latest", False):
        if a.names:
            raise InvalidArgument("--latest and containers cannot be used together")
        return _print_changes(containerfs.changes(engine.latest_container()), a.format)
    if not a.names or len(a.names) > 2:
        raise InvalidArgument("diff takes one container or image, or two images")
    if len(a.names) == 1 and not getattr(a, "images_only", False):
        try:
            return _print_changes(containerfs.changes(engine.container(a.names[0])), a.format)
        except NoSuchContainer:
            pass
    try:
        return _print_changes(containerfs.image_changes(engine, *a.names), a.format)
    except NoSuchImage:
        raise NoSuchContainer(f"{a.names[0]} not found: no such container or image") from None


def cmd_image_diff(engine, a) -> int:
    a.images_only = True
    return cmd_diff(engine, a)


def _print_changes(changes: list[tuple[str, str]], fmt: str) -> int:
    if fmt in ("json", "{{json .}}"):
        kinds = {"C": "changed", "A": "added", "D": "deleted"}
        out: dict = {}
        for kind, path in changes:
            out.setdefault(kinds[kind], []).append(path)
        print(json.dumps(out, indent=5))
    elif fmt:
        raise InvalidArgument(f"unknown format {fmt!r}: json is the only one")
    else:
        for kind, path in changes:
            print(f"{kind} {path}")
    return 0


# -- export --------------------------------------------------------------------------------


def add_export_args(p) -> None:
    p.add_argument("-o", "--output", default="", help="write to this file instead of standard output")
    p.add_argument("container")


def cmd_export(engine, a) -> int:
    from ..engine import containerfs

    ctr = engine.container(a.container)
    if a.output:
        try:
            f = open(a.output, "wb")
        except OSError as e:
            raise InvalidArgument(f"open {a.output}: {e.strerror.lower()}") from None
        with f:
            containerfs.export(ctr, f)
        return 0
    if sys.stdout.isatty():
        raise InvalidArgument("refusing to export to terminal. Use -o flag or redirect")
    sys.stdout.flush()
    containerfs.export(ctr, sys.stdout.buffer)
    sys.stdout.buffer.flush()
    return 0


# -- mount / unmount -------------------------------------------------------------------------
# The user's mounts are counted in the container's state (Container.mount and
# unmount), which its cleanup consults: a mounted rootfs outlives the process.


def add_mount_args(p) -> None:
    from .targets import add_target_flags

    p.add_argument("--format", default="", help="json, or a Go template over .ID .Names .Mountpoint")
    p.add_argument("--no-trunc", action="store_true", help="do not shorten container IDs in the list")
    add_target_flags(p, all_help="mount every container")


def cmd_mount(engine, a) -> int:
    """With containers: mount each and print where. Without: list the mounted ones."""
    from .targets import resolve

    if a.containers or a.all or a.latest:
        failed = False
        for ctr, _label in resolve(engine, a):
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
    from .targets import add_target_flags

    p.add_argument("-f", "--force", action="store_true", help="undo every mount of the container, not just one")
    add_target_flags(p, all_help="unmount every mounted container")


def cmd_unmount(engine, a) -> int:
    from .targets import resolve

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


# -- rename ----------------------------------------------------------------------------------


def add_rename_args(p) -> None:
    p.add_argument("container")
    p.add_argument("name")


def cmd_rename(engine, a) -> int:
    engine.container(a.container).rename(a.name)
    return 0


# -- commit ----------------------------------------------------------------------------------


def add_commit_args(p) -> None:
    p.add_argument("-a", "--author", default="", help="set the author of the image")
    p.add_argument("-c", "--change", action="append", default=[],
                   help="apply a Dockerfile instruction: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, "
                        "USER, VOLUME, WORKDIR")
    p.add_argument("-f", "--format", default="oci", help="format of the image manifest and metadata: oci or docker")
    p.add_argument("--iidfile", default="", help="write the image ID to this file")
    p.add_argument("--include-volumes", action="store_true", help="add every volume and bind of the container to the image's VOLUMEs")
    p.add_argument("-m", "--message", default="", help="set the commit message (docker format)")
    p.add_argument("-p", "--pause", action="store_true", help="pause the container while committing")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the image ID")
    p.add_argument("-s", "--squash", action="store_true", help="squash the image into one layer")
    p.add_argument("container")
    p.add_argument("image", nargs="?", default=None)


def cmd_commit(engine, a) -> int:
    img = engine.commit(a.container, a.image, changes=a.change, message=a.message, author=a.author, pause=a.pause,
                        squash=a.squash, fmt=a.format, include_volumes=a.include_volumes)
    if a.iidfile:
        try:
            with open(a.iidfile, "w") as f:
                f.write(f"sha256:{img.id}")
        except OSError as e:
            raise PypodError(f"writing the image ID to {a.iidfile}: {e.strerror}") from None
    print(img.id)
    return 0
