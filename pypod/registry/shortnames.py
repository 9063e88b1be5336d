"""registries.conf (version 2) and short names, as containers-registries.conf(5) says.

Read: `unqualified-search-registries`, `short-name-mode` (enforcing,
permissive, disabled; permissive when unset, as in containers/image),
`[[registry]]` tables (prefix, location, insecure, blocked, mirrors with
pull-from-mirror, mirror-by-digest-only) and `[aliases]`.  The version 1
format (`[registries.search]`) is read too.

Where from: the file named by pypod's config (`[registries] registries_conf`)
or $CONTAINERS_REGISTRIES_CONF, read alone; else podman's own
/etc/containers/registries.conf, then the drop-ins of
/etc/containers/registries.conf.d/*.conf in name order, later ones
overriding earlier ones.

A short name resolves, in order, to: its alias; the one search registry;
with several, a choice on a terminal (enforcing mode), every registry in
turn (permissive and disabled modes), or podman's error when no terminal
can ask (enforcing mode).  Never a silent guess.
"""

from __future__ import annotations

import fnmatch
import os

from ..errors import InvalidArgument
from ..record import field, record
from .reference import DOCKER_DOMAIN, Reference, parse

REGISTRIES_CONF_ENV = "CONTAINERS_REGISTRIES_CONF"
SYSTEM_REGISTRIES_CONF = "/etc/containers/registries.conf"
SYSTEM_REGISTRIES_CONF_DIR = "/etc/containers/registries.conf.d"
MODES = ("enforcing", "permissive", "disabled")


class ShortNameError(InvalidArgument):
    """A short name that resolves to no registry without asking."""


@record(frozen=True)
class Mirror:
    location: str
    insecure: bool = False
    #: "all", "digest-only" or "tag-only"
    pull_from_mirror: str = "all"


@record(frozen=True)
class RegistryEntry:
    prefix: str
    location: str
    insecure: bool = False
    blocked: bool = False
    mirrors: tuple[Mirror, ...] = ()
    mirror_by_digest_only: bool = False

    def matches(self, name: str) -> bool:
        if self.prefix.startswith("*."):
            host = name.split("/", 1)[0]
            return fnmatch.fnmatchcase(host, self.prefix)
        return name == self.prefix or name.startswith(self.prefix + "/")

    def rewrite(self, name: str, location: str) -> str:
        if self.prefix.startswith("*."):
            return name
        return location + name[len(self.prefix):]


@record(frozen=True)
class Endpoint:
    """One place to pull a reference from: a mirror or the registry itself."""

    ref: Reference
    insecure: bool
    mirror: bool = False


@record
class RegistriesConf:
    search: list[str] = field(default_factory=list)
    mode: str = "permissive"
    registries: list[RegistryEntry] = field(default_factory=list)
    #: short name -> (full name, the file it came from)
    aliases: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: the file errors name (podman names the main registries.conf)
    path: str = SYSTEM_REGISTRIES_CONF

    def entry(self, name: str) -> RegistryEntry | None:
        """The [[registry]] whose prefix matches name longest."""
        best = None
        for r in self.registries:
            if r.matches(name) and (best is None or len(r.prefix) > len(best.prefix)):
                best = r
        return best

    def insecure(self, host: str) -> bool:
        e = self.entry(host)
        return bool(e and e.insecure and e.matches(host))

    def endpoints(self, ref: Reference) -> list[Endpoint]:
        """Where a fully qualified reference is pulled from: mirrors in order
        (those that may serve it), then the primary location."""
        e = self.entry(ref.name)
        if e is None:
            return [Endpoint(ref, False)]
        if e.blocked:
            raise InvalidArgument(f"initializing source docker://{ref}: registry {ref.domain} is blocked in "
                                  f"{self.path} or {SYSTEM_REGISTRIES_CONF_DIR}")
        out = []
        for m in e.mirrors:
            if (e.mirror_by_digest_only or m.pull_from_mirror == "digest-only") and not ref.digest:
                continue
            if m.pull_from_mirror == "tag-only" and ref.digest:
                continue
            out.append(Endpoint(_retarget(ref, e.rewrite(ref.name, m.location)), m.insecure, mirror=True))
        out.append(Endpoint(_retarget(ref, e.rewrite(ref.name, e.location)), e.insecure))
        return out

    def push_endpoint(self, ref: Reference) -> Endpoint:
        e = self.entry(ref.name)
        if e is None:
            return Endpoint(ref, False)
        if e.blocked:
            raise InvalidArgument(f"registry {ref.domain} is blocked in {self.path} or {SYSTEM_REGISTRIES_CONF_DIR}")
        return Endpoint(_retarget(ref, e.rewrite(ref.name, e.location)), e.insecure)


