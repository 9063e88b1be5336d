"""What a layer changes over the layers below it: `diff`'s A, C and D.

A layer directory here is an overlay upper dir (a container's writable
layer) or an unpacked image layer: deletions are overlay whiteouts (0/0
character devices) and opaque directories (trusted.overlay.opaque=y).  A
path the layer holds is Added when no lower layer shows it, Changed when
one does (a copy-up is a change, as podman and Docker report it), and
Deleted when the layer whites it out.
"""

from __future__ import annotations

import os
import stat

def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _opaque(path: str) -> bool:
    from .archive import is_opaque

    return is_opaque(path)


def lower_stat(lowers: list[str], rel: str) -> os.stat_result | None:
    """What the stack of lowers (bottom first) shows at rel, or None."""
    parts = rel.split("/")
    for layer in reversed(lowers):
        opaque_above = False
        missing = False
        for i in range(1, len(parts)):
            parent = os.path.join(layer, *parts[:i])
            try:
                pst = os.lstat(parent)
            except (FileNotFoundError, NotADirectoryError):
                missing = True
                break
            if _is_whiteout(pst) or not stat.S_ISDIR(pst.st_mode):
                return None  # this layer deleted or replaced a parent: nothing below shows
            if _opaque(parent):
                opaque_above = True  # the layers below are hidden here
        if not missing:
            try:
                st = os.lstat(os.path.join(layer, *parts))
            except (FileNotFoundError, NotADirectoryError):
                st = None
            if st is not None:
                return None if _is_whiteout(st) else st
        if opaque_above:
            return None
    return None


def layer_changes(upper: str, lowers: list[str]) -> list[tuple[str, str]]:
    """(kind, "/path") for every change upper makes over lowers, by path."""
    out: list[tuple[str, str]] = []
    _walk(upper, "", lowers, False, out)
    out.sort(key=lambda c: c[1])
    return out


def _walk(top: str, rel: str, lowers: list[str], added: bool, out: list) -> None:
    here = os.path.join(top, rel) if rel else top
    try:
        with os.scandir(here) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError:
        return
    for e in entries:
        path = f"{rel}/{e.name}" if rel else e.name
        try:
            st = e.stat(follow_symlinks=False)
        except OSError:
            continue
        if _is_whiteout(st):
            if not added:
                out.append(("D", "/" + path))
            continue
        old = None if added else lower_stat(lowers, path)
        if old is None:
            out.append(("A", "/" + path))
        else:
            out.append(("C", "/" + path))
        if stat.S_ISDIR(st.st_mode):
            opaque = old is not None and _opaque(e.path)
            if opaque:
                _deleted_below(path, lowers, {c.name for c in os.scandir(e.path)}, out)
            _walk(top, path, lowers, added or old is None, out)


def _deleted_below(rel: str, lowers: list[str], kept: set[str], out: list) -> None:
    """An opaque directory hides what the lowers held in it: each such name is deleted."""
    names: set[str] = set()
    for layer in lowers:
        d = os.path.join(layer, rel)
        try:
            names.update(n for n in os.listdir(d))
        except OSError:
            continue
    for name in sorted(names - kept):
        if lower_stat(lowers, f"{rel}/{name}") is not None:
            out.append(("D", f"/{rel}/{name}"))


# -- whole trees: a vfs container's copy, one image against another ----------------------


def union_entries(layer_dirs: list[str]) -> dict[str, os.stat_result]:
    """{rel path: lstat} of every entry the stack of layers (bottom first) shows."""
    seen: dict[str, os.stat_result] = {}
    hidden: set[str] = set()  # whiteouts and opaque dirs of upper layers: nothing below them shows

    def covered(rel: str) -> bool:
        parts = rel.split("/")
        return any("/".join(parts[:i]) in hidden for i in range(1, len(parts) + 1))

    for layer in reversed(layer_dirs):
        hides = []
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
                    hides.append(rel)
                    continue
                seen[rel] = st
                if stat.S_ISDIR(st.st_mode) and _opaque(path):
                    hides.append(rel)
        hidden.update(hides)
    return seen


def same_entry(a: os.stat_result, b: os.stat_result) -> bool:
    """No change between two entries by type, mode, owner, and (not for directories) size and mtime."""
    if a.st_mode != b.st_mode or (a.st_uid, a.st_gid) != (b.st_uid, b.st_gid):
        return False
    return stat.S_ISDIR(a.st_mode) or (a.st_size == b.st_size and int(a.st_mtime) == int(b.st_mtime))


def entries_changes(mine: dict[str, os.stat_result], base: dict[str, os.stat_result]) -> list[tuple[str, str]]:
    """(kind, "/path") between two trees' entries; a deleted directory's children are not listed again."""
    out = [("A" if rel not in base else "C", "/" + rel) for rel, st in mine.items()
           if rel not in base or not same_entry(st, base[rel])]
    for rel in base:
        parent = rel.rpartition("/")[0]
        if rel not in mine and (not parent or parent in mine):
            out.append(("D", "/" + rel))
    out.sort(key=lambda c: c[1])
    return out


def tree_entries(root: str) -> dict[str, os.stat_result]:
    """{rel path: lstat} of a plain directory tree (a vfs container's copy)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        rel_dir = "" if rel_dir == "." else rel_dir
        for name in dirnames + filenames:
            rel = f"{rel_dir}/{name}" if rel_dir else name
            out[rel] = os.lstat(os.path.join(dirpath, name))
    return out
