"""The libpod-only routes (what podman-py and `podman --remote` call) whose
shapes differ from Docker's: SpecGenerator create, exists, pull, init, and
libpod's list, inspect and delete bodies."""

from __future__ import annotations


from ..engine.container import ContainerConfig, Mount
from ..errors import AlreadyInState, InvalidArgument, NoSuchContainer, NoSuchImage
from .common import int_field, strdict, strlist, with_engine
from .create_settings import SPEC_FIELDS, apply_spec
from .docker import libpod_container_wait, remove_image
from .http import Request, Response, Router
from .validate import FILTERS, INT64_MAX, UINT64_MAX, Bool, Int, List, Map, Obj, OneOf, Q, Str, Strs, validated

#: podman's SpecGenerator, as far as pypod reads it
SPEC_GENERATOR = Obj({
    "image": Str(4096), "name": Str(253), "command": Strs(), "entrypoint": Strs(), "env": Map(Str()),
    "work_dir": Str(4096), "user": Str(4096), "hostname": Str(253), "terminal": Bool(), "stdin": Bool(),
    "remove": Bool(), "privileged": Bool(), "read_only_filesystem": Bool(), "cap_add": Strs(), "cap_drop": Strs(),
    "labels": Map(Str()), "stop_signal": OneOf(Int(0, 64), Str(64)), "stop_timeout": Int(0, UINT64_MAX),
    "mounts": List(Obj({"destination": Str(4096), "source": Str(4096), "type": Str(64), "options": Strs()},
                       required=("destination",))),
    "netns": Obj({"nsmode": Str(64), "value": Str(4096)}),
    "seccomp_profile_path": Str(4096), "seccomp_policy": Str(64), "no_new_privileges": Bool(),
    "apparmor_profile": Str(4096), "selinux_opts": Strs(), "mask": Strs(), "unmask": Strs(), "procfs_opts": Strs(),
    **SPEC_FIELDS,
}, required=("image",))


def config_from_spec(spec: dict) -> ContainerConfig:
    """podman's SpecGenerator (the subset pypod runs) to a ContainerConfig."""
    from ..proto.signals import parse_signal

    image = spec.get("image")
    if not isinstance(image, str) or not image:
        raise InvalidArgument("image is required")
    # A SpecGenerator's lists and maps are typed: podman's decoder refuses a
    # bare string for a list, or an object for a label's value; so does this.
    for key in ("command", "entrypoint", "cap_add", "cap_drop"):
        if isinstance(spec.get(key), str):
            raise InvalidArgument(f"{key} must be a list of strings")
    for key in ("env", "labels"):
        if isinstance(spec.get(key), dict) and not all(isinstance(v, str) for v in spec[key].values()):
            raise InvalidArgument(f"{key} values must be strings")
    name = spec.get("name") or ""
    if not isinstance(name, str):
        raise InvalidArgument("name must be a string")
    cfg = ContainerConfig(image=image, name=name)
    cfg.command = strlist(spec.get("command"), "command")
    cfg.entrypoint = strlist(spec.get("entrypoint"), "entrypoint")
    cfg.env = [f"{k}={v}" for k, v in strdict(spec.get("env"), "env").items()]
    cfg.workdir = str(spec.get("work_dir") or "")
    cfg.user = str(spec.get("user") or "")
    cfg.hostname = str(spec.get("hostname") or "")
    cfg.tty = bool(spec.get("terminal"))
    cfg.stdin = bool(spec.get("stdin"))
    cfg.auto_remove = bool(spec.get("remove"))
    cfg.privileged = bool(spec.get("privileged"))
    cfg.read_only = bool(spec.get("read_only_filesystem"))
    cfg.cap_add = strlist(spec.get("cap_add"), "cap_add")
    cfg.cap_drop = strlist(spec.get("cap_drop"), "cap_drop")
    cfg.labels = strdict(spec.get("labels"), "labels")
    cfg.security = security_from_spec(spec)
    if spec.get("stop_signal"):
        cfg.stop_signal = parse_signal(str(spec["stop_signal"]))
    if spec.get("stop_timeout") is not None:
        cfg.stop_timeout = int_field(spec["stop_timeout"], "stop_timeout")
    cfg.mounts += mounts_from_spec(spec)
    from ..specgen.network import from_libpod

    cfg.network, cfg.networking = from_libpod(spec)
    pod = spec.get("pod") or ""
    if not isinstance(pod, str):
        raise InvalidArgument("pod must be a string")
    cfg.pod = pod
    apply_spec(cfg, spec)
    return cfg


