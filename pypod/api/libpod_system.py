"""libpod's whole-store routes in the shapes podman's remote client decodes:
system df and prune, container prune, and events as libpod sends them
(every container event carries containerExitCode; statuses podman knows)."""

from __future__ import annotations

from ..proto.humanize import rfc3339
from .common import with_engine
from .docker import _list_filters, docker_event, stream_events
from .http import Request, Response, Router
from .validate import FILTERS, Q, validated

#: what libpod calls the image events pypod's log names otherwise
_LIBPOD_ACTIONS = {"load": "loadfromarchive"}


@with_engine
def system_df(req: Request, eng) -> Response:
    from ..engine.housekeeping import disk_usage

    report = disk_usage(eng)
    for part in ("Images", "Containers"):
        for row in report[part]:
            row["Created"] = rfc3339(row["Created"])
    report["ImagesSize"] = sum(i["Size"] for i in report["Images"])
    return Response(200, report)


def _prune_reports(removed: list[tuple[str, int]]) -> list[dict]:
    return [{"Id": ident, "Err": None, "Size": size} for ident, size in removed]


@validated(query={"filters": Q.json(FILTERS)})
@with_engine
def containers_prune(req: Request, eng) -> Response:
    return Response(200, _prune_reports(eng.prune_containers(_prune_filters(req))))


def _prune_filters(req: Request) -> dict[str, list[str]]:
    from ..errors import InvalidArgument

    filters = _list_filters(req)
    for key in filters:
        if key not in ("label", "label!", "until"):
            raise InvalidArgument(f"{key} is an invalid filter")
    return filters


@validated(query={"all": Q.bool(), "volumes": Q.bool(), "filters": Q.json(FILTERS), "external": Q.bool()})
@with_engine
def system_prune(req: Request, eng) -> Response:
    from ..engine.housekeeping import system_prune as prune

    report = prune(eng, all_images=req.qbool("all"), volumes=req.qbool("volumes"), filters=_prune_filters(req))
    reclaimed = sum(size for key in ("Containers", "Images", "Volumes") for _ident, size in report[key])
    return Response(200, {"PodPruneReport": [], "ContainerPruneReports": _prune_reports(report["Containers"]),
                          "ImagePruneReports": _prune_reports(report["Images"]), "NetworkPruneReports": [],
                          "VolumePruneReports": _prune_reports(report["Volumes"]), "ReclaimedSpace": reclaimed})


def libpod_event(ev: dict) -> dict:
    """Docker's event message with what libpod's decoder insists on: a
    status it knows, and a containerExitCode."""
    out = docker_event(ev)
    action = _LIBPOD_ACTIONS.get(out["Action"], out["Action"])
    out["Action"] = out["status"] = action
    # libpod's client drops (and 4.3.1's then crashes on) an event without it, whatever its type
    out["Actor"]["Attributes"].setdefault("containerExitCode", "0")
    return out


@validated(query={"since": Q.time(), "until": Q.time(), "filters": Q.json(FILTERS), "stream": Q.bool()})
def events(req: Request) -> Response:
    return stream_events(req, libpod_event)


def register(router: Router) -> None:
    router.add("GET", "/libpod/system/df", system_df)
    router.add("POST", "/libpod/system/prune", system_prune)
    router.add("POST", "/libpod/containers/prune", containers_prune)
    router.add("GET", "/libpod/events", events)
