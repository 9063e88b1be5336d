"""A container's filesystem and resources over both APIs: archive (GET,
HEAD, PUT with X-Docker-Container-Path-Stat), changes, export, rename,
mount and unmount (libpod), commit, and stats (Docker's JSON, streamed or
one-shot; libpod's report stream)."""

from __future__ import annotations

import base64
import json
import time

from ..errors import InvalidArgument, NoSuchContainer
from .common import EngineScope, piped, strdict, strlist, with_engine
from .http import Request, Response, Router, Streamed
from .validate import Anything, Map, Obj, Q, Str, StrOrList, Strs, validated

# -- archive -------------------------------------------------------------------------


def _path(req: Request) -> str:
    path = req.q("path")
    if not path:
        raise InvalidArgument("bad parameter: path cannot be empty")
    return path if path.startswith("/") else "/" + path


@validated(query={"path": Q.str(4096)})
def archive_get(req: Request) -> Response:
    """GET and HEAD: the path's stat in the header; GET adds the tar."""
    from ..engine import containerfs

    path = _path(req)
    with EngineScope(req) as eng:
        ctr = eng.container(req.params["id"])
        st = containerfs.path_stat(ctr, path, resolved_target="/libpod/" in req.path)
    header = {"X-Docker-Container-Path-Stat": base64.b64encode(json.dumps(st).encode()).decode()}
    if req.method == "HEAD":
        return Response(200, None, "application/x-tar", header)

    def produce(eng, out) -> None:
        containerfs.archive_out(eng.container(req.params["id"]), path, out)

    resp = piped(req, produce)
    resp.headers = header
    return resp


@validated(query={"path": Q.str(4096), "noOverwriteDirNonDir": Q.bool(), "copyUIDGID": Q.bool(), "pause": Q.bool()})
@with_engine
def archive_put(req: Request, eng) -> Response:
    from ..engine import containerfs

    ctr = eng.container(req.params["id"])
    containerfs.archive_in(ctr, _path(req), req.body_stream(), chown=req.qbool("copyUIDGID"),
                           overwrite=not req.qbool("noOverwriteDirNonDir"))
    return Response(200, None)


# -- changes, export, rename, mount ------------------------------------------------------

_KINDS = {"C": 0, "A": 1, "D": 2}


_CHANGES_QUERY = {"parent": Q.str(256), "diffType": Q.str(16, ("all", "container", "image"))}


@validated(query=_CHANGES_QUERY)
@with_engine
def changes(req: Request, eng) -> Response:
    return _changes_of(req, eng, req.q("diffType") or "all")


@validated(query=_CHANGES_QUERY)
@with_engine
def image_changes(req: Request, eng) -> Response:
    return _changes_of(req, eng, req.q("diffType") or "image")


def _changes_of(req: Request, eng, kind: str) -> Response:
    """libpod's GetDiff: a container's changes, or an image's (its top layer,
    or against the image named by parent); kind says which to look for
    ("all": a container first, as `podman diff`)."""
    from ..engine import containerfs
    from ..errors import NoSuchImage

    name, parent = req.params["id"], req.q("parent")
    found = None
    if kind in ("all", "container"):
        try:
            ctr = eng.container(name)
        except NoSuchContainer:
            if kind == "container":
                raise
        else:
            if parent:
                raise InvalidArgument("parent: a container's changes are against its image only")
            found = containerfs.changes(ctr)
    if found is None:
        try:
            found = containerfs.image_changes(eng, name, parent)
        except NoSuchImage:
            if kind == "image":
                raise
            raise NoSuchContainer(f"{name} not found: no such container or image") from None
    return Response(200, [{"Path": p, "Kind": _KINDS[k]} for k, p in found])


@validated()
def export(req: Request) -> Response:
    from ..engine import containerfs

    with EngineScope(req) as eng:
        eng.container(req.params["id"])  # a missing container is a 404, before the body starts

    return piped(req, lambda eng, out: containerfs.export(eng.container(req.params["id"]), out))


@validated(query={"name": Q.str(256)})
@with_engine
def rename(req: Request, eng) -> Response:
    if not req.q("name"):
        raise InvalidArgument("bad parameter: a new name is required")
    eng.container(req.params["id"]).rename(req.q("name"))
    return Response(204)


@validated()
@with_engine
def libpod_mount(req: Request, eng) -> Response:
    return Response(200, eng.container(req.params["id"]).mount())


@validated()
@with_engine
def libpod_unmount(req: Request, eng) -> Response:
    eng.container(req.params["id"]).unmount()
    return Response(204)


# -- commit ------------------------------------------------------------------------------

#: the parts of a container config the commit body may set (Docker's)
_BODY_KEYS = ("Cmd", "Entrypoint", "Env", "Labels", "WorkingDir", "User", "ExposedPorts", "Volumes", "StopSignal")


