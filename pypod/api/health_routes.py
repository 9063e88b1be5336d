"""libpod's "run the health check now" (`podman --remote healthcheck run`,
Cockpit's "Run health check"): the same check and bookkeeping as the CLI's
(engine/health.py), answered with State.Health's shape."""

from __future__ import annotations

from ..errors import NoSuchContainer
from .common import with_engine
from .http import Request, Response, Router
from .validate import validated


@validated()
@with_engine
def healthcheck_run(req: Request, eng) -> Response:
    """409 (invalid state) when the container has no check or is not running."""
    from ..engine.health import read_results, run_check

    name = req.params["name"]
    try:
        ctr = eng.container(name)
    except NoSuchContainer as e:
        raise NoSuchContainer(f"unable to look up {name} to perform a health check: {e}") from None
    run_check(ctr)
    return Response(200, read_results(ctr))


def register(router: Router) -> None:
    router.add("GET", "/libpod/containers/{name}/healthcheck", healthcheck_run)
