"""libpod's `GET /libpod/generate/{name}/systemd`: the units `generate
systemd` writes, as a map of unit name to text (what podman --remote
prints)."""

from __future__ import annotations

from .common import with_engine
from .http import Request, Response, Router
from .validate import Q, validated

_UINT = Q.int(0, 2**31 - 1)


@validated(query={"usename": Q.bool(), "new": Q.bool(), "noheader": Q.bool(), "templateunitfile": Q.bool(),
                  "restartpolicy": Q.str(32), "restartsec": _UINT, "starttimeout": _UINT, "stoptimeout": _UINT,
                  "containerprefix": Q.str(256), "podprefix": Q.str(256), "separator": Q.str(16),
                  "wants": Q.str(4096), "after": Q.str(4096), "requires": Q.str(4096),
                  "additionalenvvariables": Q.str(65536)})
@with_engine
def generate_systemd(req: Request, eng) -> Response:
    from ..engine.systemd_units import UnitOptions, container_unit
    from ..errors import InvalidArgument

    def some(name: str) -> list[str]:
        return [req.q(name)] if req.q(name) else []

    def number(name: str):
        return int(req.q(name)) if req.q(name) else None

    if req.qbool("templateunitfile") and not req.qbool("new"):
        raise InvalidArgument("--template cannot be set without --new")
    opts = UnitOptions(new=req.qbool("new"), name=req.qbool("usename"), no_header=req.qbool("noheader"),
                       template=req.qbool("templateunitfile"), restart_policy=req.q("restartpolicy") or "on-failure",
                       restart_sec=number("restartsec"), start_timeout=number("starttimeout"),
                       stop_timeout=number("stoptimeout"), container_prefix=req.q("containerprefix", "container"),
                       separator=req.q("separator", "-"), env=some("additionalenvvariables"), wants=some("wants"),
                       after=some("after"), requires=some("requires"))
    name, text = container_unit(eng.container(req.params["name"]), opts)
    return Response(200, {name: text})


def register(router: Router) -> None:
    router.add("GET", "/libpod/generate/{name}/systemd", generate_systemd)
