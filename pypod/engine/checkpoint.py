"""What `container checkpoint` and `container restore` may ask for, and
podman's rules about which options go together.

The order of refusal is podman's: options that contradict each other
first, then a host whose CRIU cannot work (`criu check` fails: one clear
line, the container left as it was), then the options pypod does not
carry out (exporting or importing a checkpoint archive, or an image of it):
each is refused by name, never accepted and ignored.
"""

from __future__ import annotations

from ..errors import InvalidArgument
from ..record import field, record

COMPRESSIONS = ("gzip", "none", "zstd")


@record
class CheckpointOptions:
    leave_running: bool = False
    tcp_established: bool = False
    file_locks: bool = False
    #: keep CRIU's logs and statistics in the checkpoint directory
    keep: bool = False
    print_stats: bool = False
    #: a pre-dump (memory pages only) that a later --with-previous builds on
    pre_checkpoint: bool = False
    with_previous: bool = False
    export: str = ""
    compress: str = ""
    create_image: str = ""
    ignore_rootfs: bool = False
    ignore_volumes: bool = False


@record
class RestoreOptions:
    tcp_established: bool = False
    file_locks: bool = False
    keep: bool = False
    print_stats: bool = False
    ignore_static_ip: bool = False
    ignore_static_mac: bool = False
    import_archive: str = ""
    import_previous: str = ""
    name: str = ""
    pod: str = ""
    publish: list[str] = field(default_factory=list)
    ignore_rootfs: bool = False
    ignore_volumes: bool = False


def check_checkpoint(o: CheckpointOptions) -> None:
    """podman's checks of the checkpoint flags, before anything runs (pure)."""
    if o.with_previous and o.pre_checkpoint:
        raise InvalidArgument("--with-previous can not be used with --pre-checkpoint")
    for flag, given in (("--ignore-rootfs", o.ignore_rootfs), ("--ignore-volumes", o.ignore_volumes),
                        ("--compress", bool(o.compress))):
        if given and not o.export:
            raise InvalidArgument(f"{flag} can only be used with --export")
    if o.compress and o.compress not in COMPRESSIONS:
        raise InvalidArgument(f'selected compression algorithm ("{o.compress}") not supported. '
                              f"Please select one from: {', '.join(COMPRESSIONS)}")


def check_restore(o: RestoreOptions) -> None:
    """podman's checks of the restore flags (pure)."""
    if not o.import_archive:
        for flag, given in (("--ignore-rootfs", o.ignore_rootfs), ("--ignore-volumes", o.ignore_volumes),
                            ("--import-previous", bool(o.import_previous)), ("--name", bool(o.name)),
                            ("--pod", bool(o.pod)), ("--publish", bool(o.publish))):
            if given:
                raise InvalidArgument(f"{flag} can only be used with image or --import")


def refuse_import(runtime, o: RestoreOptions) -> None:
    """restore --import: checked as any restore, then refused (the host's
    CRIU first, then pypod's own lack)."""
    from ..errors import CheckpointUnsupported

    check_restore(o)
    ok, why = runtime.supports_checkpoint()
    raise CheckpointUnsupported(why if not ok else "--import: pypod does not read checkpoint archives")


def not_carried_out(o) -> str:
    """The first option pypod cannot carry out even with a working CRIU, or ""."""
    if isinstance(o, CheckpointOptions):
        if o.export or o.create_image:
            return "--export" if o.export else "--create-image"
        return ""
    return "--import" if o.import_archive else ""


def runtime_flags(o) -> list[str]:
    """The runtime's own flags for the options it carries out (runc/crun)."""
    flags = []
    if o.tcp_established:
        flags.append("--tcp-established")
    if o.file_locks:
        flags.append("--file-locks")
    if isinstance(o, CheckpointOptions):
        if o.leave_running:
            flags.append("--leave-running")
        if o.pre_checkpoint:
            flags.append("--pre-dump")
    return flags
