"""The registry operations an Engine offers (pull, push, login, logout,
search, manifest inspect, pull policies), with its configuration applied.

Every front door (library, CLI, both REST APIs) comes through here, so a
pull means the same thing whichever door it came by.
"""

from __future__ import annotations

import os

from ..errors import InvalidArgument, NoSuchImage, PypodError
from ..record import record
from . import auth
from .client import Options, Session
from .pull import Event, Progress, Puller, PullOptions
from .reference import parse
from .shortnames import RegistriesConf, load

PULL_POLICIES = ("always", "missing", "never", "newer")


@record
class RegistryArgs:
    """What a user may say per operation (flags, query parameters, headers)."""

    tls_verify: bool | None = None
    creds: auth.Credentials | None = None
    authfile: str = ""
    cert_dir: str = ""
    retries: int | None = None
    retry_delay: float | None = None


def registry_args(tls_verify: bool | None = None, creds=None, authfile: str = "", cert_dir: str = "",
                  retries: int | None = None, retry_delay: float | None = None) -> RegistryArgs:
    """The library's keywords: creds as "user:password" or Credentials."""
    if isinstance(creds, str):
        creds = auth.parse_creds(creds)
    return RegistryArgs(tls_verify, creds, authfile, cert_dir, retries, retry_delay)


def platform_arg(platform) -> tuple[str, str, str] | None:
    """"os/arch[/variant]" or a tuple, as the library takes it."""
    from .manifest import parse_platform

    if platform is None or platform == "":
        return None
    if isinstance(platform, str):
        return parse_platform(platform)
    os_name, arch, *variant = platform
    return os_name, arch, variant[0] if variant else ""


def registries_conf(engine) -> RegistriesConf:
    return load(engine.config.registries.registries_conf)


def options(engine, args: RegistryArgs | None = None, *, new_authfile: bool = False) -> Options:
    """new_authfile: the named auth file may be made (a login); otherwise,
    as podman, one named that is not there is an error."""
    a = args or RegistryArgs()
    rc = engine.config.registries
    certs_dirs = (rc.certs_dir,) if rc.certs_dir else Options().certs_dirs
    if a.cert_dir and not os.path.isdir(a.cert_dir):
        raise InvalidArgument(f"--cert-dir {a.cert_dir}: no such directory")
    if a.authfile and not new_authfile and not os.path.exists(a.authfile):
        raise InvalidArgument(f"stat {a.authfile}: no such file or directory")
    if a.retries is not None and a.retries < 0:
        raise InvalidArgument(f"invalid retry count {a.retries}: 0 or more")
    return Options(tls_verify=a.tls_verify, creds=a.creds, authfile=a.authfile or rc.auth_file,
                   cert_dir=a.cert_dir, certs_dirs=certs_dirs, timeout=rc.timeout,
                   retries=3 if a.retries is None else a.retries, retry_delay=a.retry_delay,
                   chunk_size=rc.upload_chunk_size)


def pull(engine, ref: str, progress: Progress | None = None, *, args: RegistryArgs | None = None,
         platform: tuple[str, str, str] | None = None, all_tags: bool = False, can_prompt: bool = False,
         prompt=None) -> list:
    """Pull a reference (every tag of its repository with all_tags);
    returns the images stored."""
    conf = registries_conf(engine)
    opts = PullOptions(platform=platform, registry=options(engine, args),
                       parallel=engine.config.registries.parallel_downloads, can_prompt=can_prompt, prompt=prompt)
    puller = Puller(engine.images, conf, opts, progress)
    images = puller.pull_all_tags(ref) if all_tags else [puller.pull(ref)]
    for img in images:
        engine.events.write("image", "pull", img.id, ref)
    return images


def local_image(engine, ref: str):
    """The local image a reference means, or None."""
    try:
        return engine.images.lookup(ref)
    except NoSuchImage:
        return None


def ensure_image(engine, ref: str, policy: str = "missing", progress: Progress | None = None, *,
                 args: RegistryArgs | None = None, platform: tuple[str, str, str] | None = None):
    """The image for `run`/`create --pull POLICY`: pulled when the policy
    says so, else the local one."""
    if policy not in PULL_POLICIES:
        raise InvalidArgument(f'invalid pull policy "{policy}"')
    local = local_image(engine, ref) if policy != "always" else None
    if policy == "never":
        if local is None:
            raise NoSuchImage(f"{ref}: image not known")
        return local
    if local is not None and policy == "missing":
        return local
    if local is not None and policy == "newer":
        try:
            if remote_digest(engine, ref, args) in (local.digest, *_pulled_digests(engine, local)):
                return local
        except PypodError:
            return local  # "newer" uses the local image when the registry cannot say
    return pull(engine, ref, progress, args=args, platform=platform)[0]


def _pulled_digests(engine, img) -> list[str]:
    return [r.rpartition("@")[2] for r in engine.images.repo_digests(img)]


def _primary(engine, ref: str, args: RegistryArgs | None):
    """(session, registry, endpoint) for the place a reference lives (its
    registry itself, not a mirror); the caller closes the session."""
    from .shortnames import resolve

    conf = registries_conf(engine)
    opts = options(engine, args)
    opts.insecure_hosts = conf.insecure
    ep = conf.endpoints(resolve(conf, ref).candidates[0])[-1]
    session = Session(opts)
    return session, session.registry(ep.ref.domain, ep.insecure), ep


def remote_digest(engine, ref: str, args: RegistryArgs | None = None) -> str:
    from . import manifest as mf

    session, reg, ep = _primary(engine, ref, args)
    with session:
        return reg.manifest_digest(ep.ref.path, ep.ref.version, mf.ACCEPT)


