"""The build context: the directory COPY and ADD read from (a directory as
given, a tar unpacked into a private one, or an empty one), its ignore file,
and paths in it that can never reach outside it, whatever symlinks it holds.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import stat

from ..errors import InvalidArgument
from .ignore import IgnoreRules, parse_ignore

_GLOB_CHARS = set("*?[")
#: the kernel's own limit on symlinks followed in one lookup
_MAX_LINKS = 40


class ContextError(InvalidArgument):
    pass


class BuildContext:
    def __init__(self, root: str, ignorefile: str = "", cleanup: str = ""):
        self.root = os.path.realpath(root)
        #: a temporary directory to remove when the build ends
        self.cleanup = cleanup
        self.ignore = self._ignore_rules(ignorefile)

    def _ignore_rules(self, ignorefile: str) -> IgnoreRules:
        candidates = [ignorefile] if ignorefile else [os.path.join(self.root, n) for n in (".containerignore", ".dockerignore")]
        for path in candidates:
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    return parse_ignore(f.read())
            except FileNotFoundError:
                if ignorefile:
                    raise ContextError(f"ignore file {ignorefile}: no such file or directory") from None
            except OSError as e:
                raise ContextError(f"ignore file {path}: {e.strerror}") from None
        return IgnoreRules([])

    def close(self) -> None:
        if self.cleanup:
            from ..storage.tree import remove_tree

            remove_tree(self.cleanup, ignore_errors=True)

    # -- paths -----------------------------------------------------------------------

    def resolve(self, rel: str, what: str) -> str:
        """The real path of a context path (symlinks followed, each kept
        inside the context); refused if any step would leave it."""
        parts = [p for p in rel.split("/") if p not in ("", ".")]
        done: list[str] = []
        links = 0
        while parts:
            comp = parts.pop(0)
            if comp == "..":
                if not done:
                    raise ContextError(f"{what}: forbidden path outside the build context: {rel}")
                done.pop()
                continue
            cur = os.path.join(self.root, *done, comp)
            try:
                st = os.lstat(cur)
            except FileNotFoundError:
                done.append(comp)
                continue
            if not stat.S_ISLNK(st.st_mode):
                done.append(comp)
                continue
            links += 1
            if links > _MAX_LINKS:
                raise ContextError(f"{what}: {rel}: too many levels of symbolic links")
            target = os.readlink(cur)
            if target.startswith("/"):
                raise ContextError(f"{what}: {rel}: symlink {'/'.join([*done, comp])} -> {target} points outside the build context")
            depth = len(done)
            for t in target.split("/"):
                if t == "..":
                    depth -= 1
                    if depth < 0:
                        raise ContextError(f"{what}: {rel}: symlink {'/'.join([*done, comp])} -> {target} points outside the build context")
                elif t not in ("", "."):
                    depth += 1
            parts = [p for p in target.split("/") if p not in ("", ".")] + parts
        return os.path.join(self.root, *done)

    def sources(self, src: str, what: str) -> list[tuple[str, str]]:
        """(relative path, real path) of what a COPY/ADD source names: a path
        or a glob, relative to the context root, ignored paths left out."""
        clean = posixpath.normpath("/" + src.strip()).lstrip("/") if not src.startswith("..") else src
        if clean.startswith("..") or posixpath.normpath(src).startswith("../") or posixpath.normpath(src) == "..":
            raise ContextError(f"{what}: forbidden path outside the build context: {src}")
        if not _GLOB_CHARS & set(clean):
            if self.ignore.excluded(clean):
                raise ContextError(f"{what}: {src}: no such file or directory (excluded by the ignore file)")
            real = self.resolve(clean, what)
            if not os.path.lexists(real):
                raise ContextError(f"{what}: {src}: no such file or directory in the build context")
            return [(clean, real)]
        matches = []
        for rel in _glob(self.root, clean.split("/") if clean else []):
            if not self.ignore.excluded(rel):
                matches.append((rel, self.resolve(rel, what)))
        if not matches:
            raise ContextError(f"{what}: no source files were specified: {src} matches nothing in the build context")
        return sorted(matches)

    def walk(self, rel: str, real: str):
        """Entries under a source directory: (relative path in the context,
        path, lstat), parents first, ignored ones left out.  Symlinks are
        entries, never followed."""
        st = os.lstat(real)
        yield rel, real, st
        if not stat.S_ISDIR(st.st_mode):
            return
        stack = [(rel, real)]
        while stack:
            r, p = stack.pop()
            with os.scandir(p) as it:
                entries = sorted(it, key=lambda e: e.name)
            for e in entries:
                er = f"{r}/{e.name}" if r else e.name
                if self.ignore.excluded(er):
                    if e.is_dir(follow_symlinks=False) and self.ignore.has_exceptions:
                        stack.append((er, e.path))
                    continue
                est = e.stat(follow_symlinks=False)
                yield er, e.path, est
                if stat.S_ISDIR(est.st_mode):
                    stack.append((er, e.path))

    def digest(self, sources: list[tuple[str, str]]) -> str:
        """What a cache key needs of sources: names, kinds, modes, owners,
        link targets and file contents (not times: a touched file is the same)."""
        h = hashlib.sha256()
        for rel, real in sources:
            for er, path, st in self.walk(rel, real):
                h.update(f"{er}\0{st.st_mode:o}\0{st.st_uid}:{st.st_gid}\0".encode())
                if stat.S_ISLNK(st.st_mode):
                    h.update(os.fsencode(os.readlink(path)))
                elif stat.S_ISREG(st.st_mode):
                    with open(path, "rb") as f:
                        while chunk := f.read(1 << 20):
                            h.update(chunk)
                h.update(b"\n")
        return h.hexdigest()


def _glob(root: str, parts: list[str]) -> list[str]:
    """Context paths matching a pattern component by component (no symlink
    to a directory is followed while matching)."""
    import fnmatch

    found = [""]
    for i, pat in enumerate(parts):
        nxt = []
        for base in found:
            d = os.path.join(root, base)
            if not os.path.isdir(d) or os.path.islink(d):
                continue
            if _GLOB_CHARS & set(pat):
                names = sorted(n for n in os.listdir(d) if fnmatch.fnmatchcase(n, pat))
            else:
                names = [pat] if os.path.lexists(os.path.join(d, pat)) else []
            nxt += [f"{base}/{n}" if base else n for n in names]
        found = nxt
    return found


def open_context(engine, source: str | None, ignorefile: str = "", stream=None, build_id: str = "") -> BuildContext:
    """A directory as it is; a tar file (or stream) unpacked into a private
    directory under the storage's tmp dir; None for no context at all."""
    import tempfile

    from .. import private

    tmp_parent = os.path.join(engine.config.storage_dir, "tmp")
    private.makedirs(tmp_parent)
    if source and os.path.isdir(source):
        return BuildContext(source, ignorefile)
    tmp = tempfile.mkdtemp(prefix=f"build-context-{build_id}-", dir=tmp_parent)
    os.chmod(tmp, 0o755)
    try:
        if stream is not None or source:
            from ..storage.archive import extract_layer

            if stream is None:
                try:
                    f = open(source, "rb")
                except OSError as e:
                    raise ContextError(f"build context {source}: {e.strerror}") from None
            else:
                f = stream
            try:
                extract_layer(f, tmp, compressed=True)
            except InvalidArgument as e:
                raise ContextError(f"build context: not a directory or a readable tar archive: {e}") from None
            finally:
                if f is not stream:
                    f.close()
        return BuildContext(tmp, ignorefile, cleanup=tmp)
    except BaseException:
        from ..storage.tree import remove_tree

        remove_tree(tmp, ignore_errors=True)
        raise
