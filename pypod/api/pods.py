"""/libpod/pods: what podman-py's pods and `podman --remote pod ...` call."""

from __future__ import annotations

from ..errors import InvalidArgument, NoSuchPod
from .common import strdict, strlist, with_engine
from .http import Request, Response, Router
from .validate import FILTERS, Q, validated

#: a stop's or removal's seconds before SIGKILL (-1: wait for ever, as podman's)
_TIMEOUT = {"t": Q.int(-1, 2**31 - 1), "timeout": Q.int(-1, 2**31 - 1)}


def _spec_to_pod(spec: dict):
    """podman's PodSpecGenerator (the part pypod runs) to a PodConfig and the
    infra container's network request."""
    from ..engine.pods import DEFAULT_SHARE, SHAREABLE, PodConfig
    from ..specgen.network import from_libpod

    if not isinstance(spec, dict):
        raise InvalidArgument("the body must be a pod spec object")
    name = spec.get("name") or ""
    if not isinstance(name, str):
        raise InvalidArgument("name must be a string")
    share = spec.get("shared_namespaces")
    share = list(DEFAULT_SHARE) if share is None else strlist(share, "shared_namespaces")
    for k in share:
        if k not in SHAREABLE:
            raise InvalidArgument(f"invalid kernel namespace to share: {k}")
    cmd = spec.get("infra_command")
    pc = PodConfig(name=name, hostname=str(spec.get("hostname") or ""), labels=strdict(spec.get("labels"), "labels"),
                   share=share, infra=not spec.get("no_infra"), infra_image=str(spec.get("infra_image") or ""),
                   infra_name=str(spec.get("infra_name") or ""),
                   infra_command=strlist(cmd, "infra_command") if cmd else [],
                   exit_policy=str(spec.get("exit_policy") or "continue"),
                   create_command=strlist(spec.get("pod_create_command"), "pod_create_command"))
    # The infra container's network: the same keys as a container's, but
    # podman spells the networks map "Networks" here.
    net_spec = dict(spec)
    if "Networks" in spec and "networks" not in spec:
        net_spec["networks"] = spec["Networks"]
    static_ip, static_mac = spec.get("static_ip"), spec.get("static_mac")
    mode, networking = from_libpod(net_spec)
    if static_ip or static_mac:
        from ..network import specs
        from ..network.types import Attachment

        att = next(iter(networking.networks.values())) if networking.networks else networking.networks.setdefault("", Attachment())
        if static_ip:
            att.static_ips.append(specs.check_ip(str(static_ip)))
        if static_mac:
            att.static_mac = specs.check_mac(str(static_mac))
    if spec.get("no_manage_hosts"):
        networking.no_hosts = True
    return pc, mode, networking


def _pod_settings(pc, spec: dict):
    """The pod spec's cgroup limits onto pc, and the infra container's
    settings (namespaces, security options, devices, mounts, /dev/shm) as a
    template for pods.create: what `podman --remote pod create` sends."""
    from ..engine.container import ContainerConfig
    from ..engine.resources import Resources
    from ..record import asdict
    from ..specgen.security import parse_device, parse_security_opts
    from .create_settings import _id_maps, _spec_ns, _spec_resources
    from .libpod import mounts_from_spec

    holder = ContainerConfig()
    _spec_resources(holder, spec)
    r = holder.resources
    pc.resources = Resources.from_dict({**asdict(r), "shm_size": 0})
    pc.cgroup_parent = r.cgroup_parent
    if spec.get("share_parent") is not None:
        pc.share_parent = bool(spec["share_parent"])
    pidfile = spec.get("infra_conmon_pid_file") or ""
    if not isinstance(pidfile, str):
        raise InvalidArgument("infra_conmon_pid_file must be a string")
    pc.infra_conmon_pidfile = pidfile
    infra = ContainerConfig()
    infra.resources.shm_size = r.shm_size
    ns = infra.namespaces
    ns.pid = _spec_ns(spec.get("pidns"), "pidns")
    ns.uts = _spec_ns(spec.get("utsns"), "utsns")
    ns.userns = _spec_ns(spec.get("userns"), "userns")
    if ns.userns == "private":
        ns.userns = ""  # what a map alone asks for
    _id_maps(infra, spec.get("idmappings") or {})
    ns.sysctls = strdict(spec.get("sysctl"), "sysctl")
    infra.security = parse_security_opts(strlist(spec.get("security_opt"), "security_opt"))
    infra.security.devices = [parse_device(d) for d in strlist(spec.get("pod_devices"), "pod_devices")]
    infra.mounts = mounts_from_spec(spec)
    infra.fs.volumes_from = strlist(spec.get("volumes_from"), "volumes_from")
    return infra


@validated()  # the spec's own checks are _spec_to_pod's and _pod_settings'
@with_engine
def pod_create(req: Request, eng) -> Response:
    spec = req.json()
    pc, mode, networking = _spec_to_pod(spec)
    infra = _pod_settings(pc, spec)
    pod = eng.pods.create(pc, mode, networking, infra)
    return Response(201, {"Id": pod.id})


