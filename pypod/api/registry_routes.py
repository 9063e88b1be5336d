"""Registry routes of both APIs: pull, push, login, search, distribution.

Docker: POST /images/create?fromImage= (Docker's JSON progress stream),
POST /images/{name}/push, POST /auth, GET /images/search,
GET /distribution/{name}/json.  libpod: POST /libpod/images/pull (its
report stream), POST /libpod/images/{name}/push, GET /libpod/images/search.

A pull or push runs in a worker thread; the response waits for its first
step to succeed (the registry reached, the manifest found), so what fails
early is an HTTP error with the right status (404, 401, 500) that every
client understands, and only what fails later is an error in the stream.
"""

from __future__ import annotations

import base64
import json
import queue
import threading

from ..errors import InvalidArgument, PypodError
from .common import EngineScope, with_engine
from .http import Request, Response, Router, Streamed
from .validate import FILTERS, INT64_MAX, Obj, Q, Str, validated

#: what every registry route may carry: TLS verification, and (libpod) credentials
_REGISTRY_QUERY = {"tlsVerify": Q.bool(), "username": Q.str(), "password": Q.str()}

# -- credentials from the request ---------------------------------------------------------------


def registry_auth(req: Request, registry: str = ""):
    """X-Registry-Auth: base64url JSON, Docker's {"username", "password",
    "identitytoken"} or podman's map of registry -> those (its remote client
    sends every login of its auth file); the map's entry for `registry`."""
    from ..registry.auth import Credentials

    raw = req.headers.get("X-Registry-Auth", "").strip()
    if not raw:
        return None
    try:
        doc = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, UnicodeDecodeError):
        raise InvalidArgument("invalid X-Registry-Auth header: not base64url-encoded JSON") from None
    if not isinstance(doc, dict):
        return None
    if doc and all(isinstance(v, dict) for v in doc.values()):
        doc = _auth_for(doc, registry)
    user, password, token = doc.get("username") or "", doc.get("password") or "", doc.get("identitytoken") or ""
    if token:
        return Credentials("<token>", "", str(token))
    if user:
        return Credentials(str(user), str(password))
    return None


def _auth_for(by_registry: dict, registry: str) -> dict:
    """The entry of a registry -> credentials map for one registry (keys
    may be "host", "host/repo" or URLs, as auth files hold them)."""
    if not registry:
        return {}
    from ..registry.operations import login_key

    for key, value in by_registry.items():
        try:
            if login_key(key).split("/", 1)[0] == registry:
                return value
        except InvalidArgument:
            continue
    return {}


def _args(req: Request, tls_param: str = "tlsVerify", host: str = "", registry: str = ""):
    """The request's registry options.  Docker's routes pass the registry
    host: as Docker's daemon does, a loopback registry (127.0.0.0/8,
    localhost, ::1) may be plain HTTP without being told.  registry (else
    host) picks the credentials from a map of them."""
    from ..registry.auth import Credentials
    from ..registry.operations import RegistryArgs

    tls = req.qbool(tls_param, True) if req.q(tls_param) else None
    if tls is None and host and _loopback(host):
        tls = False
    creds = registry_auth(req, registry or host)
    if creds is None and req.q("username"):  # libpod's pull also takes them as parameters
        creds = Credentials(req.q("username"), req.q("password"))
    return RegistryArgs(tls_verify=tls, creds=creds)


def _domain_of(ref: str) -> str:
    """The registry a reference names ("" for a short name or a bad one:
    the operation itself reports that)."""
    from ..registry.reference import parse

    try:
        return parse(ref).domain
    except InvalidArgument:
        return ""


def _loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.strip("[]")
    return name == "localhost" or name == "::1" or name.startswith("127.")


# -- running an operation beside its stream -----------------------------------------------------


def _streamed(req: Request, op, render, render_error, go_kinds=("signatures",)) -> Response:
    """Run op(engine, progress) in a thread.  Answer when it has got past
    its first step (an event of go_kinds) or ended: its early error is the
    HTTP answer; after that, render(kind, value) -> bytes makes the stream
    ("event", Event) ... ("done", result), or render_error(exception)."""
    _drain(req)
    q: queue.Queue = queue.Queue()

    def work() -> None:
        with EngineScope(req) as eng:
            try:
                q.put(("done", op(eng, lambda ev: q.put(("event", ev)))))
            except BaseException as e:  # reported to the client, whichever way
                q.put(("error", e))

    threading.Thread(target=work, daemon=True, name="registry-op").start()
    head = []
    while True:
        kind, value = q.get()
        if kind == "error":
            raise value if isinstance(value, PypodError) else PypodError(f"{type(value).__name__}: {value}")
        head.append((kind, value))
        if kind == "done" or value.kind in go_kinds:
            break

    def chunks():
        items = list(head)
        while True:
            if items:
                kind, value = items.pop(0)
            else:
                kind, value = q.get()
            if kind == "error":
                yield render_error(value)
                return
            data = render(kind, value)
            if data:
                yield data
            if kind == "done":
                return

    return Streamed(chunks(), "application/json")


