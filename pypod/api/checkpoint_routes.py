"""libpod's checkpoint and restore routes (`podman --remote container
checkpoint|restore`): the same options and checks as the CLI
(engine/checkpoint.py); on a host whose CRIU cannot work, the one line
saying so, the container untouched."""

from __future__ import annotations

from .common import with_engine
from .http import Request, Response, Router
from .validate import Q, validated

_CHECKPOINT = {"keep": "keep", "leaveRunning": "leave_running", "tcpEstablished": "tcp_established",
               "ignoreRootFS": "ignore_rootfs", "ignoreVolumes": "ignore_volumes", "preCheckpoint": "pre_checkpoint",
               "withPrevious": "with_previous", "fileLocks": "file_locks", "printStats": "print_stats"}
_RESTORE = {"keep": "keep", "tcpEstablished": "tcp_established", "ignoreRootFS": "ignore_rootfs",
            "ignoreVolumes": "ignore_volumes", "ignoreStaticIP": "ignore_static_ip",
            "ignoreStaticMAC": "ignore_static_mac", "fileLocks": "file_locks", "printStats": "print_stats"}


@validated(query={**{k: Q.bool() for k in _CHECKPOINT}, "export": Q.bool(), "compress": Q.str(16)})
@with_engine
def checkpoint(req: Request, eng) -> Response:
    from ..engine.checkpoint import CheckpointOptions

    o = CheckpointOptions(**{field: req.qbool(key) for key, field in _CHECKPOINT.items()})
    if req.qbool("export"):
        o.export = "-"  # the archive would be the response body
        o.compress = req.q("compress")
    ctr = eng.container(req.params["name"])
    ctr.checkpoint(o)
    return Response(200, {"Id": ctr.id, "RuntimeDuration": 0})


@validated(query={**{k: Q.bool() for k in _RESTORE}, "import": Q.bool(), "name": Q.str(253), "pod": Q.str(253)})
@with_engine
def restore(req: Request, eng) -> Response:
    from ..engine.checkpoint import RestoreOptions

    o = RestoreOptions(**{field: req.qbool(key) for key, field in _RESTORE.items()})
    o.name, o.pod = req.q("name"), req.q("pod")
    if req.qbool("import"):
        from ..engine.checkpoint import refuse_import

        o.import_archive = "-"  # the archive would be the request body
        refuse_import(eng.runtime, o)
    ctr = eng.container(req.params["name"])
    ctr.restore(o)
    return Response(200, {"Id": ctr.id, "RuntimeDuration": 0})


def register(router: Router) -> None:
    router.add("POST", "/libpod/containers/{name}/checkpoint", checkpoint)
    router.add("POST", "/libpod/containers/{name}/restore", restore)