def _commit(req: Request, eng, fmt: str, pause_default: bool) -> tuple[str, str]:
    name = req.q("container")
    if not name:
        raise InvalidArgument("bad parameter: container is required")
    repo, tag = req.q("repo"), req.q("tag")
    if tag and not repo:
        raise InvalidArgument("bad parameter: a tag needs a repo")
    reference = f"{repo}:{tag}" if repo and tag else repo or None
    body = req.json(default={})
    overrides = {}
    for key in _BODY_KEYS:
        v = body.get(key)
        if v is None:
            continue
        if key in ("Cmd", "Entrypoint", "Env"):
            overrides[key] = strlist(v, key)
        elif key == "Labels":
            overrides[key] = strdict(v, key)
        elif key in ("ExposedPorts", "Volumes"):
            overrides[key] = {str(k): {} for k in v}
        else:
            overrides[key] = v
    img = eng.commit(name, reference, changes=_changes(req), message=req.q("comment"), author=req.q("author"),
                     pause=req.qbool("pause", pause_default), squash=req.qbool("squash"), fmt=fmt,
                     config=overrides or None)
    return img.id, img.names[0] if img.names else ""


def _changes(req: Request) -> list[str]:
    """Each `changes` value one instruction (the docker CLI repeats the
    parameter; some clients join instructions with newlines)."""
    out = []
    for v in req.qlist("changes"):
        out += [line for line in v.splitlines() if line.strip()]
    return out


_COMMIT_BODY = Obj({"Cmd": StrOrList(), "Entrypoint": StrOrList(), "Env": Strs(), "Labels": Map(Str()),
                    "WorkingDir": Str(), "User": Str(), "ExposedPorts": Map(Anything()), "Volumes": Map(Anything()),
                    "StopSignal": Str()})
_COMMIT_QUERY = {"container": Q.str(256), "repo": Q.str(1024), "tag": Q.str(128), "comment": Q.str(65536),
                 "author": Q.str(1024), "pause": Q.bool(), "changes": Q.str(65536), "squash": Q.bool(),
                 "format": Q.str(16, ("oci", "docker", "")), "stream": Q.bool()}


@validated(query=_COMMIT_QUERY, body=_COMMIT_BODY, body_optional=True)
@with_engine
def docker_commit(req: Request, eng) -> Response:
    iid, _name = _commit(req, eng, "docker", pause_default=True)
    return Response(201, {"Id": f"sha256:{iid}"})


@validated(query=_COMMIT_QUERY, body=_COMMIT_BODY, body_optional=True)
@with_engine
def libpod_commit(req: Request, eng) -> Response:
    fmt = req.q("format") or ("docker" if req.q("comment") else "oci")
    iid, _name = _commit(req, eng, fmt, pause_default=False)
    return Response(200, {"Id": iid})


# -- stats -------------------------------------------------------------------------------


def _rfc3339_ns(ns: int) -> str:
    if not ns:
        return "0001-01-01T00:00:00Z"
    secs, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"


