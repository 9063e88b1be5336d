"""TLS for registries, from podman's certs.d convention.

For a registry HOST:PORT, the directory <certs dir>/HOST:PORT (or HOST when
the port is the default) holds:
  *.crt                 CA certificates trusted for that registry, beside the system's
  *.cert with *.key     a client certificate and its key
`--cert-dir D` names that directory itself.
"""

from __future__ import annotations

import os

from ..errors import InvalidArgument

DEFAULT_CERTS_DIRS = ("/etc/containers/certs.d", "/etc/docker/certs.d")


class TLSConfig:
    """Builds (and caches) an SSLContext per registry and verification mode."""

    def __init__(self, certs_dirs: tuple[str, ...] | list[str] = DEFAULT_CERTS_DIRS, cert_dir: str = ""):
        self.certs_dirs = tuple(certs_dirs)
        #: --cert-dir: used for every registry, instead of the per-host lookup
        self.cert_dir = cert_dir
        self._cache: dict[tuple[str, bool], object] = {}

    def host_dir(self, hostport: str) -> str | None:
        if self.cert_dir:
            return self.cert_dir
        for base in self.certs_dirs:
            d = os.path.join(base, hostport)
            if os.path.isdir(d):
                return d
        return None

    def context(self, hostport: str, verify: bool):
        key = (hostport, verify)
        ctx = self._cache.get(key)
        if ctx is None:
            ctx = self._cache[key] = self._build(hostport, verify)
        return ctx

    def _build(self, hostport: str, verify: bool):
        import ssl

        if verify:
            ctx = ssl.create_default_context()
        else:
            # No verification: no need to read the system's CA bundle either.
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        d = self.host_dir(hostport)
        if d is None:
            return ctx
        try:
            names = sorted(os.listdir(d))
        except OSError as e:
            raise InvalidArgument(f"reading certificates directory {d}: {e.strerror}") from None
        for name in names:
            path = os.path.join(d, name)
            try:
                if name.endswith(".crt"):
                    if verify:
                        ctx.load_verify_locations(cafile=path)
                elif name.endswith(".cert"):
                    key = path[:-5] + ".key"
                    if not os.path.exists(key):
                        raise InvalidArgument(f"missing key {os.path.basename(key)} for client certificate {path}")
                    ctx.load_cert_chain(path, key)
                elif name.endswith(".key") and not os.path.exists(path[:-4] + ".cert"):
                    raise InvalidArgument(f"missing client certificate {name[:-4]}.cert for key {path}")
            except ssl.SSLError as e:
                raise InvalidArgument(f"loading {path}: {e}") from None
        return ctx
