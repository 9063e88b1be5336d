"""Manifests: media types, parsing, and choosing one platform of an index.

Pure: bytes in, records out.  Docker schema 2 and OCI image manifests
are read; an OCI index or a Docker manifest list is narrowed to one
platform; Docker schema 1 (signed JSON with v1Compatibility history) is
refused with a clear message, as its layers carry no diff IDs to verify.
"""

from __future__ import annotations

import json
import os

from ..errors import InvalidArgument
from ..record import field, record

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_FOREIGN_LAYER_GZIP = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"

INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
IMAGE_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
#: what a pull asks for, best first
ACCEPT = ", ".join((OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST, DOCKER_SCHEMA1_SIGNED, DOCKER_SCHEMA1))
#: the most a manifest may weigh (distribution's own limit is 4 MiB)
MAX_MANIFEST = 4 * 1024 * 1024
MAX_CONFIG = 8 * 1024 * 1024


@record(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: dict = field(default_factory=dict)
    annotations: dict = field(default_factory=dict)
    urls: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, d, what: str) -> "Descriptor":
        if not isinstance(d, dict):
            raise InvalidArgument(f"invalid {what} descriptor in manifest")
        digest, size = d.get("digest"), d.get("size")
        if not isinstance(digest, str) or ":" not in digest or isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise InvalidArgument(f"invalid {what} descriptor in manifest: {json.dumps(d)[:200]}")
        algo, _, hexd = digest.partition(":")
        if algo != "sha256" or len(hexd) != 64 or any(c not in "0123456789abcdef" for c in hexd):
            raise InvalidArgument(f"unsupported digest {digest!r} in manifest: pypod verifies sha256 digests")
        return cls(str(d.get("mediaType") or ""), digest, size, d.get("platform") or {},
                   d.get("annotations") or {}, tuple(d.get("urls") or ()))

    def to_json(self) -> dict:
        out: dict = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.urls:
            out["urls"] = list(self.urls)
        return out


@record(frozen=True)
class ImageManifest:
    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]


@record(frozen=True)
class Index:
    media_type: str
    manifests: tuple[Descriptor, ...]


def media_type_of(data: bytes, header: str = "") -> str:
    """The manifest's type: its own mediaType field, else what the server said."""
    try:
        doc = json.loads(data)
    except ValueError:
        raise InvalidArgument("invalid manifest: not JSON") from None
    if not isinstance(doc, dict):
        raise InvalidArgument("invalid manifest: not a JSON object")
    mt = doc.get("mediaType")
    if isinstance(mt, str) and mt:
        return mt
    if doc.get("schemaVersion") == 1:
        return DOCKER_SCHEMA1_SIGNED
    if "manifests" in doc:
        return OCI_INDEX
    header = header.split(";", 1)[0].strip()
    return header if header else OCI_MANIFEST


def parse(data: bytes, media_type: str = "") -> ImageManifest | Index:
    mt = media_type_of(data, media_type)
    doc = json.loads(data)
    if mt in (DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED) or doc.get("schemaVersion") == 1:
        raise InvalidArgument("unsupported manifest type: Docker schema 1 (deprecated since 2017, and its layers "
                              "carry no verifiable diff IDs): push the image again with a current client")
    if doc.get("schemaVersion") != 2:
        raise InvalidArgument(f"unsupported manifest schemaVersion {doc.get('schemaVersion')!r}")
    if mt in INDEX_TYPES:
        entries = doc.get("manifests")
        if not isinstance(entries, list):
            raise InvalidArgument("invalid manifest list: no manifests")
        return Index(mt, tuple(Descriptor.from_json(d, "manifest") for d in entries))
    if mt in IMAGE_TYPES:
        layers = doc.get("layers")
        if not isinstance(layers, list):
            raise InvalidArgument("invalid image manifest: no layers")
        return ImageManifest(mt, Descriptor.from_json(doc.get("config"), "config"),
                             tuple(Descriptor.from_json(d, "layer") for d in layers))
    raise InvalidArgument(f"unsupported manifest type {mt!r}")


# -- platforms -----------------------------------------------------------------------


def host_platform() -> tuple[str, str, str]:
    machine = os.uname().machine
    arch = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "armv6l": "arm", "i686": "386",
            "i386": "386", "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}.get(machine, machine)
    variant = {"armv7l": "v7", "armv6l": "v6", "aarch64": "v8"}.get(machine, "")
    return "linux", arch, variant


def parse_platform(spec: str) -> tuple[str, str, str]:
    """--platform OS/ARCH[/VARIANT]."""
    parts = spec.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise InvalidArgument(f"invalid platform syntax for --platform={spec!r}: use OS/ARCH[/VARIANT]")
    return parts[0], parts[1], parts[2] if len(parts) == 3 else ""


def _variant_ok(arch: str, want: str, have: str) -> bool:
    if not want or want == have:
        return True
    # arm64's only variant is v8, and many indexes leave it out.
    return arch == "arm64" and {want, have} <= {"v8", ""}


def select_platform(index: Index, os_name: str, arch: str, variant: str = "") -> Descriptor:
    """The image of an index for a platform: exact variant first, then one
    without a variant named; the error names what was asked, as podman's."""
    fits = []
    for d in index.manifests:
        p = d.platform
        if d.media_type in INDEX_TYPES:
            continue
        if p.get("os") == os_name and p.get("architecture") == arch and _variant_ok(arch, variant, p.get("variant", "")):
            fits.append(d)
    if fits:
        exact = [d for d in fits if d.platform.get("variant", "") == variant]
        return (exact or fits)[0]
    raise InvalidArgument(f"no image found in manifest list for architecture {arch}, variant {variant!r}, OS {os_name}")


def platforms(index: Index) -> list[str]:
    out = []
    for d in index.manifests:
        p = d.platform
        if p:
            out.append("/".join(x for x in (p.get("os", ""), p.get("architecture", ""), p.get("variant", "")) if x))
    return out