def _retarget(ref: Reference, name: str) -> Reference:
    r = parse(name)
    return Reference(r.domain, r.path, ref.tag, ref.digest)


# -- loading ----------------------------------------------------------------------------


def load(path: str = "") -> RegistriesConf:
    """The registries configuration: one named file, or podman's files."""
    explicit = path or os.environ.get(REGISTRIES_CONF_ENV, "")
    conf = RegistriesConf(path=explicit or SYSTEM_REGISTRIES_CONF)
    if explicit:
        if not os.path.exists(explicit):
            raise InvalidArgument(f"loading registries configuration {explicit!r}: no such file or directory")
        _merge(conf, explicit)
        return conf
    main, dirs = SYSTEM_REGISTRIES_CONF, [SYSTEM_REGISTRIES_CONF_DIR]
    user = _user_config_dir()
    if user:
        # a rootless user's own file replaces the system's; drop-ins come from both places
        if os.path.exists(os.path.join(user, "registries.conf")):
            main = conf.path = os.path.join(user, "registries.conf")
        dirs.append(os.path.join(user, "registries.conf.d"))
    if os.path.exists(main):
        _merge(conf, main)
    for d in dirs:
        try:
            drop_ins = sorted(n for n in os.listdir(d) if n.endswith(".conf"))
        except OSError:
            drop_ins = []
        for name in drop_ins:
            _merge(conf, os.path.join(d, name))
    return conf


