"""The Docker Engine API over the engine (and the libpod routes that share its shapes).

Each request gets its own Engine: a SQLite connection must not be shared
between the threads that serve requests at once.
"""

from __future__ import annotations

import json
import os
import platform
import time

from .. import __version__
from ..engine.container import ContainerConfig, Status
from ..engine.inspect import status_word
from ..errors import AlreadyInState, InvalidArgument, InvalidState, NoSuchContainer, PypodError
from .common import EngineScope, engine_for, int_field, piped, strdict, strlist, with_engine
from .create_settings import DOCKER_CONFIG_FIELDS, DOCKER_HOST_FIELDS, apply_docker
from .http import DOCKER_API_VERSION, LIBPOD_API_VERSION, Hijacked, Request, Response, Router, Streamed
from .validate import (
    FILTERS, INT64_MAX, UINT64_MAX, Bool, Int, List, Map, Obj, Q, Str, StrOrList, Strs, validated,
)



# -- system ----------------------------------------------------------------------


def ping(req: Request) -> Response:
    return Response(200, "OK", "text/plain", {"Docker-Experimental": "false", "Cache-Control": "no-cache", "Pragma": "no-cache"})


def version_body() -> dict:
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    return {
        "Platform": {"Name": "pypod"},
        "Components": [{"Name": "Podman Engine", "Version": LIBPOD_API_VERSION, "Details": {"APIVersion": LIBPOD_API_VERSION}}],
        "Version": LIBPOD_API_VERSION, "ApiVersion": DOCKER_API_VERSION, "MinAPIVersion": "1.24",
        "GitCommit": "", "GoVersion": "python" + platform.python_version(), "Os": "linux", "Arch": arch,
        "KernelVersion": platform.release(), "BuildTime": "", "PypodVersion": __version__,
    }


def version(req: Request) -> Response:
    return Response(200, version_body())


@with_engine
def info(req: Request, eng) -> Response:
    i = eng.info()
    cs = i["store"]["containerStore"]
    return Response(200, {
        "ID": "pypod", "Containers": cs["number"], "ContainersRunning": cs["running"], "ContainersPaused": cs["paused"],
        "ContainersStopped": cs["stopped"], "Images": i["store"]["imageStore"]["number"], "Driver": "overlay",
        "DockerRootDir": eng.config.root, "OperatingSystem": "linux", "OSType": "linux", "Architecture": os.uname().machine,
        "KernelVersion": i["host"]["kernel"], "NCPU": i["host"]["cpus"], "MemTotal": i["host"]["memTotal"],
        "Name": i["host"]["hostname"], "ServerVersion": LIBPOD_API_VERSION, "CgroupDriver": "cgroupfs",
        "CgroupVersion": "2" if i["host"]["cgroupVersion"] == "v2" else "1", "LoggingDriver": "k8s-file",
        "DefaultRuntime": i["host"]["ociRuntime"]["name"], "Runtimes": {i["host"]["ociRuntime"]["name"]: {"path": i["host"]["ociRuntime"]["path"]}},
        "SecurityOptions": (["name=seccomp,profile=default"] if i["host"]["security"]["seccompEnabled"] else [])
                           + (["name=rootless"] if i["host"]["security"]["rootless"] else []), "Labels": [], "Plugins": {"Volume": ["local"], "Network": [], "Log": ["k8s-file", "none"]},
    })


@with_engine
def libpod_info(req: Request, eng) -> Response:
    """The version clients read here is the libpod API's they may use (as
    /libpod/version says): Cockpit's page offers rename, for one, only
    from podman 3 on.  pypod's own stays beside it."""
    info = eng.info()
    own = info["version"]["Version"]
    info["version"] = {**info["version"], "Version": LIBPOD_API_VERSION, "PypodVersion": own}
    return Response(200, info)


def libpod_version(req: Request) -> Response:
    body = version_body()
    body["Version"] = LIBPOD_API_VERSION
    body["APIVersion"] = LIBPOD_API_VERSION
    return Response(200, body)


# -- containers -----------------------------------------------------------------------


def _find(eng, ref: str):
    return eng.container(ref)


def container_summary(ctr) -> dict:
    cfg, st = ctr.config, ctr.state
    from ..engine.container import status_text

    return {
        "Id": ctr.id,
        "Names": [f"/{cfg.name}"],
        "Image": cfg.image or cfg.rootfs,
        "ImageID": f"sha256:{cfg.image_id}" if cfg.image_id else "",
        "Command": " ".join(cfg.args),
        "Created": int(cfg.created),
        "Ports": docker_ports(cfg),
        "Labels": cfg.labels,
        "State": status_word(st.status),
        "Status": status_text(st, time.time()) + _health_status(ctr),
        "HostConfig": {"NetworkMode": docker_network_mode(ctr)},
        "NetworkSettings": {"Networks": _summary_networks(ctr)},
        "Mounts": [{"Type": "bind", "Source": m.source, "Destination": m.destination, "RW": "ro" not in m.options} for m in cfg.mounts],
    }


