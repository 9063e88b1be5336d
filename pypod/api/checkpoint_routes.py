"""libpod's checkpoint and restore of a container (CRIU through the runtime).

Where CRIU cannot work, the engine says why (CheckpointUnsupported) and the
client shows it: Cockpit's page puts that message under "Failed to
checkpoint container"."""

from __future__ import annotations

from ..errors import InvalidArgument
from .common import with_engine
from .http import Request, Response, Router
from .validate import Q, validated


def _refuse_archives(req: Request, *names: str) -> None:
    """Checkpoints live in the container's own directory only: no archives,
    images or pre-dumps to make or take."""
    for name in names:
        if req.query.get(name) not in (None, "", "false", "0"):
            raise InvalidArgument(f"checkpoint option {name!r} is not supported by pypod")


@validated(query={"keep": Q.bool(), "leaveRunning": Q.bool(), "tcpEstablished": Q.bool(), "export": Q.bool(),
                  "ignoreRootFS": Q.bool(), "ignoreVolumes": Q.bool(), "printStats": Q.bool(),
                  "preCheckpoint": Q.bool(), "withPrevious": Q.bool(), "fileLocks": Q.bool(),
                  "createImage": Q.str()})
@with_engine
def checkpoint(req: Request, eng) -> Response:
    _refuse_archives(req, "export", "createImage", "preCheckpoint", "withPrevious")
    ctr = eng.container(req.params["id"])
    ctr.checkpoint(keep_running=req.qbool("leaveRunning"), tcp_established=req.qbool("tcpEstablished"))
    return Response(200, {"Id": ctr.id, "RuntimeDuration": 0, "CRIUStatistics": None})


@validated(query={"keep": Q.bool(), "tcpEstablished": Q.bool(), "import": Q.bool(), "name": Q.str(),
                  "ignoreRootFS": Q.bool(), "ignoreVolumes": Q.bool(), "ignoreStaticIP": Q.bool(),
                  "ignoreStaticMAC": Q.bool(), "printStats": Q.bool(), "fileLocks": Q.bool(),
                  "pod": Q.str(), "publishPorts": Q.str()})
@with_engine
def restore(req: Request, eng) -> Response:
    _refuse_archives(req, "import", "name", "pod")
    ctr = eng.container(req.params["id"])
    ctr.restore()
    return Response(200, {"Id": ctr.id, "RuntimeDuration": 0, "CRIUStatistics": None})


def register(router: Router) -> None:
    router.add("POST", "/libpod/containers/{id}/checkpoint", checkpoint)
    router.add("POST", "/libpod/containers/{id}/restore", restore)