def _drain(req: Request) -> None:
    """A body these routes do not read (docker-py sends "{}" with a push)
    must not be left to be taken for the next request on the connection."""
    body = req.body_stream()
    while body.read(1 << 16):
        pass


def _line(obj: dict) -> bytes:
    return (json.dumps(obj) + "\r\n").encode()


def _docker_error(e: BaseException) -> bytes:
    msg = str(e) if isinstance(e, PypodError) else f"{type(e).__name__}: {e}"
    return _line({"errorDetail": {"message": msg}, "error": msg})


def _bar(current: int, total: int) -> str:
    from ..proto.humanize import human_size

    width = 50
    fill = int(width * current / total) if total else 0
    bar = "=" * max(0, fill - 1) + (">" if fill else "") + " " * (width - max(fill, 1 if fill else 0))
    return f"[{bar[:width]}] {human_size(current)}/{human_size(total)}"


def _short(digest: str) -> str:
    return digest.split(":", 1)[-1][:12]


# -- Docker: pull ------------------------------------------------------------------------------------


def _docker_pull_ref(req: Request) -> tuple[str, bool]:
    """(reference, all tags): with no tag anywhere, Docker pulls every tag
    of the repository (its CLI sends tag=latest for a plain `docker pull`)."""
    from ..registry.reference import parse

    image = req.q("fromImage")
    tag = req.q("tag")
    if tag:
        sep = "@" if tag.startswith("sha256:") else ":"
        last = image.rsplit("/", 1)[-1]
        if "@" in image or ":" in last:
            raise InvalidArgument(f"invalid reference: both fromImage {image!r} and tag {tag!r} name a version")
        image = f"{image}{sep}{tag}"
    # A short name is resolved as the CLI resolves it (registries.conf: aliases, search registries).
    ref = parse(image)
    if not ref.tag and not ref.digest:
        return str(ref), True
    return str(ref), False


def docker_pull(req: Request) -> Response:
    from ..registry import operations as ops

    ref, all_tags = _docker_pull_ref(req)
    args = _args(req, "tlsVerify", ref.split("/", 1)[0])
    platform = ops.platform_arg(req.q("platform")) if req.q("platform") else None
    state = {"downloaded": False, "progress": {}}

    def op(eng, progress):
        from ..errors import NoSuchImage, RegistryError, RegistryUnauthorized
        from ..registry.shortnames import ShortNameError

        try:
            return ops.pull(eng, ref, progress, args=args, platform=platform, all_tags=all_tags)
        except ShortNameError as e:
            # Docker's clients read a 404 as "no such image" (docker-py's run gives up then).
            raise NoSuchImage(f"{ref}: {e}") from None
        except RegistryUnauthorized as e:
            # A 401 from this API means "the daemon wants a login": the docker CLI
            # would prompt for one; Docker's daemon answers a registry's refusal with 500.
            raise RegistryError(str(e)) from None

    def render(kind, v) -> bytes:
        if kind == "done":
            status = (f"Status: Downloaded newer image for {ref}" if state["downloaded"]
                      else f"Status: Image is up to date for {ref}")
            return b"".join(_line({"status": f"Digest: {img.digest}"}) for img in v) + _line({"status": status})
        ev = v
        if ev.kind == "trying":
            from ..registry.reference import parse

            r = parse(ev.text)
            return _line({"status": f"Pulling from {r.path}", "id": r.tag or r.digest})
        if ev.kind != "blob":
            return b""
        sid = _short(ev.digest)
        if ev.state == "exists":
            return _line({"status": "Already exists", "progressDetail": {}, "id": sid})
        if ev.state == "start":
            state["downloaded"] = True
            return _line({"status": "Pulling fs layer", "progressDetail": {}, "id": sid})
        if ev.state == "progress":
            # at most one line per MiB per layer: a progress stream, not a flood
            step = ev.current >> 20
            if state["progress"].get(sid) == step and ev.current != ev.total:
                return b""
            state["progress"][sid] = step
            return _line({"status": "Downloading", "progressDetail": {"current": ev.current, "total": ev.total},
                          "progress": _bar(ev.current, ev.total), "id": sid})
        if ev.state == "done":
            return (_line({"status": "Download complete", "progressDetail": {}, "id": sid})
                    + _line({"status": "Pull complete", "progressDetail": {}, "id": sid}))
        return b""

    return _streamed(req, op, render, _docker_error)


