"""What a container changed in its image's files (`diff`), what an image's
top layer changed in its parent's, and a container's files as one tar
(`export`).

An image's files are its unpacked layers seen as overlayfs sees them: the
top layer first, a whiteout (0/0 character device) hiding a path below, an
opaque directory hiding everything below it.  A container's changes on
overlay are its writable layer; on vfs, the difference between its copy and
the image.
"""

from __future__ import annotations

import os
import stat

from ..storage.archive import OVERLAY_OPAQUE_XATTR

#: paths the engine or the runtime makes in every container: not the user's changes (libpod's list)
INIT_PATHS = frozenset(("/dev", "/etc/hostname", "/etc/hosts", "/etc/resolv.conf", "/proc", "/run", "/run/notify",
                        "/run/.containerenv", "/run/secrets", "/sys", "/etc/mtab"))


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _is_opaque(path: str) -> bool:
    try:
        return os.getxattr(path, OVERLAY_OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


class LayerView:
    """Layer directories (bottom first) seen as one tree."""

    def __init__(self, layer_dirs: list[str]):
        self.layers = list(reversed(layer_dirs))  # top first

    def lstat(self, rel: str) -> os.stat_result | None:
        """The entry at rel ("etc/passwd") as the union shows it, or None."""
        parts = [p for p in rel.split("/") if p]
        for layer in self.layers:
            hidden_below = False
            path = layer
            for i, part in enumerate(parts):
                path = os.path.join(path, part)
                try:
                    st = os.lstat(path)
                except FileNotFoundError:
                    st = None
                except NotADirectoryError:
                    st = None
                    break
                if st is not None and _is_whiteout(st):
                    return None  # deleted in this layer: nothing below counts
                if st is None:
                    break
                if i == len(parts) - 1:
                    return st
                if stat.S_ISDIR(st.st_mode) and _is_opaque(path):
                    hidden_below = True
            if hidden_below:
                return None
        return None

    def walk(self) -> list[tuple[str, os.stat_result]]:
        """(rel path, stat) of every entry the union shows, sorted by path."""
        seen: dict[str, os.stat_result] = {}
        hidden: set[str] = set()  # whiteouts and opaque dirs of upper layers: nothing below them counts

        def covered(rel: str) -> bool:
            parts = rel.split("/")
            return any("/".join(parts[:i]) in hidden for i in range(1, len(parts) + 1))

        for layer in self.layers:
            opaque = []
            for dirpath, dirnames, filenames in os.walk(layer):
                rel_dir = os.path.relpath(dirpath, layer)
                rel_dir = "" if rel_dir == "." else rel_dir
                for name in dirnames + filenames:
                    rel = f"{rel_dir}/{name}" if rel_dir else name
                    if rel in seen or covered(rel):
                        continue
                    path = os.path.join(dirpath, name)
                    st = os.lstat(path)
                    if _is_whiteout(st):
                        opaque.append(rel)
                        continue
                    seen[rel] = st
                    if stat.S_ISDIR(st.st_mode) and _is_opaque(path):
                        opaque.append(rel)
            hidden.update(opaque)
        return sorted(seen.items())


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    if stat.S_IFMT(a.st_mode) != stat.S_IFMT(b.st_mode) or a.st_mode != b.st_mode:
        return False
    if (a.st_uid, a.st_gid) != (b.st_uid, b.st_gid):
        return False
    if stat.S_ISDIR(a.st_mode):
        return True
    return a.st_size == b.st_size and int(a.st_mtime) == int(b.st_mtime)


def overlay_changes(upper: str, below: LayerView, exclude=frozenset()) -> list[tuple[str, str]]:
    """[(kind, "/path")] for an overlay writable layer over the image below:
    A added, C changed, D deleted (podman's letters), sorted by path."""
    out = []
    for dirpath, dirnames, filenames in os.walk(upper):
        rel_dir = os.path.relpath(dirpath, upper)
        rel_dir = "" if rel_dir == "." else rel_dir
        for name in sorted(dirnames + filenames):
            rel = f"{rel_dir}/{name}" if rel_dir else name
            path = "/" + rel
            if path in exclude or path in INIT_PATHS:
                continue
            st = os.lstat(os.path.join(dirpath, name))
            present = below.lstat(rel) is not None
            if _is_whiteout(st):
                if present:
                    out.append(("D", path))
            else:
                out.append(("C" if present else "A", path))
    return sorted(out, key=lambda c: c[1])


def tree_changes(root: str, below: LayerView, exclude=frozenset()) -> list[tuple[str, str]]:
    """The same for a full copy (vfs): compare every entry with the image's."""
    image = dict(below.walk())
    out = []
    found = set()
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        rel_dir = "" if rel_dir == "." else rel_dir
        for name in dirnames + filenames:
            rel = f"{rel_dir}/{name}" if rel_dir else name
            found.add(rel)
            path = "/" + rel
            if path in exclude or path in INIT_PATHS:
                continue
            st = os.lstat(os.path.join(dirpath, name))
            if rel not in image:
                out.append(("A", path))
            elif not _same(st, image[rel]):
                out.append(("C", path))
    for rel in image:
        if rel not in found and "/" + rel not in INIT_PATHS:
            parent = rel.rpartition("/")[0]
            if not parent or parent in found:  # a deleted directory's children are not listed again
                out.append(("D", "/" + rel))
    return sorted(out, key=lambda c: c[1])


def container_changes(ctr) -> list[tuple[str, str]]:
    """What the container changed, as `podman diff` lists it."""
    eng = ctr.engine
    cfg = ctr.config
    exclude = {m.destination for m in cfg.mounts}
    if cfg.rootfs:
        return []  # a plain directory has no image to differ from
    image = eng.images.lookup(cfg.image_id)
    below = LayerView(image.layer_dirs)
    storage = eng.container_storage
    if getattr(storage, "full_copy", False):
        root = storage.merged_dir(ctr.id)
        return tree_changes(root, below, exclude) if os.path.isdir(root) else []
    upper = storage.upper_dir(ctr.id)
    return overlay_changes(upper, below, exclude) if os.path.isdir(upper) else []


def image_changes(engine, ref: str, other: str = "") -> list[tuple[str, str]]:
    """An image's changes over its parent (its top layer over the ones
    below), or over another image when one is named."""
    img = engine.images.lookup(ref)
    if other:
        base = engine.images.lookup(other)
        theirs = dict(LayerView(base.layer_dirs).walk())
        mine = dict(LayerView(img.layer_dirs).walk())
        out = [("A" if rel not in theirs else "C", "/" + rel) for rel, st in mine.items()
               if rel not in theirs or not _same(st, theirs[rel])]
        out += [("D", "/" + rel) for rel in theirs if rel not in mine]
        return sorted(out, key=lambda c: c[1])
    dirs = img.layer_dirs
    if not dirs:
        return []
    return overlay_changes(dirs[-1], LayerView(dirs[:-1]))