def _health_status(ctr) -> str:
    """Docker's " (healthy)" after the status of a running container with a check."""
    from ..engine.listing import health_word

    word = health_word(ctr) if ctr.config.health.enabled else ""
    return f" ({word})" if word else ""


def docker_network_mode(ctr) -> str:
    """What Docker shows: the network the container was made on, else the mode."""
    cfg = ctr.config
    if cfg.network == "bridge":
        nets = [n for n in cfg.networking.networks if n != ctr.engine.config.network.default_network]
        return nets[0] if len(cfg.networking.networks) == 1 and nets else "bridge"
    return cfg.network


def docker_ports(cfg) -> list[dict]:
    from ..network.report import expand

    return [{"IP": hip or "0.0.0.0", "PrivatePort": c, "PublicPort": h, "Type": proto}
            for c, proto, hip, h in expand(cfg.networking.ports)]


def _summary_networks(ctr) -> dict:
    """Each network's endpoint; addresses only while the container runs."""
    from ..network import report

    if ctr.config.network != "bridge":
        return {}
    row = None
    if ctr.state.status in (Status.RUNNING, Status.PAUSED):
        from ..network.sandbox import live

        row = live(ctr.engine, ctr.id)
    status = row[2] if row else {}
    return {name: {**report.endpoint(status.get(name)), "NetworkID": name, "Aliases": [ctr.id[:12], *att.aliases]}
            for name, att in ctr.config.networking.networks.items()}


def container_inspect(ctr) -> dict:
    """Docker's shape: Name with a leading slash, image ids as sha256:…"""
    d = ctr.inspect()
    cfg = ctr.config
    d["Name"] = f"/{cfg.name}"
    d["Image"] = f"sha256:{cfg.image_id}" if cfg.image_id else ""
    d["Platform"] = "linux"
    d["Config"]["Entrypoint"] = cfg.entrypoint or None
    d["Config"]["Image"] = cfg.image
    d["State"]["Dead"] = False
    d["HostConfig"].setdefault("PortBindings", {})
    # Docker clients fetch a finished container's output only from the log
    # drivers they know; k8s-file answers the same requests json-file does.
    if cfg.log_driver == "k8s-file":
        d["HostConfig"]["LogConfig"] = {"Type": "json-file", "Config": {}}
    d["HostConfig"]["NetworkMode"] = docker_network_mode(ctr)
    bindings = d["HostConfig"]["PortBindings"]
    d["Config"]["ExposedPorts"] = {p: {} for p in bindings} or None
    d["HostConfig"]["PortBindings"] = {p: b for p, b in bindings.items() if b is not None}
    # Docker names the wildcard address where podman leaves it empty
    d["NetworkSettings"]["Ports"] = {p: [{**b, "HostIp": b["HostIp"] or "0.0.0.0"} for b in bs] if bs else bs
                                     for p, bs in d["NetworkSettings"]["Ports"].items()}
    return d


def _list_filters(req: Request) -> dict[str, list[str]]:
    raw = req.q("filters")
    if not raw:
        return {}
    try:
        f = json.loads(raw)
    except ValueError:
        raise InvalidArgument("invalid filters: not JSON") from None
    if not isinstance(f, dict):
        raise InvalidArgument("invalid filters: must be a JSON object")
    out = {}
    for k, v in f.items():
        if isinstance(v, dict):
            out[k] = [key for key, on in v.items() if on]
        elif isinstance(v, list):
            out[k] = [str(x) for x in v]
        else:
            raise InvalidArgument(f"invalid filter {k}")
    return out


@validated(query={"all": Q.bool(), "limit": Q.int(-1, INT64_MAX), "size": Q.bool(), "filters": Q.json(FILTERS)})
@with_engine
def containers_list(req: Request, eng) -> Response:
    show_all = req.qbool("all")
    limit = req.qint("limit", -1)
    filters = _list_filters(req)
    keep = None
    if filters:
        from ..engine.filters import container_predicate

        keep = container_predicate(eng, filters)
    out = []
    for ctr in eng.containers():
        if not show_all and ctr.state.status not in (Status.RUNNING, Status.PAUSED) and not filters:
            continue
        if keep is not None and not keep(ctr):
            continue
        out.append(container_summary(ctr))
    out.reverse()  # newest first, as Docker lists
    if limit is not None and limit > 0:
        out = out[:limit]
    return Response(200, out)



