"""Volumes over both APIs: Docker's /volumes (list, create, inspect,
remove, prune) and libpod's /libpod/volumes (the same in podman's shapes,
and exists)."""

from __future__ import annotations

from ..errors import InvalidArgument, NoSuchVolume
from .common import strdict, with_engine
from .http import Request, Response, Router
from .validate import FILTERS, Map, Obj, Q, Str, validated


def _filters(req: Request) -> dict[str, list[str]]:
    from .docker import _list_filters

    return _list_filters(req)


def _matching(eng, filters: dict[str, list[str]]):
    from ..engine.volumes import matches_filters

    used = eng.volumes.in_use()
    return [v for v in eng.volumes.list() if matches_filters(v, filters, used)]


def docker_volume(vol) -> dict:
    """Docker's Volume: podman's inspect less its own fields."""
    d = vol.inspect()
    out = {k: d[k] for k in ("Name", "Driver", "Mountpoint", "CreatedAt", "Labels", "Scope", "Options")}
    out["Labels"] = out["Labels"] or None
    out["Options"] = out["Options"] or None
    return out


@validated(query={"filters": Q.json(FILTERS)})
@with_engine
def docker_list(req: Request, eng) -> Response:
    return Response(200, {"Volumes": [docker_volume(v) for v in _matching(eng, _filters(req))], "Warnings": []})


@validated(query={"filters": Q.json(FILTERS)})
@with_engine
def libpod_list(req: Request, eng) -> Response:
    return Response(200, [v.inspect() for v in _matching(eng, _filters(req))])


_CREATE_BODY = Obj({"Name": Str(), "Driver": Str(), "DriverOpts": Map(Str()), "Options": Map(Str()),
                    "Labels": Map(Str()), "Label": Map(Str())})


def _create(req: Request, eng):
    body = req.json(default={})
    labels = {**strdict(body.get("Label"), "Label"), **strdict(body.get("Labels"), "Labels")}
    options = {**strdict(body.get("DriverOpts"), "DriverOpts"), **strdict(body.get("Options"), "Options")}
    return eng.volumes.create(body.get("Name") or "", driver=body.get("Driver") or "local", labels=labels,
                              options=options)


@validated(body=_CREATE_BODY, body_optional=True)
@with_engine
def docker_create(req: Request, eng) -> Response:
    """An existing name answers that volume, as Docker does."""
    name = req.json(default={}).get("Name")
    if name and eng.volumes.exists(name):
        return Response(201, docker_volume(eng.volumes.get(name)))
    return Response(201, docker_volume(_create(req, eng)))


@validated(body=_CREATE_BODY, body_optional=True)
@with_engine
def libpod_create(req: Request, eng) -> Response:
    return Response(201, _create(req, eng).inspect())


@validated()
@with_engine
def docker_inspect(req: Request, eng) -> Response:
    return Response(200, docker_volume(eng.volumes.get(req.params["name"])))


@validated()
@with_engine
def libpod_inspect(req: Request, eng) -> Response:
    return Response(200, eng.volumes.get(req.params["name"]).inspect())


@validated()
@with_engine
def libpod_exists(req: Request, eng) -> Response:
    if not eng.volumes.exists(req.params["name"]):
        raise NoSuchVolume(f"no volume with name {req.params['name']!r} found: no such volume")
    return Response(204)


@validated(query={"force": Q.bool(), "timeout": Q.int(0, 1 << 31)})
@with_engine
def remove(req: Request, eng) -> Response:
    eng.volumes.remove(req.params["name"], force=req.qbool("force"), timeout=req.qint("timeout"))
    return Response(204)


def _prune(req: Request, eng) -> list[tuple[str, int]]:
    filters = _filters(req)
    bad = set(filters) - {"label", "label!", "until"}
    if bad:
        raise InvalidArgument(f"invalid filter {sorted(bad)[0]!r} for volume prune")
    return eng.volumes.prune(filters)


@validated(query={"filters": Q.json(FILTERS)})
@with_engine
def docker_prune(req: Request, eng) -> Response:
    gone = _prune(req, eng)
    return Response(200, {"VolumesDeleted": [n for n, _ in gone] or None, "SpaceReclaimed": sum(s for _, s in gone)})


@validated(query={"filters": Q.json(FILTERS)})
@with_engine
def libpod_prune(req: Request, eng) -> Response:
    return Response(200, [{"Id": n, "Size": s} for n, s in _prune(req, eng)])


def register(router: Router) -> None:
    router.add("GET", "/volumes", docker_list)
    router.add("POST", "/volumes/create", docker_create)
    router.add("POST", "/volumes/prune", docker_prune)
    router.add("GET", "/volumes/{name}", docker_inspect)
    router.add("DELETE", "/volumes/{name}", remove)
    router.add("GET", "/libpod/volumes/json", libpod_list)
    router.add("POST", "/libpod/volumes/create", libpod_create)
    router.add("POST", "/libpod/volumes/prune", libpod_prune)
    router.add("GET", "/libpod/volumes/{name}/json", libpod_inspect)
    router.add("GET", "/libpod/volumes/{name}/exists", libpod_exists)
    router.add("DELETE", "/libpod/volumes/{name}", remove)