# -- Docker: push ------------------------------------------------------------------------------------


def _push_render(state: dict):
    def render(kind, v) -> bytes:
        if kind == "done":
            return b""
        ev = v
        if ev.kind == "signatures":
            if state.get("said"):
                return b""  # once for the repository, whatever the number of tags
            state["said"] = True
            return _line({"status": f"The push refers to repository [{state['repo']}]"})
        if ev.kind == "pushed":
            from ..registry.reference import parse

            tag = parse(ev.text).tag or "latest"
            return (_line({"status": f"{tag}: digest: {ev.digest} size: {ev.current}"})
                    + _line({"progressDetail": {}, "aux": {"Tag": tag, "Digest": ev.digest, "Size": ev.current}}))
        if ev.kind != "blob":
            return b""
        sid = _short(ev.digest)
        if ev.state == "exists":
            return _line({"status": "Layer already exists", "progressDetail": {}, "id": sid})
        if ev.state == "mounted":
            return _line({"status": f"Mounted from {ev.text}", "progressDetail": {}, "id": sid})
        if ev.state == "start":
            return _line({"status": "Preparing", "progressDetail": {}, "id": sid})
        if ev.state == "progress":
            return _line({"status": "Pushing", "progressDetail": {"current": ev.current, "total": ev.total},
                          "progress": _bar(ev.current, ev.total), "id": sid})
        if ev.state == "done":
            return _line({"status": "Pushed", "progressDetail": {}, "id": sid})
        return b""

    return render


def _local_tags(eng, repository: str) -> list[str]:
    """The local names in a repository ("host/path"), sorted."""
    from ..registry.reference import parse

    out = []
    for img in eng.images.list():
        for n in img.names:
            try:
                r = parse(n)
            except InvalidArgument:
                continue
            if r.name == repository and r.tag:
                out.append(n)
    return sorted(out)


@validated(query={**_REGISTRY_QUERY, "tag": Q.str(128)})
def docker_push(req: Request) -> Response:
    from ..errors import NoSuchImage
    from ..registry import operations as ops
    from ..registry.reference import parse_qualified

    name = req.params["name"]
    tag = req.q("tag")
    last = name.rsplit("/", 1)[-1]
    # no tag anywhere: every local tag of the repository (docker push --all-tags)
    all_tags = not tag and ":" not in last and "@" not in name
    source = f"{name}:{tag}" if tag and ":" not in last else name
    ref = parse_qualified(source).tagged()
    args = _args(req, "tlsVerify", ref.domain)
    state = {"repo": ref.name}

    def op(eng, progress):
        if all_tags:
            sources = _local_tags(eng, ref.name)
            if not sources:
                raise NoSuchImage(f"An image does not exist locally with the tag: {ref.name}")
            return [ops.push(eng, s, s, progress, args=args) for s in sources][-1]
        eng.images.lookup(source)  # 404 before anything streams
        return ops.push(eng, source, str(ref), progress, args=args)

    return _streamed(req, op, _push_render(state), _docker_error)


# -- Docker: auth, search, distribution ---------------------------------------------------------


@validated(body=Obj({k: Str() for k in ("username", "password", "serveraddress", "email", "auth",
                                         "identitytoken", "registrytoken")}))
@with_engine
def docker_auth(req: Request, eng) -> Response:
    from ..errors import RegistryUnauthorized
    from ..registry import operations as ops
    from ..registry.auth import Credentials
    from ..registry.client import Session

    body = req.json()
    server = str(body.get("serveraddress") or "docker.io")
    user, password = str(body.get("username") or ""), str(body.get("password") or "")
    if not user:
        raise InvalidArgument("username is required")
    key = ops.login_key(server)
    a = ops.RegistryArgs(creds=Credentials(user, password), tls_verify=False if _loopback(key.split("/", 1)[0]) else None)
    opts = ops.options(eng, a)
    conf = ops.registries_conf(eng)
    opts.insecure_hosts = conf.insecure
    try:
        with Session(opts) as session:
            ops.verify_login(session.registry(key.split("/", 1)[0]), key)
    except RegistryUnauthorized as e:
        raise RegistryUnauthorized(str(e)) from None
    return Response(200, {"Status": "Login Succeeded", "IdentityToken": ""})