#: the Docker container create body, as far as pypod reads it
DOCKER_CREATE = Obj({
    "Image": Str(4096), "Cmd": StrOrList(), "Entrypoint": StrOrList(), "Env": Strs(),
    "WorkingDir": Str(4096), "User": Str(4096), "Hostname": Str(253), "Domainname": Str(253),
    "Tty": Bool(), "OpenStdin": Bool(), "StdinOnce": Bool(),
    "AttachStdin": Bool(), "AttachStdout": Bool(), "AttachStderr": Bool(),
    "Labels": Map(Str()), "StopSignal": Str(64), "StopTimeout": Int(0, INT64_MAX),
    "HostConfig": Obj({
        "Binds": Strs(), "AutoRemove": Bool(), "Privileged": Bool(), "ReadonlyRootfs": Bool(),
        "CapAdd": Strs(), "CapDrop": Strs(), "NetworkMode": Str(256),
        "Ulimits": List(Obj({"Name": Str(64), "Soft": Int(-1, INT64_MAX), "Hard": Int(-1, INT64_MAX)},
                            required=("Name", "Soft", "Hard"))),
        **DOCKER_HOST_FIELDS,
    }),
    **DOCKER_CONFIG_FIELDS,
}, required=("Image",))


def config_from_docker(body: dict, name: str) -> ContainerConfig:
    """Docker's container create body to pypod's ContainerConfig."""
    from ..proto.oci_spec import parse_ulimit
    from ..proto.signals import parse_signal

    hc = body.get("HostConfig")
    hc = {} if hc is None else hc
    if not isinstance(hc, dict):
        raise InvalidArgument("HostConfig must be an object")
    image = body.get("Image")
    if not isinstance(image, str) or not image:
        raise InvalidArgument("Image is required")
    cfg = ContainerConfig(image=image, name=name)
    cfg.command = strlist(body.get("Cmd"), "Cmd")
    if "Entrypoint" in body and body["Entrypoint"] is not None:
        cfg.entrypoint = strlist(body["Entrypoint"], "Entrypoint")
    cfg.env = strlist(body.get("Env"), "Env")
    for key, attr in (("WorkingDir", "workdir"), ("User", "user"), ("Hostname", "hostname")):
        v = body.get(key) or ""
        if not isinstance(v, str):
            raise InvalidArgument(f"{key} must be a string")
        setattr(cfg, attr, v)
    cfg.tty = bool(body.get("Tty"))
    cfg.stdin = bool(body.get("OpenStdin"))
    cfg.labels = strdict(body.get("Labels"), "Labels")
    if body.get("StopSignal"):
        cfg.stop_signal = parse_signal(str(body["StopSignal"]))
    if body.get("StopTimeout") is not None:
        cfg.stop_timeout = int_field(body["StopTimeout"], "StopTimeout")
    from ..specgen.volumes import parse_volume

    cfg.mounts = [parse_volume(b) for b in strlist(hc.get("Binds"), "HostConfig.Binds")]
    cfg.auto_remove = bool(hc.get("AutoRemove"))
    cfg.privileged = bool(hc.get("Privileged"))
    cfg.cap_add = strlist(hc.get("CapAdd"), "CapAdd")
    cfg.cap_drop = strlist(hc.get("CapDrop"), "CapDrop")
    cfg.read_only = bool(hc.get("ReadonlyRootfs"))
    from ..specgen.security import parse_security_opts

    cfg.security = parse_security_opts(strlist(hc.get("SecurityOpt"), "HostConfig.SecurityOpt"))
    from ..specgen.network import from_docker

    cfg.network, cfg.networking = from_docker(body, hc)
    for u in hc.get("Ulimits") or []:
        if not isinstance(u, dict):
            raise InvalidArgument("Ulimits entries must be objects")
        cfg.ulimits.append(parse_ulimit(f"{u.get('Name')}={u.get('Soft')}:{u.get('Hard')}"))
    apply_docker(cfg, body, hc)
    return cfg


@validated(query={"name": Q.str(253)}, body=DOCKER_CREATE)
@with_engine
def containers_create(req: Request, eng) -> Response:
    body = req.json()
    cfg = config_from_docker(body, req.q("name"))
    ctr = eng.create_container(cfg)
    return Response(201, {"Id": ctr.id, "Warnings": []})


@validated(query={"size": Q.bool()})
@with_engine
def container_inspect_route(req: Request, eng) -> Response:
    ctr = _find(eng, req.params["id"])
    ctr.sync_cheap(with_execs=True)
    return Response(200, container_inspect(ctr))