def mounts_from_spec(spec: dict) -> list[Mount]:
    """A SpecGenerator's (or a pod spec's) "mounts"."""
    out = []
    mounts = spec.get("mounts") or []
    if not isinstance(mounts, list):
        raise InvalidArgument("mounts must be a list")
    for m in mounts:
        if not isinstance(m, dict) or not isinstance(m.get("destination"), str) or not m["destination"]:
            raise InvalidArgument("mounts entries need a destination")
        source, mtype = m.get("source", ""), m.get("type", "bind")
        if not isinstance(source, str) or not isinstance(mtype, str):
            raise InvalidArgument("mounts entries' source and type must be strings")
        if isinstance(m.get("options"), str):
            raise InvalidArgument("mount options must be a list of strings")
        options = strlist(m.get("options"), "mount options")
        out.append(Mount(destination=m["destination"], source=source, type=mtype,
                         options=[o for o in options if o in ("ro", "rbind", "bind", "nosuid", "nodev", "noexec")]))
    return out


def security_from_spec(spec: dict):
    """SpecGenerator's ContainerSecurityConfig fields."""
    from ..engine.security import SecurityConfig

    sec = SecurityConfig()
    path = spec.get("seccomp_profile_path") or ""
    if not isinstance(path, str):
        raise InvalidArgument("seccomp_profile_path must be a string")
    sec.seccomp_profile = path
    sec.seccomp_policy = str(spec.get("seccomp_policy") or "default")
    sec.no_new_privileges = bool(spec.get("no_new_privileges"))
    sec.apparmor_profile = str(spec.get("apparmor_profile") or "")
    sec.label_options = strlist(spec.get("selinux_opts"), "selinux_opts")
    sec.mask = strlist(spec.get("mask"), "mask")
    sec.unmask = strlist(spec.get("unmask"), "unmask")
    sec.proc_opts = strlist(spec.get("procfs_opts"), "procfs_opts")
    return sec


@validated(body=SPEC_GENERATOR)
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


def libpod_inspect(ctr) -> dict:
    """podman's InspectContainerData: the engine's shape, with the types
    podman's Go client decodes into (StopSignal is a number there)."""
    d = ctr.inspect()
    d["Config"]["StopSignal"] = ctr.config.stop_signal
    d["Config"].setdefault("Annotations", {})
    d["Config"]["Labels"] = d["Config"].get("Labels") or None
    # podman always shows a health state, empty without a health check
    # (Cockpit's container list sorts on State.Health.Status)
    d["State"].setdefault("Health", {"Status": "", "FailingStreak": 0, "Log": None})
    return d


@validated(query={"size": Q.bool()})
@with_engine
def container_inspect(req: Request, eng) -> Response:
    ctr = eng.container(req.params["id"])
    ctr.sync_cheap(with_execs=True)
    return Response(200, libpod_inspect(ctr))


@validated(query={"force": Q.bool(), "v": Q.bool(), "depend": Q.bool(), "ignore": Q.bool(), "t": Q.int(0, UINT64_MAX), "timeout": Q.int(0, UINT64_MAX)})
@with_engine
def container_delete(req: Request, eng) -> Response:
    """libpod answers a list of reports where Docker answers 204."""
    ctr = eng.container(req.params["id"])
    ctr.remove(force=req.qbool("force"), timeout=req.qint("timeout", req.qint("t")))
    return Response(200, [{"Id": ctr.id, "Err": None}])


@with_engine
def container_init(req: Request, eng) -> Response:
    try:
        eng.container(req.params["id"]).init()
    except AlreadyInState:
        return Response(304)
    return Response(204)


def libpod_container_entry(entry: dict) -> dict:
    """engine/listing's ListContainer as libpod sends it: Created as RFC 3339."""
    from ..proto.humanize import rfc3339

    return {**entry, "Created": rfc3339(entry["Created"])}