def _search_rows(req: Request, eng, docker: bool = False) -> list[dict]:
    from ..registry import operations as ops

    term = req.q("term")
    if not term:
        raise InvalidArgument("term is required")
    limit = req.qint("limit", 0) or 0
    first, sep, _ = term.partition("/")
    domain = first if sep and ("." in first or ":" in first or first == "localhost") else ""
    args = _args(req, host=domain if docker else "", registry=domain)
    rows = ops.search(eng, term, limit=limit, list_tags=req.qbool("listTags"), args=args)
    filters = {}
    if req.q("filters"):
        try:
            filters = json.loads(req.q("filters"))
        except ValueError:
            raise InvalidArgument("invalid filters: not JSON") from None
    for key, values in (filters or {}).items():
        for v in values if isinstance(values, list) else list(values):
            if key == "stars":
                if not str(v).isdigit():
                    raise InvalidArgument(f"invalid filter 'stars={v}', must be a number")
                rows = [r for r in rows if r["Stars"] >= int(v)]
            elif key in ("is-official", "is-automated"):
                want = str(v).lower() == "true"
                field = "Official" if key == "is-official" else "Automated"
                rows = [r for r in rows if bool(r[field]) == want]
            else:
                raise InvalidArgument(f"invalid filter {key!r}")
    return rows


_SEARCH_QUERY = {**_REGISTRY_QUERY, "term": Q.str(1024), "limit": Q.int(0, INT64_MAX), "listTags": Q.bool(),
                 "filters": Q.json(FILTERS)}


@validated(query=_SEARCH_QUERY)
@with_engine
def docker_search(req: Request, eng) -> Response:
    rows = _search_rows(req, eng, docker=True)
    return Response(200, [{"description": r["Description"], "is_official": bool(r["Official"]),
                           "is_automated": bool(r["Automated"]), "name": r["Name"], "star_count": r["Stars"]}
                          for r in rows])


@validated(query=_SEARCH_QUERY)
@with_engine
def libpod_search(req: Request, eng) -> Response:
    return Response(200, _search_rows(req, eng))


@with_engine
def distribution(req: Request, eng) -> Response:
    import hashlib

    from ..registry import manifest as mf
    from ..registry import operations as ops
    from ..registry.reference import parse_qualified

    ref = parse_qualified(req.params["name"]).tagged()
    data = ops.inspect_manifest(eng, str(ref), _args(req, host=ref.domain))
    mt = mf.media_type_of(data)
    parsed = mf.parse(data, mt)
    platforms = []
    if isinstance(parsed, mf.Index):
        for d in parsed.manifests:
            p = d.platform
            if p:
                platforms.append({"architecture": p.get("architecture", ""), "os": p.get("os", ""),
                                  **({"variant": p["variant"]} if p.get("variant") else {})})
    desc = {"mediaType": mt, "digest": "sha256:" + hashlib.sha256(data).hexdigest(), "size": len(data)}
    return Response(200, {"Descriptor": desc, "Platforms": platforms})


@validated(query=_REGISTRY_QUERY)
@with_engine
def libpod_manifest_inspect(req: Request, eng) -> Response:
    """GET /libpod/manifests/{name}/json: pypod keeps no local manifest
    lists, so as podman does for a name it has none of, the registry's
    manifest (or list) for it."""
    from ..registry import operations as ops

    data = ops.inspect_manifest(eng, req.params["name"], _args(req, registry=_domain_of(req.params["name"])))
    try:
        return Response(200, json.loads(data))
    except ValueError:
        raise PypodError(f"the registry's manifest for {req.params['name']} is not JSON") from None


# -- libpod: pull, push ------------------------------------------------------------------------------


@validated(query={**_REGISTRY_QUERY, "reference": Q.str(1024), "policy": Q.str(16), "quiet": Q.bool(),
                 "allTags": Q.bool(), **{k: Q.str(64) for k in ("OS", "os", "Arch", "arch", "Variant", "variant")}})