@validated(query={"detachKeys": Q.str(256)})
@with_engine
def container_start(req: Request, eng) -> Response:
    ctr = _find(eng, req.params["id"])
    try:
        ctr.start()
    except AlreadyInState:
        return Response(304)
    return Response(204)


@validated(query={"t": Q.int(0, UINT64_MAX), "timeout": Q.int(0, UINT64_MAX)})
@with_engine
def container_stop(req: Request, eng) -> Response:
    ctr = _find(eng, req.params["id"])
    try:
        ctr.stop(req.qint("t", req.qint("timeout")))
    except AlreadyInState:
        return Response(304)
    return Response(204)


@validated(query={"signal": Q.str(64)})
@with_engine
def container_kill(req: Request, eng) -> Response:
    from ..proto.signals import parse_signal

    ctr = _find(eng, req.params["id"])
    ctr.kill(parse_signal(req.q("signal", "KILL") or "KILL"))
    return Response(204)


@validated(query={"t": Q.int(0, UINT64_MAX)})
@with_engine
def container_restart(req: Request, eng) -> Response:
    _find(eng, req.params["id"]).restart(req.qint("t"))
    return Response(204)


@with_engine
def container_pause(req: Request, eng) -> Response:
    _find(eng, req.params["id"]).pause()
    return Response(204)


@with_engine
def container_unpause(req: Request, eng) -> Response:
    _find(eng, req.params["id"]).unpause()
    return Response(204)


@validated(query={"condition": Q.str(32), "interval": Q.str(64)})
@with_engine
def libpod_container_wait(req: Request, eng) -> Response:
    """libpod answers a bare exit code."""
    return Response(200, _find(eng, req.params["id"]).wait())


@validated(query={"condition": Q.str(32, ("not-running", "next-exit", "removed", "stopped", "exited"))})
def container_wait(req: Request) -> Response:
    """The headers go out at once, the body at exit: the docker CLI waits for
    them before it starts the container, so the wait cannot miss the exit."""
    condition = req.q("condition", "not-running")
    if condition not in ("not-running", "next-exit", "removed", "stopped", "exited"):
        raise InvalidArgument(f"invalid condition {condition!r}")
    eng = engine_for(req)
    try:
        ctr = _find(eng, req.params["id"])
    except BaseException:
        eng.close()
        raise

    def body():
        try:
            try:
                code = ctr.wait()
            except NoSuchContainer as e:  # removed (by another client) before its exit was read
                yield (json.dumps({"StatusCode": -1, "Error": {"Message": str(e)}}) + "\n").encode()
                return
            if condition == "removed":
                while True:
                    try:
                        eng.store.lookup_id(ctr.id)
                    except NoSuchContainer:
                        break
                    time.sleep(0.05)
            yield (json.dumps({"StatusCode": code, "Error": None}) + "\n").encode()
        finally:
            eng.close()

    return Streamed(body(), "application/json")


@validated(query={"force": Q.bool(), "v": Q.bool(), "link": Q.bool(), "t": Q.int(0, UINT64_MAX), "timeout": Q.int(0, UINT64_MAX)})
@with_engine
def container_delete(req: Request, eng) -> Response:
    ctr = _find(eng, req.params["id"])
    ctr.remove(force=req.qbool("force"), timeout=req.qint("t"), volumes=req.qbool("v"))
    return Response(204)


def _tail_ok(value: str) -> bool:
    v = value[1:] if value.startswith("-") else value
    return value in ("", "all") or (v.isdigit() and v.isascii() and len(v) <= 18)


@validated(query={"stdout": Q.bool(), "stderr": Q.bool(), "follow": Q.bool(), "timestamps": Q.bool(), "tail": Q.custom(_tail_ok, "all or a number of lines"), "since": Q.time(), "until": Q.time()})
def container_logs(req: Request) -> Response:
    eng = engine_for(req)
    try:
        ctr = _find(eng, req.params["id"])
        want_out, want_err = req.qbool("stdout"), req.qbool("stderr")
        if not (want_out or want_err):
            raise InvalidArgument("you must choose at least one stream")
        follow, ts = req.qbool("follow"), req.qbool("timestamps")
        tail = req.q("tail", "all")
        tail_n = -1 if tail in ("all", "") else int(tail) if tail.lstrip("-").isdigit() else None
        if tail_n is None:
            raise InvalidArgument(f"invalid tail value {tail!r}")
        since = req.q("since")
        # podman's remote client sends Go's zero time for "not set"
        since = "" if since in ("", "0") or since.startswith("0001-01-01") else since
        until = req.q("until")
        until = "" if until in ("", "0") or until.startswith("0001-01-01") else until
        server = req.handler.server
        records = ctr.logs(follow=follow, tail=tail_n, since=since, until=until,
                           stop=lambda: server.stopping or req.client_gone())
    except BaseException:
        eng.close()
        raise
    # Docker leaves a TTY's log unframed; libpod frames it all the same, and
    # podman's remote client reads it so.
    tty = ctr.config.tty and "/libpod/" not in req.path

    def chunks():
        from ..proto.docker_frames import encode_frame
        from ..proto.k8s_log import format_line

        try:
            for rec in records:
                if (rec[1] == "stdout" and not want_out) or (rec[1] == "stderr" and not want_err):
                    continue
                data = format_line(rec, ts)
                yield data if tty else encode_frame(1 if rec[1] == "stdout" else 2, data)
        except NoSuchContainer:
            return  # removed (rm, a prune) while its log was followed: the stream ends with it
        finally:
            eng.close()

    return Streamed(chunks(), "application/vnd.docker.raw-stream" if tty else "application/vnd.docker.multiplexed-stream")