@validated(query={"all": Q.bool(), "limit": Q.int(-1, INT64_MAX), "last": Q.int(-1, INT64_MAX), "size": Q.bool(),
                  "sync": Q.bool(), "pod": Q.bool(), "namespace": Q.bool(), "external": Q.bool(), "filters": Q.json(FILTERS)})
@with_engine
def containers_list(req: Request, eng) -> Response:
    """podman's ps over the API: the same listing, the same filters."""
    from ..engine.listing import list_containers
    from .docker import _list_filters

    last = req.qint("last", -1)
    limit = req.qint("limit", -1)
    if limit is not None and limit > 0 and (last is None or last <= 0):
        last = limit
    entries = list_containers(eng, all_=req.qbool("all"), filters=_list_filters(req), last=last if last is not None else -1,
                              size=req.qbool("size"), namespaces=req.qbool("namespace"), external=req.qbool("external"),
                              sync=req.qbool("sync"))
    return Response(200, [libpod_container_entry(e) for e in entries])


def libpod_image_summary(img) -> dict:
    from .docker import image_summary

    d = image_summary(img)
    d["Id"] = img.id  # libpod lists ids bare; podman's remote client adds nothing
    d["Dangling"] = not img.names
    d["ReadOnly"] = False
    d["History"] = img.names
    if not img.names:
        d["RepoTags"] = None
    return d


@validated(query={"all": Q.bool(), "filters": Q.json(FILTERS)})
@with_engine
def images_list(req: Request, eng) -> Response:
    return Response(200, [libpod_image_summary(i) for i in eng.images.list()])


@with_engine
def image_inspect(req: Request, eng) -> Response:
    img = eng.images.lookup(req.params["name"])
    d = eng.images.inspect_dict(img)
    d["Id"] = img.id
    return Response(200, d)


@with_engine
def image_exists(req: Request, eng) -> Response:
    try:
        eng.images.lookup(req.params["name"])
    except NoSuchImage as e:
        return Response(404, {"message": str(e)})
    return Response(204)


def _removal_report(lines: list[str], deleted: list, untagged: list) -> None:
    for line in lines:
        kind, _, what = line.partition(": ")
        (deleted if kind == "Deleted" else untagged).append(what)


@validated(query={"force": Q.bool()})
@with_engine
def image_delete(req: Request, eng) -> Response:
    deleted, untagged = [], []
    _removal_report(remove_image(eng, req.params["name"], req.qbool("force")), deleted, untagged)
    return Response(200, {"Deleted": deleted, "Untagged": untagged, "Errors": [], "ExitCode": 0})


@validated(query={"images": Q.str(65536), "force": Q.bool(), "all": Q.bool(), "ignore": Q.bool()})
@with_engine
def images_remove(req: Request, eng) -> Response:
    deleted, untagged = [], []
    for name in req.qnames("images"):
        _removal_report(remove_image(eng, name, req.qbool("force")), deleted, untagged)
    return Response(200, {"Deleted": deleted, "Untagged": untagged, "Errors": [], "ExitCode": 0})


def register(router: Router) -> None:
    router.add("POST", "/libpod/containers/create", containers_create)
    router.add("GET", "/libpod/containers/{id}/exists", container_exists)
    router.add("POST", "/libpod/containers/{id}/init", container_init)
    router.add("GET", "/libpod/images/{name*}/exists", image_exists)
    router.add("DELETE", "/libpod/images/remove", images_remove)
    # libpod's own shapes win over the shared Docker routes registered
    # before them (equal patterns: the first in the list wins)
    for method, pattern, handler in (("POST", "libpod/containers/{id}/wait", libpod_container_wait),
                                     ("GET", "libpod/containers/json", containers_list),
                                     ("GET", "libpod/containers/{id}/json", container_inspect),
                                     ("DELETE", "libpod/containers/{id}", container_delete),
                                     ("GET", "libpod/images/json", images_list),
                                     ("GET", "libpod/images/{name*}/json", image_inspect),
                                     ("DELETE", "libpod/images/{name*}", image_delete)):
        router.routes.insert(0, (method, pattern.split("/"), handler))
