"""COPY's layer written straight from its sources: one tar stream of the
copied entries (and of the directories above the destination, with the
image's own metadata, so that the new layer does not change them), read
by the image store into a new layer.  No working overlay to fill and then
empty: each file is read once into the stream and written once, into the
layer.  The image is mounted read-only only to resolve the destination
(symlinks in it, what exists) and --chown names.
"""

from __future__ import annotations

import os
import stat
import tarfile

from ..errors import InvalidArgument
from ..proto.passwd import secure_join


class _Entry:
    __slots__ = ("name", "kind", "mode", "uid", "gid", "mtime", "src", "content", "link", "size")

    def __init__(self, name, kind, mode, uid, gid, mtime, src=None, content=None, link="", size=0):
        self.name, self.kind, self.mode, self.uid, self.gid = name, kind, mode, uid, gid
        self.mtime, self.src, self.content, self.link, self.size = mtime, src, content, link, size


def entries(builder, plan, root: str, sources_root: str | None) -> list[_Entry]:
    """What the layer holds, in order (parents first).  root: the image's
    root filesystem; sources_root: where --from sources live (else the
    context's real paths are in the plan)."""
    from .copying import _owner

    owner = _owner(root, plan.chown) if plan.chown else None
    out: dict[str, _Entry] = {}

    def resolved(inner: str) -> str:
        """inner with the image's symlinks in its directories followed (its last component kept)."""
        parent, base = os.path.split(inner.rstrip("/") or "/")
        real_parent = os.path.relpath(secure_join(root, parent), root)
        rel = os.path.normpath(os.path.join(real_parent, base)) if base else real_parent
        return "" if rel == "." else rel

    def parents(rel: str, own) -> None:
        cur = ""
        for comp in [c for c in rel.split("/") if c][:-1]:
            cur = f"{cur}/{comp}" if cur else comp
            if cur in out:
                continue
            path = os.path.join(root, cur)
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                st = None
            if st is not None and stat.S_ISDIR(st.st_mode):
                out[cur] = _Entry(cur, tarfile.DIRTYPE, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_mtime)
            else:
                out[cur] = _Entry(cur, tarfile.DIRTYPE, 0o755, *(own or (0, 0)), _now())

    def add(rel: str, path: str | None, st, own, content: bytes | None = None, mode: int | None = None) -> None:
        if not rel:
            return
        parents(rel, own)
        uid, gid = own if own is not None else (st.st_uid, st.st_gid)
        m = plan.chmod if plan.chmod is not None else (mode if mode is not None else stat.S_IMODE(st.st_mode))
        if content is not None:
            out[rel] = _Entry(rel, tarfile.REGTYPE, m, uid, gid, _now(), content=content, size=len(content))
        elif stat.S_ISDIR(st.st_mode):
            out[rel] = _Entry(rel, tarfile.DIRTYPE, m, uid, gid, st.st_mtime)
        elif stat.S_ISLNK(st.st_mode):
            out[rel] = _Entry(rel, tarfile.SYMTYPE, stat.S_IMODE(st.st_mode), uid, gid, st.st_mtime, link=os.readlink(path))
        elif stat.S_ISREG(st.st_mode):
            out[rel] = _Entry(rel, tarfile.REGTYPE, m, uid, gid, st.st_mtime, src=path, size=st.st_size)

    def dest_dir(own) -> str:
        rel = os.path.relpath(secure_join(root, plan.dest), root)
        rel = "" if rel == "." else rel
        if rel and rel not in out:
            path = os.path.join(root, rel)
            if os.path.isdir(path) and not os.path.islink(path):
                st = os.lstat(path)
                parents(rel + "/x", own)
                out[rel] = _Entry(rel, tarfile.DIRTYPE, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_mtime)
            else:
                parents(rel + "/x", own)
                out[rel] = _Entry(rel, tarfile.DIRTYPE, 0o755, *(own or (0, 0)), _now())
        return rel

    into_dir = plan.dest_is_dir or os.path.isdir(secure_join(root, plan.dest))
    for src in plan.sources:
        own = owner if owner is not None else ((0, 0) if sources_root is None else None)
        if src.content is not None:
            base = dest_dir(own) if into_dir else None
            rel = f"{base}/{src.name}".lstrip("/") if into_dir else resolved(plan.dest)
            add(rel, None, None, own or (0, 0), content=src.content, mode=0o644)
            continue
        path = secure_join(sources_root, src.path) if sources_root is not None else src.path
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise InvalidArgument(f"COPY --from={plan.from_ref}: {src.path}: no such file or directory") from None
        if stat.S_ISDIR(st.st_mode):
            base = dest_dir(own if own is not None else (st.st_uid, st.st_gid))
            if sources_root is None:
                walk = builder.context.walk(src.context_rel or "", path)
                next(walk)
                for crel, cpath, cst in walk:
                    inner = crel[len(src.context_rel) + 1:] if src.context_rel else crel
                    add(f"{base}/{inner}".lstrip("/"), cpath, cst, own)
            else:
                for dirpath, dirnames, filenames in os.walk(path):
                    dirnames.sort()
                    for name in dirnames + sorted(filenames):
                        p = os.path.join(dirpath, name)
                        add(f"{base}/{os.path.relpath(p, path)}".lstrip("/"), p, os.lstat(p), own)
        else:
            if into_dir:
                base = dest_dir(own if own is not None else (st.st_uid, st.st_gid))
                rel = f"{base}/{src.name}".lstrip("/")
            else:
                rel = resolved(plan.dest)
            add(rel, path, st, own)
    return list(out.values())





def _now() -> float:
    import time

    return time.time()


def write_tar(items: list[_Entry], out) -> None:
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for e in items:
            info = tarfile.TarInfo(e.name)
            info.type = e.kind
            info.mode = e.mode
            info.uid, info.gid = e.uid, e.gid
            info.mtime = int(e.mtime)
            if e.kind == tarfile.SYMTYPE:
                info.linkname = e.link
            if e.kind == tarfile.REGTYPE:
                if e.content is not None:
                    import io

                    info.size = len(e.content)
                    tar.addfile(info, io.BytesIO(e.content))
                    continue
                with open(e.src, "rb") as f:
                    info.size = os.fstat(f.fileno()).st_size
                    tar.addfile(info, f)
            else:
                tar.addfile(info)


def layer_from_entries(store, items: list[_Entry]) -> str:
    """The entries as a new layer of the store."""
    from ..storage.commit import layer_from_stream

    return layer_from_stream(store, lambda out: write_tar(items, out), "of COPY", "COPY")
