"""Build routes of both APIs: Docker's POST /build and /build/prune, and
libpod's POST /libpod/build (podman-py, `podman --remote build`).

The body is the context as a tar (plain or compressed).  It is unpacked,
and the Containerfile found and parsed, before the answer starts, so bad
input is an HTTP 400 every client shows; the build then runs in a worker
thread, and its progress lines and RUN output stream as Docker's JSON
lines: {"stream": ...}, {"aux": {"ID": ...}} and {"error": ...}.  The last
stream line is the image ID (what podman's clients look for), and the
Docker route adds "Successfully built" (what docker-py looks for).
"""

from __future__ import annotations

import json
import os
import queue
import threading

from ..errors import InvalidArgument, PypodError
from .common import EngineScope
from .http import Request, Response, Streamed
from .validate import Q, validated

_QUERY = {
    "t": Q.str(), "dockerfile": Q.str(), "buildargs": Q.str(), "labels": Q.str(), "target": Q.str(),
    "nocache": Q.bool(), "q": Q.bool(), "rm": Q.bool(), "forcerm": Q.bool(), "squash": Q.bool(),
    "layers": Q.bool(), "networkmode": Q.str(), "platform": Q.str(), "outputformat": Q.str(),
    "pullpolicy": Q.str(), "extrahosts": Q.str(), "tlsVerify": Q.bool(),
}


def _json_map(req: Request, name: str) -> dict[str, str]:
    raw = req.q(name)
    if not raw:
        return {}
    try:
        doc = json.loads(raw)
    except ValueError:
        raise InvalidArgument(f"{name}: not a JSON object") from None
    if not isinstance(doc, dict):
        raise InvalidArgument(f"{name}: not a JSON object")
    return {str(k): "" if v is None else str(v) for k, v in doc.items()}


def _pull_policy(req: Request, libpod: bool) -> str:
    if libpod and req.q("pullpolicy"):
        return req.q("pullpolicy").lower().replace("pullifmissing", "missing").replace("pullalways", "always") \
            .replace("pullnever", "never").replace("pullifnewer", "newer")
    raw = req.q("pull")
    if raw.lower() in ("1", "true", "yes"):
        return "always" if not libpod else "newer"
    return "missing"


def _containerfile_name(req: Request) -> str:
    raw = req.q("dockerfile")
    if raw.startswith("["):
        try:
            names = json.loads(raw)
        except ValueError:
            raise InvalidArgument("dockerfile: not a JSON list of paths") from None
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise InvalidArgument("dockerfile: not a JSON list of paths")
        if len(names) > 1:
            raise InvalidArgument("more than one Containerfile: pypod builds from one")
        raw = names[0] if names else ""
    return raw


def _options(req: Request, libpod: bool):
    from ..build.executor import BuildOptions

    tags = [t for t in req.qlist("t") if t]
    fmt = req.q("outputformat")
    network = req.q("networkmode")
    return BuildOptions(
        filename=_containerfile_name(req) or "Containerfile",
        tags=tags, build_args=_json_map(req, "buildargs"), target=req.q("target"),
        no_cache=req.qbool("nocache"), layers=req.qbool("layers", True) if libpod else True,
        squash=req.qbool("squash"), labels=_json_map(req, "labels"),
        format="docker" if "docker" in fmt else "oci", quiet=req.qbool("q"),
        pull=_pull_policy(req, libpod), network=_network(network),
        platform=req.q("platform"), add_hosts=_hosts(req),
        registry={"tls_verify": req.qbool("tlsVerify", True)} if req.q("tlsVerify") else {},
    )


def _network(mode: str) -> str:
    """Docker's networkmode (default, bridge, none, host, a network), or
    podman's client's number (buildah's policy: 1 disabled, 0 and 2 the default)."""
    if mode.isdigit():
        return "none" if mode == "1" else ""
    return "" if mode in ("default", "bridge") else mode


