"""Volume specs as `-v` and Docker's `Binds` write them: SRC:DEST[:OPTIONS]."""

from __future__ import annotations

import os

from ..engine.container import Mount
from ..errors import InvalidArgument

def parse_volume(spec: str) -> Mount:
    parts = spec.split(":")
    if len(parts) == 1:
        raise InvalidArgument(f"invalid volume specification {spec!r}: anonymous volumes are not supported; use SRC:DEST")
    if len(parts) > 3:
        raise InvalidArgument("incorrect volume format, should be [host-dir:]ctr-dir[:option]")
    src, dest = parts[0], parts[1]
    opts = [o for o in parts[2].split(",") if o] if len(parts) == 3 else []
    for o in opts:
        if o not in ("ro", "rw", "z", "Z", "O", "U", "rbind", "bind", "nosuid", "nodev", "noexec", "suid", "dev", "exec",
                     "private", "rprivate", "shared", "rshared", "slave", "rslave"):
            raise InvalidArgument(f"invalid option {o!r} in volume {spec!r}")
    opts = [o for o in opts if o not in ("z", "Z", "O", "U", "rw")]
    if not src:
        raise InvalidArgument(f"invalid volume specification {spec!r}: host directory cannot be empty")
    if not dest.startswith("/"):
        raise InvalidArgument(f"invalid container path {dest!r}, must be an absolute path")
    if src.startswith("/") or src.startswith("."):
        src = os.path.abspath(src)
    return Mount(destination=os.path.normpath(dest), source=src, type="bind", options=opts)