@validated(query={"h": Q.int(0, 0xFFFF), "w": Q.int(0, 0xFFFF)})
@with_engine
def container_resize(req: Request, eng) -> Response:
    ctr = _find(eng, req.params["id"])
    ctr.resize(req.qint("h", 0), req.qint("w", 0))
    return Response(200, b"", "text/plain")


@validated(query={"ps_args": Q.str(1024)})
@with_engine
def container_top(req: Request, eng) -> Response:
    args = req.q("ps_args")
    titles, rows = _find(eng, req.params["id"]).top(["-o", args.replace(" ", ",")] if args and not args.startswith("-") else (args.split() or None))
    return Response(200, {"Titles": titles, "Processes": rows})


@validated(query={"stdin": Q.bool(), "stdout": Q.bool(), "stderr": Q.bool(), "logs": Q.bool(), "stream": Q.bool(), "detachKeys": Q.str(256)})
def container_attach(req: Request) -> Response:
    from ..engine.attach import connect_attach
    from .stream import HTTPStreams, pump

    with EngineScope(req) as eng:
        ctr = _find(eng, req.params["id"])
        want_in, want_out, want_err = req.qbool("stdin"), req.qbool("stdout"), req.qbool("stderr")
        logs, stream = req.qbool("logs"), req.qbool("stream", True)
        detach_keys = req.query.get("detachKeys")
        if detach_keys:
            from ..proto.detach_keys import parse_detach_keys

            parse_detach_keys(detach_keys)
        sock = None
        with ctr.locked():
            ctr.sync()
            if stream and ctr.state.status in (Status.CONFIGURED, Status.STOPPED, Status.EXITED):
                # Docker clients attach before they start: create it in the
                # runtime now, so its attach socket exists; start runs it.
                ctr._prepare_for_init()
                ctr._init()
            if stream and ctr.state.status not in (Status.RUNNING, Status.CREATED):
                raise InvalidState("can only attach to created or running containers: container state improper")
            if stream:
                sock = connect_attach(eng.runtime.attach_socket_path(ctr))
        tty = ctr.config.tty
        try:
            conn = req.hijack("application/vnd.docker.raw-stream" if tty else "application/vnd.docker.multiplexed-stream", tty)
            if logs:
                from ..proto.docker_frames import encode_frame

                for rec in ctr.logs():
                    if (rec[1] == "stdout" and want_out) or (rec[1] == "stderr" and want_err):
                        conn.sendall(rec[2] if tty else encode_frame(1 if rec[1] == "stdout" else 2, rec[2]))
        except BaseException:
            if sock is not None:
                sock.close()
            raise
        if sock is not None:
            streams = HTTPStreams(conn, req.handler.rfile, stdin=want_in, stdout=want_out, stderr=want_err,
                                  tty=tty, detach_keys=detach_keys)
            pump(sock, streams, stdin_open=ctr.config.stdin)
    return Hijacked()


# -- exec ------------------------------------------------------------------------------


CONSOLE_SIZE = List(Int(0, 0xFFFF), exact=2)
EXEC_CREATE = Obj({
    "AttachStdin": Bool(), "AttachStdout": Bool(), "AttachStderr": Bool(), "Tty": Bool(), "Privileged": Bool(),
    "DetachKeys": Str(256), "Env": Strs(), "Cmd": StrOrList(), "User": Str(4096), "WorkingDir": Str(4096),
    "ConsoleSize": CONSOLE_SIZE,
})
EXEC_START = Obj({"Detach": Bool(), "Tty": Bool(), "ConsoleSize": CONSOLE_SIZE, "h": Int(0, 0xFFFF), "w": Int(0, 0xFFFF)})