def _user_config_dir() -> str:
    """~/.config/containers for a rootless user (podman reads it beside the system's), else ""."""
    from .. import rootless

    if not rootless.is_rootless():
        return ""
    home = os.environ.get("HOME") or os.path.expanduser("~")
    return os.path.join(os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config"), "containers")


def _bool(v, what: str, path: str) -> bool:
    if not isinstance(v, bool):
        raise InvalidArgument(f"loading registries configuration {path!r}: {what} must be true or false")
    return v


def _str(v, what: str, path: str) -> str:
    if not isinstance(v, str):
        raise InvalidArgument(f"loading registries configuration {path!r}: {what} must be a string")
    return v


def _merge(conf: RegistriesConf, path: str) -> None:
    import tomllib

    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise InvalidArgument(f"loading registries configuration {path!r}: {e}") from None
    v1 = doc.get("registries")
    if isinstance(v1, dict):
        if any(k in doc for k in ("registry", "unqualified-search-registries")):
            raise InvalidArgument(f"loading registries configuration {path!r}: mixing sysregistry v1/v2 is not supported")
        _merge_v1(conf, v1, path)
        return
    if "unqualified-search-registries" in doc:
        search = doc["unqualified-search-registries"]
        if not isinstance(search, list) or not all(isinstance(s, str) for s in search):
            raise InvalidArgument(f"loading registries configuration {path!r}: unqualified-search-registries must be a list of strings")
        for s in search:
            _check_host(s, path)
        conf.search = list(search)
    if "short-name-mode" in doc:
        mode = _str(doc["short-name-mode"], "short-name-mode", path)
        if mode not in MODES:
            raise InvalidArgument(f"loading registries configuration {path!r}: invalid short name mode {mode!r}")
        conf.mode = mode
    for raw in doc.get("registry") or []:
        entry = _entry(raw, path)
        conf.registries = [r for r in conf.registries if r.prefix != entry.prefix] + [entry]
    aliases = doc.get("aliases") or {}
    if not isinstance(aliases, dict):
        raise InvalidArgument(f"loading registries configuration {path!r}: [aliases] must be a table")
    for short, full in aliases.items():
        _check_alias(short, _str(full, f"alias {short!r}", path), path)
        conf.aliases[short] = (full, path)


def _merge_v1(conf: RegistriesConf, v1: dict, path: str) -> None:
    def hosts(key: str) -> list[str]:
        table = v1.get(key) or {}
        vals = table.get("registries") if isinstance(table, dict) else None
        if vals is None:
            return []
        if not isinstance(vals, list) or not all(isinstance(s, str) for s in vals):
            raise InvalidArgument(f"loading registries configuration {path!r}: registries.{key} must list strings")
        return vals

    conf.search = hosts("search") or conf.search
    flags: dict[str, dict] = {}
    for h in hosts("insecure"):
        flags.setdefault(h, {})["insecure"] = True
    for h in hosts("block"):
        flags.setdefault(h, {})["blocked"] = True
    for h, f in flags.items():
        conf.registries = [r for r in conf.registries if r.prefix != h] + [RegistryEntry(h, h, **f)]


def _entry(raw, path: str) -> RegistryEntry:
    if not isinstance(raw, dict):
        raise InvalidArgument(f"loading registries configuration {path!r}: [[registry]] must be a table")
    location = _str(raw.get("location", ""), "location", path)
    prefix = _str(raw.get("prefix", "") or location, "prefix", path)
    if not prefix:
        raise InvalidArgument(f"loading registries configuration {path!r}: a [[registry]] needs a location or a prefix")
    if not location and not prefix.startswith("*."):
        location = prefix
    mirrors = []
    for m in raw.get("mirror") or []:
        if not isinstance(m, dict):
            raise InvalidArgument(f"loading registries configuration {path!r}: [[registry.mirror]] must be a table")
        pfm = _str(m.get("pull-from-mirror", "all") or "all", "pull-from-mirror", path)
        if pfm not in ("all", "digest-only", "tag-only"):
            raise InvalidArgument(f"loading registries configuration {path!r}: unsupported pull-from-mirror value {pfm!r}")
        mirrors.append(Mirror(_str(m.get("location", ""), "mirror location", path),
                              _bool(m.get("insecure", False), "insecure", path), pfm))
    return RegistryEntry(prefix, location, _bool(raw.get("insecure", False), "insecure", path),
                         _bool(raw.get("blocked", False), "blocked", path), tuple(mirrors),
                         _bool(raw.get("mirror-by-digest-only", False), "mirror-by-digest-only", path))


def _check_host(host: str, path: str) -> None:
    try:
        r = parse(f"{host}/x")
    except InvalidArgument:
        r = None
    if r is None or r.domain != host and not (host == DOCKER_DOMAIN and r.domain == DOCKER_DOMAIN):
        raise InvalidArgument(f"loading registries configuration {path!r}: invalid search registry {host!r}")


def _check_alias(short: str, full: str, path: str) -> None:
    try:
        s = parse(short)
        f = parse(full)
    except InvalidArgument as e:
        raise InvalidArgument(f"loading registries configuration {path!r}: alias {short!r}: {e}") from None
    if not s.short or s.tag or s.digest:
        raise InvalidArgument(f"loading registries configuration {path!r}: alias {short!r} must be a short name without tag or digest")
    if f.short or f.digest:
        raise InvalidArgument(f"loading registries configuration {path!r}: alias value {full!r} must be fully qualified, without digest")


# -- resolving ---------------------------------------------------------------------------


@record
class Resolution:
    candidates: list[Reference]
    #: what to tell the user ("Resolved "x" as an alias (file)"), if anything
    note: str = ""


def resolve(conf: RegistriesConf, ref: str, can_prompt: bool = False, prompt=None) -> Resolution:
    """The fully qualified references a user's reference may mean, in order."""
    r = parse(ref)
    if not r.short:
        return Resolution([r.tagged()])
    alias = conf.aliases.get(r.path)
    if alias and conf.mode != "disabled":
        target = parse(alias[0])
        full = Reference(target.domain, target.path, r.tag or target.tag, r.digest)
        return Resolution([full.tagged()], f'Resolved "{r.path}" as an alias ({alias[1]})')
    if not conf.search:
        raise ShortNameError(f'short-name "{ref}" did not resolve to an alias and no unqualified-search registries '
                             f'are defined in "{conf.path}"')
    candidates = [r.in_domain(h).tagged() for h in conf.search]
    if len(candidates) == 1 or conf.mode != "enforcing":
        return Resolution(candidates)
    if not can_prompt or prompt is None:
        raise ShortNameError("short-name resolution enforced but cannot prompt without a TTY")
    chosen = prompt([str(c) for c in candidates])
    return Resolution([candidates[chosen]])