def _pod(eng, req: Request):
    return eng.pods.get(req.params["name"])


@validated(query={"filters": Q.json(FILTERS)})
@with_engine
def pods_list(req: Request, eng) -> Response:
    from ..engine.pods import pod_entry, pod_matches
    from .docker import _list_filters

    filters = [f"{k}={v}" for k, vs in _list_filters(req).items() for v in vs]
    all_ctrs = eng.containers()
    out = []
    for pod in eng.pods.list():
        ctrs = sorted((c for c in all_ctrs if c.config.pod == pod.id), key=lambda c: (c.id != pod.infra_id, c.config.created))
        entry = pod_entry(pod, ctrs)
        if filters and not pod_matches(pod, entry, ctrs, filters):
            continue
        out.append(entry)
    return Response(200, out)


@validated()
@with_engine
def pod_inspect(req: Request, eng) -> Response:
    return Response(200, _pod(eng, req).inspect())


@validated()
@with_engine
def pod_exists(req: Request, eng) -> Response:
    try:
        _pod(eng, req)
    except NoSuchPod as e:
        return Response(404, {"message": str(e), "cause": "no such pod", "response": 404})
    return Response(204)


def _report(pod, errors: list[str]) -> Response:
    if errors:
        return Response(409, {"Errs": errors, "Id": pod.id, "message": "; ".join(errors)})
    return Response(200, {"Errs": [], "Id": pod.id})


def _verb(action, unchanged: str | None = None, query: dict | None = None):
    """A route for one pod verb; 304 when nothing needed doing (podman's)."""

    @validated(query=query)
    @with_engine
    def route(req: Request, eng) -> Response:
        from ..engine.container import Status

        pod = _pod(eng, req)
        if unchanged is not None:
            statuses = [c.state.status for c in pod.containers()]
            if statuses and all(s.value == unchanged or (unchanged == "exited" and s in (Status.STOPPED, Status.EXITED, Status.CONFIGURED, Status.CREATED)) for s in statuses):
                return Response(304)
        return _report(pod, action(pod, req) or [])

    route.__name__ = f"pod_{getattr(action, '__name__', 'verb')}"
    return route


def _kill(pod, req: Request):
    from ..proto.signals import parse_signal

    return pod.kill(parse_signal(req.q("signal", "KILL") or "KILL"))


pod_start = _verb(lambda pod, req: pod.start(), unchanged="running")
pod_stop = _verb(lambda pod, req: pod.stop(req.qint("t", req.qint("timeout"))), unchanged="exited", query=_TIMEOUT)
pod_restart = _verb(lambda pod, req: pod.stop() + pod.start())
pod_kill = _verb(_kill, query={"signal": Q.str(32)})
pod_pause = _verb(lambda pod, req: pod.pause())
pod_unpause = _verb(lambda pod, req: pod.unpause())


@validated(query={"force": Q.bool(), **_TIMEOUT})
@with_engine
def pod_delete(req: Request, eng) -> Response:
    pod = _pod(eng, req)
    ctrs = [c.id for c in pod.containers(sync=False)]
    pod.remove(force=req.qbool("force"), timeout=req.qint("t", req.qint("timeout")))
    return Response(200, {"Err": None, "Id": pod.id, "RemovedCtrs": {c: None for c in ctrs}})


@validated()
@with_engine
def pods_prune(req: Request, eng) -> Response:
    return Response(200, [{"Err": None, "Id": pid} for pid in eng.pods.prune()])


@validated(query={"ps_args": Q.str(1024), "stream": Q.bool(), "delay": Q.int(0, 2**31 - 1)})
@with_engine
def pod_top(req: Request, eng) -> Response:
    args = req.q("ps_args")
    titles, rows = _pod(eng, req).top(["-o", args.replace(" ", ",")] if args and not args.startswith("-") else (args.split() or None))
    return Response(200, {"Titles": titles, "Processes": rows})


@validated(query={"all": Q.bool(), "namesOrIDs": Q.str()})
@with_engine
def pods_stats(req: Request, eng) -> Response:
    from ..engine.podstats import pod_stats

    names = req.qnames("namesOrIDs")
    pods = [eng.pods.get(n) for n in names] if names else eng.pods.list()
    return Response(200, [row for pod in pods for row in pod_stats(pod)])


def register(router: Router) -> None:
    router.add("POST", "/libpod/pods/create", pod_create)
    router.add("GET", "/libpod/pods/json", pods_list)
    router.add("GET", "/libpod/pods/stats", pods_stats)
    router.add("POST", "/libpod/pods/prune", pods_prune)
    router.add("GET", "/libpod/pods/{name}/json", pod_inspect)
    router.add("GET", "/libpod/pods/{name}/exists", pod_exists)
    router.add("GET", "/libpod/pods/{name}/top", pod_top)
    router.add("DELETE", "/libpod/pods/{name}", pod_delete)
    for verb, handler in (("start", pod_start), ("stop", pod_stop), ("restart", pod_restart), ("kill", pod_kill),
                          ("pause", pod_pause), ("unpause", pod_unpause)):
        router.add("POST", f"/libpod/pods/{{name}}/{verb}", handler)