@validated(body=EXEC_CREATE)
@with_engine
def exec_create(req: Request, eng) -> Response:
    from ..engine.execs import ExecConfig

    body = req.json()
    ctr = _find(eng, req.params["id"])
    env = {}
    for item in strlist(body.get("Env"), "Env"):
        k, _, v = item.partition("=")
        env[k] = v
    cfg = ExecConfig(
        command=strlist(body.get("Cmd"), "Cmd"),
        terminal=bool(body.get("Tty")),
        attach_stdin=bool(body.get("AttachStdin")),
        attach_stdout=bool(body.get("AttachStdout", True)),
        attach_stderr=bool(body.get("AttachStderr", True)),
        detach_keys=body.get("DetachKeys") or None,
        environment=env,
        privileged=bool(body.get("Privileged")),
        user=str(body.get("User") or ""),
        workdir=str(body.get("WorkingDir") or ""),
    )
    sess = ctr.exec_create(cfg)
    return Response(201, {"Id": sess.id})


def _console_size(body: dict) -> tuple[int, int] | None:
    """Docker sends ConsoleSize [h, w]; libpod h and w."""
    size = body.get("ConsoleSize")
    if isinstance(size, list) and len(size) == 2 and all(isinstance(x, int) and 0 < x <= 0xFFFF for x in size):
        return size[0], size[1]
    h, w = body.get("h"), body.get("w")
    if isinstance(h, int) and isinstance(w, int) and 0 < h <= 0xFFFF and 0 < w <= 0xFFFF:
        return h, w
    return None


@validated(body=EXEC_START, body_optional=True)
def exec_start(req: Request) -> Response:
    """Seed 003's ExecHTTPStartAndAttach: answer what can be an HTTP error
    first, then hijack, start, pump; later errors go onto the stream."""
    from ..engine import execs
    from .stream import HTTPStreams, can_pipe, exec_start_attached, exec_start_piped

    with EngineScope(req) as eng:
        sess = execs.lookup(eng, req.params["id"])
        body = req.json(default={})
        ctr = sess.container
        with ctr.locked():
            ctr.sync()
            if ctr.state.status != Status.RUNNING:
                raise InvalidState("can only start exec sessions when their container is running: container state improper")
            sess.reload()
            if sess.state.status != execs.ExecStatus.CREATED:
                raise InvalidState(f"exec session {sess.id} is in state {sess.state.status.value}, "
                                   "only created sessions can be started: exec session state improper")
        if body.get("Detach"):
            sess.start_detached()
            return Response(200, b"", "application/json")
        # Docker frames by the start's Tty; libpod by the session's own
        # (Cockpit's console starts a TTY session with "Tty": false)
        if body.get("Tty") is not None and "/libpod/" not in req.path:
            sess.config.terminal = bool(body["Tty"])
        tty = sess.config.terminal
        conn = req.hijack("application/vnd.docker.raw-stream" if tty else "application/vnd.docker.multiplexed-stream", tty)
        streams = HTTPStreams(conn, req.handler.rfile, stdin=sess.config.attach_stdin, stdout=sess.config.attach_stdout,
                              stderr=sess.config.attach_stderr, tty=tty, detach_keys=sess.config.detach_keys)
        pending = req.handler.server.pending_sizes
        if _console_size(body):
            pending.setdefault(sess.id, _console_size(body))
        try:
            if can_pipe(sess, streams):
                exec_start_piped(sess, streams)
            else:
                exec_start_attached(sess, streams, lambda: pending.pop(sess.id, None))
        finally:
            pending.pop(sess.id, None)
    return Hijacked()


@validated(query={"h": Q.int(0, 0xFFFF), "w": Q.int(0, 0xFFFF)})
@with_engine
def exec_resize(req: Request, eng) -> Response:
    """A resize that arrives while the session is still starting (the docker
    CLI sends it right after the hijack) is kept for the start to apply."""
    from ..engine import execs

    h, w = req.qint("h", 0), req.qint("w", 0)
    if h < 0 or w < 0 or h > 0xFFFF or w > 0xFFFF:
        raise InvalidArgument(f"invalid terminal size {h}x{w}")
    sess = execs.lookup(eng, req.params["id"])
    try:
        sess.resize(h, w)
    except InvalidState:
        if sess.state.status != execs.ExecStatus.CREATED:
            raise
        pending = req.handler.server.pending_sizes
        if len(pending) > 1024:  # sizes for sessions never started: bounded, not kept forever
            pending.clear()
        pending[sess.id] = (h, w)
        sess.reload()
        if sess.state.status == execs.ExecStatus.RUNNING:  # it started meanwhile
            req.handler.server.pending_sizes.pop(sess.id, None)
            sess.resize(h, w)
    return Response(201, b"", "text/plain")


