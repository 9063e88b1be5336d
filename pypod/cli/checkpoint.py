"""`container checkpoint` and `container restore`, with podman's flags
(what they mean, and which pypod refuses: engine/checkpoint.py)."""

from __future__ import annotations


def _targets(p) -> None:
    p.add_argument("-a", "--all", action="store_true", help="act on all containers")
    p.add_argument("-l", "--latest", action="store_true", help="act on the latest container pypod knows about")
    p.add_argument("containers", nargs="*", metavar="CONTAINER")


def _common(p) -> None:
    p.add_argument("--tcp-established", action="store_true", help="checkpoint or restore established TCP connections")
    p.add_argument("--file-locks", action="store_true", help="checkpoint or restore file locks")
    p.add_argument("-k", "--keep", action="store_true", help="keep CRIU's logs and the checkpoint files")
    p.add_argument("--print-stats", action="store_true", help="print statistics about the checkpoint or restore")
    p.add_argument("--ignore-rootfs", action="store_true", help="leave out the root filesystem changes (with an archive)")
    p.add_argument("--ignore-volumes", action="store_true", help="leave out the volumes (with an archive)")


def add_checkpoint_args(p) -> None:
    _targets(p)
    _common(p)
    p.add_argument("-R", "--leave-running", action="store_true", help="leave the container running after writing the checkpoint")
    p.add_argument("-P", "--pre-checkpoint", action="store_true", help="dump only the memory, for a later --with-previous")
    p.add_argument("--with-previous", action="store_true", help="build on the pre-checkpoint")
    p.add_argument("-e", "--export", default="", metavar="FILE", help="write the checkpoint to a tar archive")
    p.add_argument("-c", "--compress", default="", metavar="ALGORITHM", help="the archive's compression: gzip, none, zstd")
    p.add_argument("--create-image", default="", metavar="IMAGE", help="write the checkpoint as an image")


def add_restore_args(p) -> None:
    _targets(p)
    _common(p)
    p.add_argument("--ignore-static-ip", action="store_true", help="do not restore the container's static IP address")
    p.add_argument("--ignore-static-mac", action="store_true", help="do not restore the container's static MAC address")
    p.add_argument("-i", "--import", dest="import_archive", default="", metavar="FILE", help="restore from a checkpoint archive")
    p.add_argument("--import-previous", default="", metavar="FILE", help="the pre-checkpoint archive to restore from")
    p.add_argument("-n", "--name", default="", help="the name of the container restored from an archive")
    p.add_argument("--pod", default="", help="the pod to restore into (with an archive)")
    p.add_argument("-p", "--publish", action="append", default=[], help="publish a port of the restored container (with an archive)")


def _run(engine, a, act) -> int:
    from ..errors import InvalidArgument
    from .containers import _each

    if a.all and a.containers:
        raise InvalidArgument("no arguments are needed with --all")
    return _each(engine, a, act)


def cmd_checkpoint(engine, a) -> int:
    from ..engine.checkpoint import CheckpointOptions, check_checkpoint

    o = CheckpointOptions(
        leave_running=a.leave_running, tcp_established=a.tcp_established, file_locks=a.file_locks, keep=a.keep,
        print_stats=a.print_stats, pre_checkpoint=a.pre_checkpoint, with_previous=a.with_previous, export=a.export,
        compress=a.compress, create_image=a.create_image, ignore_rootfs=a.ignore_rootfs, ignore_volumes=a.ignore_volumes)
    check_checkpoint(o)
    return _run(engine, a, lambda c: c.checkpoint(o))


def cmd_restore(engine, a) -> int:
    from ..engine.checkpoint import RestoreOptions, check_restore
    from ..errors import InvalidArgument

    o = RestoreOptions(
        tcp_established=a.tcp_established, file_locks=a.file_locks, keep=a.keep, print_stats=a.print_stats,
        ignore_static_ip=a.ignore_static_ip, ignore_static_mac=a.ignore_static_mac, import_archive=a.import_archive,
        import_previous=a.import_previous, name=a.name, pod=a.pod, publish=list(a.publish),
        ignore_rootfs=a.ignore_rootfs, ignore_volumes=a.ignore_volumes)
    check_restore(o)
    if o.import_archive:
        import os

        from ..engine.checkpoint import refuse_import

        if not os.path.exists(o.import_archive):
            raise InvalidArgument(f"failed extracting runtime information from {o.import_archive}: failed to open checkpoint "
                                  f"archive {o.import_archive} for import: open {o.import_archive}: no such file or directory")
        refuse_import(engine.runtime, o)
    return _run(engine, a, lambda c: c.restore(o))
