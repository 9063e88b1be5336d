"""What a RUN container has mounted besides its root filesystem: the build's
--volume and --secret, and the instruction's own `--mount=type=...`:

  bind    a context path (or, with from=, a path of a stage or image), read-only unless rw
  cache   a directory kept across builds under the storage dir (by id, else by target)
  tmpfs   a fresh tmpfs
  secret  a --secret's file, at /run/secrets/ID unless target= says otherwise

None of them enters the step's layer.
"""

from __future__ import annotations

import hashlib
import os

from ..engine.container import Mount
from ..errors import InvalidArgument


def parse_mount(spec: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in spec.split(","):
        if not part:
            continue
        k, eq, v = part.partition("=")
        k = k.strip().lower()
        out[k] = v if eq else "true"
    if "type" not in out:
        out["type"] = "bind"
    if out["type"] not in ("bind", "cache", "tmpfs", "secret"):
        raise InvalidArgument(f"RUN --mount: unsupported mount type {out['type']!r}: bind, cache, tmpfs or secret")
    for alias, key in (("dst", "target"), ("destination", "target"), ("src", "source")):
        if alias in out:
            out.setdefault(key, out.pop(alias))
    return out


def run_mounts(builder, state, ins) -> list[Mount]:
    out = [_volume(v) for v in builder.opts.volumes]
    for spec in ins.flag_all("mount"):
        m = parse_mount(spec)
        kind = m["type"]
        if kind == "secret":
            sid = m.get("id") or os.path.basename(m.get("target", ""))
            path = builder.opts.secrets.get(sid)
            if path is None:
                if m.get("required") in ("true", "1"):
                    raise InvalidArgument(f"RUN --mount=type=secret: no secret with id {sid!r} (give it with --secret id={sid},src=PATH)")
                continue
            out.append(Mount(m.get("target") or f"/run/secrets/{sid}", path, "bind", ["ro", "rbind"]))
            continue
        target = m.get("target")
        if not target:
            raise InvalidArgument(f"RUN --mount=type={kind}: target= is required")
        if not target.startswith("/"):
            target = os.path.join(state.config.get("WorkingDir") or "/", target)
        if kind == "tmpfs":
            opts = ["rw", "nosuid", "nodev"] + ([f"size={m['size']}"] if m.get("size") else [])
            out.append(Mount(target, "tmpfs", "tmpfs", opts))
        elif kind == "cache":
            cid = m.get("id") or target
            d = os.path.join(builder.engine.config.storage_dir, "build-cache-mounts",
                             hashlib.sha256(cid.encode()).hexdigest()[:32])
            os.makedirs(d, mode=0o755, exist_ok=True)
            ro = m.get("readonly", m.get("ro")) in ("true", "1")
            out.append(Mount(target, d, "bind", ["ro" if ro else "rw", "rbind"]))
        else:
            out.append(_bind(builder, state, m, target))
    return out


def _volume(spec: str) -> Mount:
    parts = spec.split(":")
    if len(parts) < 2 or not parts[0] or not parts[1].startswith("/"):
        raise InvalidArgument(f"--volume {spec!r}: HOST-DIR:CONTAINER-DIR[:OPTIONS]")
    if not os.path.exists(parts[0]):
        raise InvalidArgument(f"--volume {spec!r}: {parts[0]}: no such file or directory")
    opts = [o for o in (parts[2].split(",") if len(parts) > 2 else []) if o in ("ro", "rw")] or ["rw"]
    return Mount(parts[1], os.path.realpath(parts[0]), "bind", [*opts, "rbind"])


def _bind(builder, state, m: dict[str, str], target: str) -> Mount:
    rw = m.get("rw", m.get("readwrite")) in ("true", "1")
    src = m.get("source", "")
    if m.get("from"):
        from ..proto.passwd import secure_join

        from .copying import _from_image

        cf = builder.containerfile
        img = _from_image(builder, cf, m["from"], state)
        root = builder.mounted_root(img)
        path = secure_join(root, src or "/")
    else:
        path = builder.context.resolve(src, "RUN --mount=type=bind") if src else builder.context.root
    if not os.path.exists(path):
        raise InvalidArgument(f"RUN --mount=type=bind: source {src or '/'}: no such file or directory")
    return Mount(target, path, "bind", ["rw" if rw else "ro", "rbind"])