@with_engine
def exec_inspect(req: Request, eng) -> Response:
    from ..engine import execs

    sess = execs.lookup(eng, req.params["id"])
    with sess.container.locked():
        try:
            sess.container.sync()
        except PypodError:
            pass
        execs.reap(sess.container)
    sess.reload()
    return Response(200, sess.inspect())


# -- images ---------------------------------------------------------------------------------


def image_summary(img) -> dict:
    from ..proto.humanize import parse_rfc3339

    return {"Id": f"sha256:{img.id}", "ParentId": "", "RepoTags": img.names or ["<none>:<none>"], "RepoDigests": [],
            "Created": int(parse_rfc3339(img.created)), "Size": img.size, "SharedSize": -1, "VirtualSize": img.size,
            "Labels": img.config.get("Labels") or {}, "Containers": -1, "Names": img.names, "Digest": img.digest}


@validated(query={"all": Q.bool(), "digests": Q.bool(), "filters": Q.json(FILTERS)})
@with_engine
def images_list(req: Request, eng) -> Response:
    return Response(200, [image_summary(i) for i in eng.images.list()])


@with_engine
def image_inspect(req: Request, eng) -> Response:
    img = eng.images.lookup(req.params["name"])
    d = eng.images.inspect_dict(img)
    d["Id"] = f"sha256:{img.id}"
    d["ContainerConfig"] = d["Config"]
    return Response(200, d)


def remove_image(eng, ref: str, force: bool) -> list[str]:
    """rmi as Docker and podman do it: one name of several is only untagged,
    whatever containers use the image (Engine.remove_image checks the
    image's containers first, and would refuse)."""
    img = eng.images.lookup(ref)
    if len(img.names) > 1:
        _iid, by_name = eng.images._resolve(ref)
        if by_name:
            lines = eng.images.remove(ref)
            eng.events.write("image", "untag", img.id, ref)
            return lines
    return eng.remove_image(ref, force=force)


@validated(query={"force": Q.bool(), "noprune": Q.bool()})
@with_engine
def image_delete(req: Request, eng) -> Response:
    lines = remove_image(eng, req.params["name"], req.qbool("force"))
    out = []
    for line in lines:
        kind, _, what = line.partition(": ")
        out.append({kind: what})
    return Response(200, out)


@validated(query={"repo": Q.str(1024), "tag": Q.str(128)})
@with_engine
def image_tag(req: Request, eng) -> Response:
    repo = req.q("repo")
    if not repo:
        raise InvalidArgument("repo is required")
    tag = req.q("tag") or "latest"
    eng.images.tag(req.params["name"], f"{repo}:{tag}")
    return Response(201, b"", "text/plain")


@validated(query={"quiet": Q.bool()})
@with_engine
def images_load(req: Request, eng) -> Response:
    names = eng.images.load(req.body_stream())
    return Response(200, {"stream": "".join(f"Loaded image: {n}\n" for n in names)})


@validated(query={"reference": Q.str(1024)})
@with_engine
def libpod_images_load(req: Request, eng) -> Response:
    return Response(200, {"Names": eng.images.load(req.body_stream())})


@validated(query={"names": Q.str(65536)})
def images_get(req: Request) -> Response:
    names = [req.params["name"]] if "name" in req.params else req.qnames("names")
    if not names:
        raise InvalidArgument("no image names given")
    with EngineScope(req) as eng:
        for n in names:
            eng.images.lookup(n)
    return piped(req, lambda eng, out: eng.images.save(names, out))


@validated(query={"fromImage": Q.str(1024), "fromSrc": Q.str(4096), "repo": Q.str(1024), "tag": Q.str(128), "message": Q.str(4096), "platform": Q.str(256)})
def images_create(req: Request) -> Response:
    """fromSrc=-: import the body; fromImage: pull (registry_routes.py)."""
    if req.q("fromSrc") == "-":
        with EngineScope(req) as eng:
            img = eng.images.import_tarball(req.body_stream(), req.q("repo") or None)
        return Response(200, {"status": f"sha256:{img.id}"})
    if not req.q("fromImage"):
        raise InvalidArgument("fromImage or fromSrc is required")
    from .registry_routes import docker_pull

    return docker_pull(req)


# -- system -------------------------------------------------------------------------------------


@validated(query={"since": Q.time(), "until": Q.time(), "filters": Q.json(FILTERS), "stream": Q.bool()})
def events(req: Request) -> Response:
    return stream_events(req, docker_event)