def inspect_manifest(engine, ref: str, args: RegistryArgs | None = None) -> bytes:
    """The manifest (or manifest list) a reference names, as the registry holds it."""
    from . import manifest as mf

    session, reg, ep = _primary(engine, ref, args)
    with session:
        data, _ctype, _digest = reg.get_manifest(ep.ref.path, ep.ref.version, mf.ACCEPT, str(ep.ref))
        return data


# -- push -------------------------------------------------------------------------------------


def push(engine, source: str, destination: str = "", progress: Progress | None = None, *,
         args: RegistryArgs | None = None, fmt: str = "", compression: str = "", remove_signatures: bool = False) -> str:
    """Push a local image; returns the manifest digest."""
    from .push import Pusher, PushOptions

    img = engine.images.lookup(source)
    dest = destination[len("docker://"):] if destination.startswith("docker://") else destination
    if dest and "://" in dest or dest.split(":", 1)[0] in ("oci-archive", "docker-archive", "dir", "oci",
                                                              "containers-storage", "docker-daemon"):
        raise InvalidArgument(f"unsupported transport in destination {destination!r}: pypod pushes to registries (docker://)")
    if not dest:
        dest = source
        if not parse(source).domain and img.names:
            # By ID or short name: the image's own name says where it goes.
            dest = next((n for n in img.names if n.split("/", 1)[0] == parse(n).domain), img.names[0])
    ref = parse(dest)
    if ref.short:
        ref = ref.in_domain("docker.io")
    ref = ref.tagged()
    conf = registries_conf(engine)
    opts = options(engine, args)
    opts.insecure_hosts = conf.insecure
    pusher = Pusher(engine.images, conf, PushOptions(registry=opts, fmt=fmt, compression=compression,
                                                     parallel=engine.config.registries.parallel_downloads), progress)
    digest = pusher.push(img, ref)
    engine.events.write("image", "push", img.id, str(ref))
    return digest


# -- login, logout ----------------------------------------------------------------------------


def login_key(server: str) -> str:
    """A login target: "host[:port]" or "host/repository"; URLs are read as docker does."""
    s = server.strip()
    for prefix in ("https://", "http://"):
        if s.startswith(prefix):
            s = s[len(prefix):]
            s = s.split("/", 1)[0]
    s = s.rstrip("/")
    if not s or any(c.isspace() for c in s):
        raise InvalidArgument(f"invalid registry {server!r}")
    if s in ("index.docker.io", "registry-1.docker.io"):
        s = "docker.io"
    host, _, path = s.partition("/")
    if path:
        parse(s)  # a repository: same grammar as an image name
    return s


def login(engine, server: str, username: str, password: str, args: RegistryArgs | None = None) -> str:
    """Check the credentials against the registry, then store them;
    returns where they went."""
    key = login_key(server)
    host = key.split("/", 1)[0]
    if not username:
        raise InvalidArgument("username can't be empty")
    creds = auth.Credentials(username, password)
    a = RegistryArgs(**{**(args.__dict__ if args else {}), "creds": creds})
    conf = registries_conf(engine)
    opts = options(engine, a, new_authfile=True)
    opts.insecure_hosts = conf.insecure
    with Session(opts) as session:
        reg = session.registry(host)
        verify_login(reg, key)
    return auth.store(key, creds, opts.authfile)


def verify_login(reg, key: str) -> None:
    """A request that needs the credentials: GET /v2/ with them (a Bearer
    registry: a token for the named repository, or for none)."""
    from ..errors import RegistryUnauthorized
    from .client import registry_error_text

    reg.ping()
    if reg.challenge is None:
        return  # the registry asks for nothing: any credentials do
    repo = key.split("/", 1)[1] if "/" in key else ""
    try:
        with reg.request("GET", "/v2/", repository=repo, actions=("pull",), retry=False) as resp:
            if resp.status in (401, 403):
                raise RegistryUnauthorized(f"logging into {key!r}: invalid username/password")
            if resp.status != 200:
                raise RegistryUnauthorized(f"logging into {key!r}: {registry_error_text(resp)}")
    except RegistryUnauthorized as e:
        text = str(e)
        if not text.startswith("logging into"):
            raise RegistryUnauthorized(f"logging into {key!r}: invalid username/password") from None
        raise


def logout(engine, server: str = "", all_registries: bool = False, authfile: str = "") -> str:
    if authfile and not os.path.exists(authfile):
        raise InvalidArgument(f"stat {authfile}: no such file or directory")
    path = authfile or engine.config.registries.auth_file
    if all_registries:
        auth.remove_all(path)
        return "Removed login credentials for all registries"
    key = login_key(server)
    if auth.remove(key, path):
        return f"Removed login credentials for {key}"
    other = auth.found_elsewhere(key, path)
    if other:
        raise InvalidArgument(f"not logged into {key} with pypod. Existing credentials were established via "
                              f"docker login. Please use docker logout instead")
    raise InvalidArgument(f"not logged into {key}")


def get_login(engine, server: str, authfile: str = "") -> str:
    key = login_key(server)
    creds = auth.lookup(key.split("/", 1)[0], key.partition("/")[2], authfile or engine.config.registries.auth_file)
    if creds is None:
        raise InvalidArgument(f"not logged into {key}")
    return creds.username


# -- search ------------------------------------------------------------------------------------


def search(engine, term: str, *, limit: int = 0, list_tags: bool = False, args: RegistryArgs | None = None) -> list[dict]:
    from .search import search as do_search

    conf = registries_conf(engine)
    opts = options(engine, args)
    opts.insecure_hosts = conf.insecure
    with Session(opts) as session:
        return do_search(session, conf, term, limit=limit, list_tags=list_tags)


__all__ = ["Event", "RegistryArgs", "pull", "push", "login", "logout", "search", "ensure_image", "inspect_manifest"]