def libpod_pull(req: Request) -> Response:
    from ..registry import operations as ops

    ref = req.q("reference")
    if not ref:
        raise InvalidArgument("reference parameter cannot be empty")
    policy = req.q("policy") or "always"
    if policy not in ops.PULL_POLICIES:
        raise InvalidArgument(f'invalid pull policy "{policy}"')
    quiet = req.qbool("quiet")
    all_tags = req.qbool("allTags")
    os_name, arch, variant = req.q("OS") or req.q("os"), req.q("Arch") or req.q("arch"), req.q("Variant") or req.q("variant")
    platform = None
    if os_name or arch or variant:
        from ..registry.manifest import host_platform

        hos, harch, _ = host_platform()
        platform = (os_name or hos, arch or harch, variant)
    args = _args(req, registry=_domain_of(ref))

    def op(eng, progress):
        if policy != "always" and not all_tags:
            return [ops.ensure_image(eng, ref, policy, progress, args=args, platform=platform)]
        return ops.pull(eng, ref, progress, args=args, platform=platform, all_tags=all_tags)

    def done(images) -> dict:
        ids = [img.id for img in images]
        return {"images": ids, "id": ids[-1] if ids else ""}

    render, error = _libpod_report(quiet, done)
    return _streamed(req, op, render, error)


def _libpod_report(quiet: bool, done):
    """libpod's report stream: {"stream": line} per step (podman's lines, as
    the CLI prints them off a terminal), done(result) last, or {"error": ...}."""
    lines: list[str] = []

    def render(kind, v) -> bytes:
        if kind == "done":
            last = done(v)
            return _line(last) if last is not None else b""
        if quiet:
            return b""
        from ..registry.progress import ProgressDisplay

        lines.clear()
        ProgressDisplay(_Lines(lines), tty=False)(v)
        return b"".join(_line({"stream": text}) for text in lines)

    def error(e) -> bytes:
        return _line({"error": str(e) if isinstance(e, PypodError) else f"{type(e).__name__}: {e}"})

    return render, error


class _Lines:
    """A text sink that keeps each written piece (one progress line each)."""

    def __init__(self, out: list[str]):
        self.out = out

    def write(self, text: str) -> None:
        self.out.append(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


@validated(query={**_REGISTRY_QUERY, "destination": Q.str(1024), "format": Q.str(32),
                 "compressionFormat": Q.str(32), "quiet": Q.bool(), "removeSignatures": Q.bool()})
def libpod_push(req: Request) -> Response:
    from ..registry import operations as ops

    source = req.params["name"]
    destination = req.q("destination")
    args = _args(req, registry=_domain_of(destination or source))
    fmt = {"docker": "v2s2"}.get(req.q("format"), req.q("format"))
    compression = req.q("compressionFormat")
    quiet = req.qbool("quiet", True)  # libpod's default: older clients expect no progress

    def op(eng, progress):
        eng.images.lookup(source)
        return ops.push(eng, source, destination, progress, args=args, fmt=fmt, compression=compression,
                        remove_signatures=req.qbool("removeSignatures"))

    # podman 4.x's remote client takes any line without "stream" or "error"
    # for a broken stream (its push fails on it); podman 5's reads the digest.
    old_client = (_api_version(req) or (5,)) < (5,)
    render, error = _libpod_report(quiet, lambda digest: None if old_client else {"manifestdigest": digest})
    return _streamed(req, op, render, error)


def _api_version(req: Request) -> tuple[int, ...] | None:
    """The version in the request's path prefix (/v4.3.1/...), if any."""
    first = req.path.lstrip("/").split("/", 1)[0]
    if first[:1] != "v":
        return None
    try:
        return tuple(int(x) for x in first[1:].split("."))
    except ValueError:
        return None


def register(router: Router) -> None:
    for prefix in ("", "/libpod"):
        router.add("GET", f"{prefix}/distribution/{{name*}}/json", distribution)
    router.add("POST", "/images/{name*}/push", docker_push)
    router.add("POST", "/auth", docker_auth)
    router.add("POST", "/libpod/auth", docker_auth)
    router.add("GET", "/images/search", docker_search)
    router.add("GET", "/libpod/images/search", libpod_search)
    router.add("POST", "/libpod/images/{name*}/push", libpod_push)
    router.add("GET", "/libpod/manifests/{name*}/json", libpod_manifest_inspect)
    # Before the libpod module's and the Docker module's own (local-only) routes for the same paths.
    router.routes.insert(0, ("POST", "libpod/images/pull".split("/"), libpod_pull))


__all__ = ["register", "docker_pull"]