def stream_events(req: Request, convert) -> Streamed:
    """The event log as JSON lines, each made by convert: with stream (the
    default) and no since, only what happens from now on, as Docker does."""
    from ..proto.k8s_log import parse_time

    since = req.q("since")
    until = req.q("until")
    since_ns = parse_time(since) if since else 0
    until_ns = parse_time(until, since=False) if until else 0
    filters = _list_filters(req)
    stream = req.qbool("stream", True)
    eng = engine_for(req)
    server = req.handler.server
    follow = stream and not until_ns
    if follow and not since:
        since_ns = time.time_ns()  # Docker's default: only what happens from now on

    def chunks():
        try:
            for ev in eng.events.read(since_ns=since_ns, until_ns=until_ns, follow=follow,
                                      stop=lambda: server.stopping or req.client_gone()):
                if filters and not _event_matches(ev, filters):
                    continue
                yield (json.dumps(convert(ev)) + "\n").encode()
        finally:
            eng.close()

    return Streamed(chunks(), "application/json")


def docker_event(ev: dict) -> dict:
    t = ev.get("time", 0)
    attrs = {"name": ev.get("name", ""), "image": ev.get("image", ""), **ev.get("attributes", {})}
    return {"Type": ev.get("type"), "Action": ev.get("action"), "status": ev.get("action"), "id": ev.get("id"),
            "from": ev.get("image", ""), "Actor": {"ID": ev.get("id"), "Attributes": attrs},
            "scope": "local", "time": t // 1_000_000_000, "timeNano": t}


def _event_matches(ev: dict, filters: dict[str, list[str]]) -> bool:
    for key, values in filters.items():
        if key == "type" and ev.get("type") not in values:
            return False
        if key in ("event", "action") and ev.get("action") not in values:
            return False
        if key == "container" and not any(v in (ev.get("id"), ev.get("name")) or ev.get("id", "").startswith(v) for v in values):
            return False
    return True


@with_engine
def system_df(req: Request, eng) -> Response:
    imgs = eng.images.list()
    ctrs = eng.containers()
    return Response(200, {"LayersSize": sum(i.size for i in imgs), "Images": [image_summary(i) for i in imgs],
                          "Containers": [container_summary(c) for c in ctrs], "Volumes": [], "BuildCache": []})


def register(router: Router) -> None:
    for prefix in ("", "/libpod"):
        router.add("GET", f"{prefix}/_ping", ping)
        router.add("GET", f"{prefix}/containers/json", containers_list)
        router.add("GET", f"{prefix}/containers/{{id}}/json", container_inspect_route)
        router.add("POST", f"{prefix}/containers/{{id}}/start", container_start)
        router.add("POST", f"{prefix}/containers/{{id}}/stop", container_stop)
        router.add("POST", f"{prefix}/containers/{{id}}/kill", container_kill)
        router.add("POST", f"{prefix}/containers/{{id}}/restart", container_restart)
        router.add("POST", f"{prefix}/containers/{{id}}/pause", container_pause)
        router.add("POST", f"{prefix}/containers/{{id}}/unpause", container_unpause)
        router.add("POST", f"{prefix}/containers/{{id}}/wait", container_wait)
        router.add("DELETE", f"{prefix}/containers/{{id}}", container_delete)
        router.add("GET", f"{prefix}/containers/{{id}}/logs", container_logs)
        router.add("POST", f"{prefix}/containers/{{id}}/attach", container_attach)
        router.add("POST", f"{prefix}/containers/{{id}}/resize", container_resize)
        router.add("GET", f"{prefix}/containers/{{id}}/top", container_top)
        router.add("POST", f"{prefix}/containers/{{id}}/exec", exec_create)
        router.add("POST", f"{prefix}/exec/{{id}}/start", exec_start)
        router.add("POST", f"{prefix}/exec/{{id}}/resize", exec_resize)
        router.add("GET", f"{prefix}/exec/{{id}}/json", exec_inspect)
        router.add("GET", f"{prefix}/images/json", images_list)
        router.add("GET", f"{prefix}/images/{{name*}}/json", image_inspect)
        router.add("DELETE", f"{prefix}/images/{{name*}}", image_delete)
        router.add("POST", f"{prefix}/images/{{name*}}/tag", image_tag)
        router.add("GET", f"{prefix}/images/{{name*}}/get", images_get)
    router.add("GET", "/events", events)  # libpod's own shapes: libpod_system.py
    router.add("GET", "/system/df", system_df)
    router.add("GET", "/version", version)
    router.add("GET", "/info", info)
    router.add("POST", "/containers/create", containers_create)
    router.add("POST", "/images/load", images_load)
    router.add("GET", "/images/get", images_get)
    router.add("POST", "/images/create", images_create)
    router.add("GET", "/libpod/info", libpod_info)
    router.add("GET", "/libpod/version", libpod_version)
    router.add("POST", "/libpod/images/load", libpod_images_load)
    from . import libpod

    libpod.register(router)
