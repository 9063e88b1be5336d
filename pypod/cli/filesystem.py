"""A container's filesystem from the command line: cp, diff, export, mount,
unmount, rename."""

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
    p.add_argument("names", nargs="*", metavar="CONTAINER|IMAGE")


def cmd_diff(engine, a) -> int:
    if a.latest:
        changes = _changes_of(engine, engine.latest_container().id, container_only=True)
    elif len(a.names) == 1:
        changes = _changes_of(engine, a.names[0])
    else:
        raise InvalidArgument("diff requires one container or image name" if not a.names else "diff takes one name")
    if a.format == "json":
        kinds = {"C": "changed", "A": "added", "D": "deleted"}
        out: dict = {}
        for kind, path in changes:
            out.setdefault(kinds[kind], []).append(path)
        print(json.dumps(out, indent=5))
    elif a.format:
        raise InvalidArgument(f"unknown format {a.format!r}: json is the only one")
    else:
        for kind, path in changes:
            print(f"{kind} {path}")
    return 0


def _changes_of(engine, name: str, container_only: bool = False) -> list[tuple[str, str]]:
    """podman diff takes a container, else an image (its top layer against the rest)."""
    from ..engine import containerfs

    try:
        return containerfs.changes(engine.container(name))
    except NoSuchContainer:
        if container_only:
            raise
    try:
        image = engine.images.lookup(name)
    except NoSuchImage:
        raise NoSuchContainer(f"{name} not found: no such container or image") from None
    return image_changes(image)


def image_changes(image) -> list[tuple[str, str]]:
    from ..storage.changes import layer_changes

    dirs = image.layer_dirs
    if not dirs:
        return []
    return layer_changes(dirs[-1], dirs[:-1])


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


def add_mount_args(p) -> None:
    p.add_argument("-a", "--all", action="store_true", help="mount all containers")
    p.add_argument("--format", default="", help="json to print the mounts as JSON")
    p.add_argument("-l", "--latest", action="store_true", help="act on the latest container")
    p.add_argument("--no-trunc", action="store_true", help="do not truncate IDs")
    p.add_argument("containers", nargs="*", metavar="CONTAINER")


def cmd_mount(engine, a) -> int:
    from ..engine import containerfs

    if a.latest:
        targets = [engine.latest_container()]
    elif a.all:
        targets = engine.containers(sync=False)
    else:
        targets = [engine.container(n) for n in a.containers]
    if not a.containers and not a.latest and not a.all:
        # list what is mounted
        rows = []
        for ctr in engine.containers(sync=False):
            if containerfs.user_mounted(ctr) or (not ctr.config.rootfs and engine.container_storage.is_mounted(ctr.id)):
                rows.append((ctr, engine.container_storage.merged_dir(ctr.id) if not ctr.config.rootfs else ctr.config.rootfs))
        if a.format == "json":
            print(json.dumps([{"id": c.id, "Names": [c.name], "mountpoint": m} for c, m in rows], indent=1))
        else:
            for c, m in rows:
                print(f"{c.id if a.no_trunc else c.id[:12]}  {m}")
        return 0
    rc = 0
    for ctr in targets:
        try:
            path = containerfs.mount(ctr)
        except PypodError as e:
            print(f"Error: {e}", file=sys.stderr)
            rc = 125
            continue
        print(f"{ctr.id if a.no_trunc else ctr.id[:12]}  {path}" if (a.all or len(targets) > 1) else path)
    return rc


def add_unmount_args(p) -> None:
    p.add_argument("-a", "--all", action="store_true", help="unmount all containers")
    p.add_argument("-f", "--force", action="store_true", help="unmount even if others use the mount")
    p.add_argument("-l", "--latest", action="store_true", help="act on the latest container")
    p.add_argument("containers", nargs="*", metavar="CONTAINER")


def cmd_unmount(engine, a) -> int:
    from ..engine import containerfs

    if a.latest:
        targets = [engine.latest_container()]
    elif a.all:
        targets = engine.containers(sync=False)
    elif a.containers:
        targets = a.containers
    else:
        raise InvalidArgument("when no flags are given, a container must be named")
    rc = 0
    for t in targets:
        try:
            ctr = engine.container(t) if isinstance(t, str) else t
            if containerfs.unmount(ctr, force=a.force) or not a.all:
                print(t if isinstance(t, str) else ctr.id)
        except PypodError as e:
            print(f"Error: {e}", file=sys.stderr)
            rc = 125
    return rc


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