def _hosts(req: Request) -> list[str]:
    """extrahosts: Docker's "host:ip" list (one string, comma-separated), libpod's JSON list."""
    raw = req.q("extrahosts")
    if not raw:
        return []
    if raw.startswith("["):
        try:
            hosts = json.loads(raw)
        except ValueError:
            raise InvalidArgument("extrahosts: not a JSON list") from None
        if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
            raise InvalidArgument("extrahosts: not a JSON list of strings")
        return hosts
    return [h for h in raw.split(",") if h]


def _line(obj: dict) -> bytes:
    return (json.dumps(obj) + "\n").encode()


def _error(e: BaseException) -> bytes:
    msg = str(e) if isinstance(e, PypodError) else f"{type(e).__name__}: {e}"
    return _line({"errorDetail": {"message": msg}, "error": msg})


def _build(req: Request, libpod: bool) -> Response:
    from ..build.executor import begin_build

    opts = _options(req, libpod)
    scope = EngineScope(req)
    eng = scope.engine
    try:
        body = req.body_stream()
        run = begin_build(eng, opts, context_stream=body)
        while body.read(1 << 16):  # what follows the tar's end (padding): the next request must not see it
            pass
    except BaseException:
        scope.__exit__(None, None, None)
        raise
    q: queue.Queue = queue.Queue()
    r, w = os.pipe()
    os.set_blocking(r, False)
    order = threading.Lock()

    def drain() -> None:
        while True:
            try:
                data = os.read(r, 1 << 16)
            except BlockingIOError:
                return
            if not data:
                return
            q.put(("stream", data.decode("utf-8", "replace")))

    def report(text: str) -> None:
        with order:
            drain()  # RUN output written before this line goes out before it
            q.put(("stream", text + "\n"))

    def pump() -> None:
        import select

        while True:
            try:
                ready, _, _ = select.select([r], [], [], 0.2)
            except (OSError, ValueError):
                return
            with order:
                if ready:
                    drain()
            if done.is_set():
                os.close(r)
                return

    done = threading.Event()

    def work() -> None:
        try:
            img = run.build(report=report, run_output=w)
            with order:
                drain()
            q.put(("done", img))
        except BaseException as e:  # the client sees it as the stream's error
            with order:
                drain()
            q.put(("error", e))
        finally:
            done.set()
            run.close()
            os.close(w)
            scope.__exit__(None, None, None)

    threading.Thread(target=pump, daemon=True, name="build-output").start()
    threading.Thread(target=work, daemon=True, name="build").start()

    def chunks():
        while True:
            kind, value = q.get()
            if kind == "stream":
                if not opts.quiet:
                    yield _line({"stream": value})
            elif kind == "error":
                yield _error(value)
                return
            else:
                if opts.quiet:
                    # Docker's quiet answer is the ID alone (its CLI prints it; docker-py reads it);
                    # podman's clients take the bare ID
                    yield _line({"stream": f"{'' if libpod else 'sha256:'}{value.id}\n"})
                elif not libpod:  # podman's clients take any line but stream and error for garbage
                    yield _line({"aux": {"ID": f"sha256:{value.id}"}})
                    yield _line({"stream": f"Successfully built {value.id[:12]}\n"})
                return

    return Streamed(chunks(), "application/json")


@validated(query=_QUERY)
def docker_build(req: Request) -> Response:
    return _build(req, libpod=False)


@validated(query=_QUERY)
def libpod_build(req: Request) -> Response:
    return _build(req, libpod=True)


def build_prune(req: Request) -> Response:
    from ..build.cache import LayerCache

    with EngineScope(req) as eng:
        gone = LayerCache(eng.images).prune()
    return Response(200, {"CachesDeleted": gone, "SpaceReclaimed": 0})


def register(router) -> None:
    router.add("POST", "/build", docker_build)
    router.add("POST", "/libpod/build", libpod_build)
    router.add("POST", "/build/prune", build_prune)
    router.add("POST", "/libpod/build/prune", build_prune)