def _cpu_stats(s) -> dict:
    return {"cpu_usage": {"total_usage": s.cpu_ns, "percpu_usage": s.percpu_ns or None,
                          "usage_in_kernelmode": s.cpu_kernel_ns, "usage_in_usermode": s.cpu_user_ns},
            "system_cpu_usage": s.system_ns, "online_cpus": s.online_cpus,
            "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}


def docker_stats(s, prev) -> dict:
    """Docker's stats JSON for a sample and the one before it (or none)."""
    pre = prev if prev is not None else type(s)(id=s.id, name=s.name)
    blkio = [{"major": ma, "minor": mi, "op": op, "value": v} for ma, mi, op, v in s.blkio]
    return {
        "name": f"/{s.name}", "id": s.id, "read": _rfc3339_ns(s.read_ns), "preread": _rfc3339_ns(pre.read_ns),
        "pids_stats": {"current": s.pids, **({"limit": s.pids_limit} if s.pids_limit else {})},
        "blkio_stats": {"io_service_bytes_recursive": blkio or None, "io_serviced_recursive": None,
                        "io_queue_recursive": None, "io_service_time_recursive": None, "io_wait_time_recursive": None,
                        "io_merged_recursive": None, "io_time_recursive": None, "sectors_recursive": None},
        "num_procs": 0, "storage_stats": {},
        "cpu_stats": _cpu_stats(s), "precpu_stats": _cpu_stats(pre),
        "memory_stats": {"usage": s.mem_usage, "max_usage": s.mem_max_usage, "stats": s.mem_stat, "limit": s.mem_limit}
        if s.running else {},
        "networks": {name: {"rx_bytes": n.rx_bytes, "rx_packets": n.rx_packets, "rx_errors": n.rx_errors,
                            "rx_dropped": n.rx_dropped, "tx_bytes": n.tx_bytes, "tx_packets": n.tx_packets,
                            "tx_errors": n.tx_errors, "tx_dropped": n.tx_dropped} for name, n in s.networks.items()},
    }


def _resample(eng, cid: str):
    from ..engine import stats

    ctr = eng.container(cid)
    ctr.sync_cheap()
    return stats.sample(ctr)


@validated(query={"stream": Q.bool(), "one-shot": Q.bool()})
def docker_stats_route(req: Request) -> Response:
    """stream (the default): a sample a second until the container stops;
    stream=false: one, with precpu a second earlier unless one-shot."""
    stream, one_shot = req.qbool("stream", True), req.qbool("one-shot")
    if one_shot and stream:
        raise InvalidArgument("bad parameter: cannot have stream=true and one-shot=true")
    with EngineScope(req) as eng:
        cid = eng.container(req.params["id"]).id
        first = _resample(eng, cid)
        if not stream:
            prev = None
            if not one_shot and first.running:
                time.sleep(1)
                prev, first = first, _resample(eng, cid)
            return Response(200, docker_stats(first, prev))

    def chunks():
        with EngineScope(req) as eng:
            prev, cur = None, first
            while True:
                yield (json.dumps(docker_stats(cur, prev)) + "\n").encode()
                if not cur.running or req.handler.server.stopping:
                    return
                time.sleep(1)
                try:
                    prev, cur = cur, _resample(eng, cid)
                except NoSuchContainer:
                    return

    return Streamed(chunks(), "application/json")


def libpod_stats_entry(s, prev) -> dict:
    """podman's ContainerStats."""
    from ..engine.stats import avg_cpu_percent, cpu_percent

    return {"AvgCPU": avg_cpu_percent(s), "ContainerID": s.id, "Name": s.name, "PerCPU": s.percpu_ns or None,
            "CPU": cpu_percent(s, prev), "CPUNano": s.cpu_ns, "CPUSystemNano": s.cpu_kernel_ns,
            "SystemNano": s.read_ns, "MemUsage": s.mem_usage, "MemLimit": s.mem_limit,
            "MemPerc": s.mem_usage / s.mem_limit * 100 if s.mem_limit else 0.0, "NetInput": s.net_rx,
            "NetOutput": s.net_tx, "BlockInput": s.block_read, "BlockOutput": s.block_write, "PIDs": s.pids,
            "UpTime": s.cpu_ns, "Duration": s.cpu_ns}


@validated(query={"containers": Q.str(65536), "stream": Q.bool(), "interval": Q.int(1, 86400), "all": Q.bool()})
def libpod_stats(req: Request) -> Response:
    """A report ({"Error", "Stats"}) per interval (5 s by default); stream=false: one."""
    from ..engine import stats

    names = req.qnames("containers")
    stream, interval = req.qbool("stream", True), req.qint("interval", 5)
    with EngineScope(req) as eng:
        first = stats.collect(eng, names, all_=req.qbool("all"))
    report = lambda got, prev: (json.dumps({"Error": None, "Stats": [  # noqa: E731
        libpod_stats_entry(s, prev.get(s.id)) for s in got]}) + "\n").encode()
    if not stream:
        return Response(200, json.loads(report(first, {})))

    def chunks():
        with EngineScope(req) as eng:
            got, prev = first, {}
            while True:
                yield report(got, prev)
                if req.handler.server.stopping:
                    return
                time.sleep(interval)
                prev = {s.id: s for s in got}
                try:
                    got = stats.collect(eng, names, all_=req.qbool("all"))
                except NoSuchContainer:
                    return

    return Streamed(chunks(), "application/json")


def register(router: Router) -> None:
    for prefix in ("", "/libpod"):
        router.add("GET", f"{prefix}/containers/{{id}}/archive", archive_get)
        router.add("PUT", f"{prefix}/containers/{{id}}/archive", archive_put)
        router.add("GET", f"{prefix}/containers/{{id}}/changes", changes)
        router.add("GET", f"{prefix}/containers/{{id}}/export", export)
        router.add("POST", f"{prefix}/containers/{{id}}/rename", rename)
        router.add("GET", f"{prefix}/containers/{{id}}/stats", docker_stats_route)
    router.add("GET", "/libpod/images/{id}/changes", image_changes)
    router.add("POST", "/commit", docker_commit)
    router.add("POST", "/libpod/commit", libpod_commit)
    router.add("POST", "/libpod/containers/{id}/mount", libpod_mount)
    router.add("POST", "/libpod/containers/{id}/unmount", libpod_unmount)
    router.add("GET", "/libpod/containers/stats", libpod_stats)
