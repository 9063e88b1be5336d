"""Image references as registries read them: [domain/]path[:tag][@digest].

The grammar is Docker's (distribution/reference): lower-case path
components separated by '/', a first component that is a domain when it has
a '.' or a ':' or is 'localhost', a tag of up to 128 word characters, a
digest 'algorithm:hex'.  Parsing never guesses a registry: a short name keeps
an empty domain, and shortnames.py decides where it may come from.
"""

from __future__ import annotations

import re

from ..errors import InvalidArgument
from ..record import record, replace

DOCKER_DOMAIN = "docker.io"
_LEGACY_DOCKER_DOMAINS = ("index.docker.io", "registry-1.docker.io")

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH_RE = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_DOMAIN_RE = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$"
    r"|^\[[0-9a-fA-F:]+\](?::[0-9]+)?$")
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
NAME_MAX = 255


@record(frozen=True)
class Reference:
    #: "" for a short name (no registry named)
    domain: str
    #: repository path inside the registry: "library/busybox", "team/app"
    path: str
    tag: str = ""
    #: "sha256:<hex>" when pinned
    digest: str = ""

    @property
    def name(self) -> str:
        """domain/path (the repository), or the bare path of a short name."""
        return f"{self.domain}/{self.path}" if self.domain else self.path

    @property
    def short(self) -> bool:
        return not self.domain

    def __str__(self) -> str:
        out = self.name
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out

    @property
    def version(self) -> str:
        """What /v2/<path>/manifests/<version> takes: the digest if pinned, else the tag."""
        return self.digest or self.tag or "latest"

    def with_tag(self, tag: str) -> "Reference":
        return replace(self, tag=tag, digest="")

    def with_digest(self, digest: str) -> "Reference":
        return replace(self, tag="", digest=digest)

    def tagged(self) -> "Reference":
        """Tagged 'latest' when neither tag nor digest says otherwise."""
        return self if self.tag or self.digest else replace(self, tag="latest")

    def in_domain(self, domain: str) -> "Reference":
        """This short name qualified with a registry; Docker Hub's official
        images live under library/."""
        domain = DOCKER_DOMAIN if domain in _LEGACY_DOCKER_DOMAINS else domain
        path = self.path
        if domain == DOCKER_DOMAIN and "/" not in path:
            path = f"library/{path}"
        return replace(self, domain=domain, path=path)


def _bad(ref: str, why: str = "") -> InvalidArgument:
    return InvalidArgument(f"invalid reference format{': ' + why if why else ''}")


def parse(ref: str) -> Reference:
    """Parse without normalizing: a short name keeps an empty domain.
    Errors use podman's words ("invalid reference format...")."""
    s = ref.strip()
    if not s or s != ref or any(c.isspace() for c in s):
        raise _bad(ref)
    if s.startswith("docker://"):
        s = s[len("docker://"):]
    name, at, digest = s.partition("@")
    if at and not _DIGEST_RE.match(digest):
        raise _bad(ref)
    if digest.startswith("sha256:") and not _HEX64.match(digest[7:]):
        raise _bad(ref)
    tag = ""
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
        if not _TAG_RE.match(tag):
            raise _bad(ref)
    domain, path = "", name
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        domain, path = first, rest
        if not _DOMAIN_RE.match(domain):
            raise _bad(ref)
    if not path:
        raise _bad(ref)
    if path != path.lower() and _PATH_RE.match(path.lower()):
        raise _bad(ref, "repository name must be lowercase")
    if not _PATH_RE.match(path):
        raise _bad(ref)
    if len(name) > NAME_MAX:
        raise _bad(ref, "repository name must not be more than 255 characters")
    if domain in _LEGACY_DOCKER_DOMAINS:
        domain = DOCKER_DOMAIN
    if domain == DOCKER_DOMAIN and "/" not in path:
        path = f"library/{path}"
    return Reference(domain, path, tag, digest)


def parse_qualified(ref: str) -> Reference:
    """A reference that must name its registry (push destinations, login
    targets are hosts, not this)."""
    r = parse(ref)
    if r.short:
        r = r.in_domain(DOCKER_DOMAIN)
    return r


def is_full_image_id(s: str) -> bool:
    return bool(_HEX64.match(s[7:] if s.startswith("sha256:") else s))
