"""The libpod-only routes (what podman-py and `podman --remote` call) whose
shapes differ from Docker's: SpecGenerator create, exists, libpod inspect."""

from __future__ import annotations

from ..engine.container import ContainerConfig, Mount
from ..errors import InvalidArgument, NoSuchContainer, NoSuchImage
from .docker import _int, _strdict, _strlist, libpod_container_wait, with_engine
from .http import Request, Response, Router


def config_from_spec(spec: dict) -> ContainerConfig:
    """podman's SpecGenerator (the subset pypod runs) to a ContainerConfig."""
    from ..proto.signals import parse_signal

    image = spec.get("image")
    if not isinstance(image, str) or not image:
        raise InvalidArgument("image is required")
    cfg = ContainerConfig(image=image, name=str(spec.get("name") or ""))
    cfg.command = _strlist(spec.get("command"), "command")
    cfg.entrypoint = _strlist(spec.get("entrypoint"), "entrypoint")
    cfg.env = [f"{k}={v}" for k, v in _strdict(spec.get("env"), "env").items()]
    cfg.workdir = str(spec.get("work_dir") or "")
    cfg.user = str(spec.get("user") or "")
    cfg.hostname = str(spec.get("hostname") or "")
    cfg.tty = bool(spec.get("terminal"))
    cfg.stdin = bool(spec.get("stdin"))
    cfg.auto_remove = bool(spec.get("remove"))
    cfg.privileged = bool(spec.get("privileged"))
    cfg.read_only = bool(spec.get("read_only_filesystem"))
    cfg.cap_add = _strlist(spec.get("cap_add"), "cap_add")
    cfg.cap_drop = _strlist(spec.get("cap_drop"), "cap_drop")
    cfg.labels = _strdict(spec.get("labels"), "labels")
    if spec.get("stop_signal"):
        cfg.stop_signal = parse_signal(str(spec["stop_signal"]))
    if spec.get("stop_timeout") is not None:
        cfg.stop_timeout = _int(spec["stop_timeout"], "stop_timeout")
    for m in spec.get("mounts") or []:
        if not isinstance(m, dict) or not m.get("destination"):
            raise InvalidArgument("mounts entries need a destination")
        cfg.mounts.append(Mount(destination=m["destination"], source=m.get("source", ""), type=m.get("type", "bind"),
                                options=[o for o in m.get("options") or [] if o in ("ro", "rbind", "bind", "nosuid", "nodev", "noexec")]))
    ns = (spec.get("netns") or {}).get("nsmode", "")
    cfg.network = {"": "private", "bridge": "private", "private": "private", "none": "none", "host": "host"}.get(ns, "")
    if not cfg.network:
        raise InvalidArgument(f"network mode {ns!r} is not supported")
    return cfg


@with_engine
def containers_create(req: Request, eng) -> Response:
    ctr = eng.create_container(config_from_spec(req.json()))
    return Response(201, {"Id": ctr.id, "Warnings": []})


@with_engine
def container_exists(req: Request, eng) -> Response:
    try:
        eng.store.lookup_id(req.params["id"])
    except NoSuchContainer:
        return Response(404, {"message": f"no container with name or ID \"{req.params['id']}\" found: no such container"})
    return Response(204)


@with_engine
def container_inspect(req: Request, eng) -> Response:
    ctr = eng.container(req.params["id"])
    ctr.sync_cheap()
    return Response(200, ctr.inspect())


@with_engine
def image_exists(req: Request, eng) -> Response:
    try:
        eng.images.lookup(req.params["name"])
    except NoSuchImage as e:
        return Response(404, {"message": str(e)})
    return Response(204)


@with_engine
def images_remove(req: Request, eng) -> Response:
    deleted, untagged, errors = [], [], []
    for name in req.query.get("images", "").split(","):
        if not name:
            continue
        for line in eng.remove_image(name, force=req.qbool("force")):
            kind, _, what = line.partition(": ")
            (deleted if kind == "Deleted" else untagged).append(what)
    return Response(200, {"Deleted": deleted, "Untagged": untagged, "Errors": errors, "ExitCode": 0})


def register(router: Router) -> None:
    router.add("POST", "/libpod/containers/create", containers_create)
    router.routes.insert(0, ("POST", "libpod/containers/{id}/wait".split("/"), libpod_container_wait))
    router.add("GET", "/libpod/containers/{id}/exists", container_exists)
    router.add("GET", "/libpod/images/{name}/exists", image_exists)
    router.add("DELETE", "/libpod/images/remove", images_remove)
    # libpod's inspect is podman's own shape; registered after the shared one, so re-add first
    router.routes.insert(0, ("GET", "libpod/containers/{id}/json".split("/"), container_inspect))
