"""COPY and ADD: what a step copies (its plan: sources, destination, owner,
mode, and a digest of the content for the cache key), and the copy itself
into a working overlay of the image.

Sources come from the build context (paths and globs that cannot leave it),
from an earlier stage or an image (`--from`, paths resolved inside that
root filesystem), from heredocs, and for ADD from URLs.  Destinations are
resolved inside the image's root filesystem, whatever symlinks it holds, and
nothing already there is written through: a file or link in the way is
replaced, never followed.
"""

from __future__ import annotations

import hashlib
import os
import stat

from ..errors import InvalidArgument, NoSuchImage, PypodError
from ..proto.passwd import secure_join
from ..record import field, record
from .containerfile import ContainerfileError, arg_list, expand

_TAR_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd")


@record
class Source:
    #: where the name the destination gets comes from
    name: str
    #: a real path on the host (context or mounted stage), or "" for content
    path: str = ""
    content: bytes | None = None
    #: a URL to fetch (ADD)
    url: str = ""
    #: relative path in the context, for walking with its ignore rules ("" outside the context)
    context_rel: str | None = None


@record
class CopyPlan:
    keyword: str
    sources: list[Source]
    dest: str
    dest_is_dir: bool
    chown: str = ""
    chmod: int | None = None
    #: the root the sources live in when they come from a stage or an image
    from_layers: list[str] = field(default_factory=list)
    from_ref: str = ""
    digest: str = ""
    describe: str = ""


def plan_copy(builder, cf, state, ins, env: dict[str, str]) -> CopyPlan:
    what = f"{ins.keyword}"
    args = arg_list(ins, env, cf.escape)
    docs = {d.name: d for d in ins.heredocs}
    if len(args) < 2:
        raise ContainerfileError(f"{cf.filename}:{ins.line}: {ins.keyword} requires at least two arguments, but only {len(args)} provided")
    srcs, dest = args[:-1], args[-1]
    workdir = state.config.get("WorkingDir") or "/"
    abs_dest = dest if dest.startswith("/") else os.path.join(workdir, dest) + ("/" if dest.endswith("/") or dest in (".", "./") else "")
    chown = expand(ins.flag("chown") or "", env, cf.escape)
    chmod = None
    if ins.flag("chmod"):
        raw = expand(ins.flag("chmod"), env, cf.escape)
        try:
            chmod = int(raw, 8)
            if chmod > 0o7777:
                raise ValueError
        except ValueError:
            raise ContainerfileError(f"{cf.filename}:{ins.line}: invalid --chmod {raw!r}: an octal mode") from None
    plan = CopyPlan(ins.keyword, [], abs_dest, False, chown, chmod)
    h = hashlib.sha256()
    from_ref = expand(ins.flag("from") or "", env, cf.escape)
    if from_ref:
        if ins.keyword == "ADD":
            raise ContainerfileError(f"{cf.filename}:{ins.line}: ADD does not take --from")
        plan.from_ref = from_ref
        img = _from_image(builder, cf, from_ref, state)
        plan.from_layers = img.layer_dirs if img else []
        h.update(f"from:{img.id if img else 'scratch'}".encode())
        for s in srcs:
            plan.sources.append(Source(os.path.basename(s.rstrip("/")) or "/", path=s))
            h.update(b"\0" + s.encode())
    else:
        ctx_sources = []
        for s in srcs:
            if s.startswith("<<") and s[2:].lstrip("-").strip("\"'") in docs:
                d = docs[s[2:].lstrip("-").strip("\"'")]
                body = d.body if d.literal else expand(d.body, env, cf.escape)
                plan.sources.append(Source(d.name, content=body.encode()))
                h.update(b"heredoc\0" + body.encode())
            elif ins.keyword == "ADD" and (s.startswith("http://") or s.startswith("https://")):
                plan.sources.append(Source(_url_name(s), url=s))
                h.update(b"url\0" + s.encode())
            elif s.startswith("git@") or s.endswith(".git") and "://" in s:
                raise ContainerfileError(f"{cf.filename}:{ins.line}: {ins.keyword} of a git repository is not supported")
            else:
                for rel, real in builder.context.sources(s, what):
                    ctx_sources.append((rel, real))
                    plan.sources.append(Source(os.path.basename(rel) or ".", path=real, context_rel=rel))
        if ctx_sources:
            h.update(builder.context.digest(ctx_sources).encode())
    plan.dest_is_dir = abs_dest.endswith("/") or len(plan.sources) > 1 or any(c in "".join(srcs) for c in "*?[")
    plan.digest = h.hexdigest()
    plan.describe = f"{'dir' if plan.dest_is_dir else 'file'}:{plan.digest} in {dest}"
    return plan


def _from_image(builder, cf, ref: str, state):
    stage = cf.stage(ref)
    if stage is not None and stage.index < state.stage.index:
        res = builder.results.get(stage.index)
        if res is None:
            raise InvalidArgument(f"COPY --from={ref}: stage {ref} was not built")
        return res.image
    if stage is not None:
        raise InvalidArgument(f"COPY --from={ref}: a stage can only copy from the stages before it")
    try:
        return builder._base_image(ref)
    except (NoSuchImage, PypodError) as e:
        raise InvalidArgument(f"COPY --from={ref}: {e}") from None


def _url_name(url: str) -> str:
    import urllib.parse

    name = os.path.basename(urllib.parse.urlsplit(url).path.rstrip("/"))
    return name or "index.html"


# -- the copy ------------------------------------------------------------------------------


def apply_copy(builder, plan: CopyPlan, root: str, state) -> None:
    """Copy the plan's sources into root (the working overlay's merged dir)."""
    owner = _owner(root, plan.chown) if plan.chown else None
    for src in plan.sources:
        if src.content is not None:
            target = _target(root, plan, src.name)
            _write_bytes(root, target, src.content, owner or (0, 0), plan.chmod if plan.chmod is not None else 0o644)
        elif src.url:
            target = _target(root, plan, src.name)
            _fetch(root, target, src.url, owner or (0, 0), plan.chmod if plan.chmod is not None else 0o600)
        else:
            st = os.stat(src.path)
            if plan.keyword == "ADD" and stat.S_ISREG(st.st_mode) and _is_archive(src.path):
                _extract(root, plan.dest, src.path)
                continue
            if stat.S_ISDIR(st.st_mode):
                base = plan.dest
                entries = builder.context.walk(src.context_rel or "", src.path)
                next(entries)  # the directory itself: its contents go to dest
                _ensure_dir(root, base, owner or (0, 0), None)
                for rel, path, est in entries:
                    inner = rel[len(src.context_rel) + 1:] if src.context_rel else rel
                    _copy_entry(root, os.path.join(base, inner), path, est, owner or (0, 0), plan.chmod)
            else:
                _copy_entry(root, _target(root, plan, src.name), src.path, st, owner or (0, 0), plan.chmod)


def needs_overlay(plan: CopyPlan) -> bool:
    """What ADD fetches or unpacks is written into a working overlay; the
    rest becomes a layer straight from its sources."""
    if any(s.url for s in plan.sources):
        return True
    return plan.keyword == "ADD" and any(s.path and os.path.isfile(s.path) and _is_archive(s.path) for s in plan.sources)


def _owner(root: str, spec: str) -> tuple[int, int]:
    from ..proto.passwd import get_user_group_info

    user, sep, group = spec.partition(":")
    info = get_user_group_info(root, spec if sep else user)
    if not sep:
        # --chown=USER alone: the user's primary group (a number alone: the same number)
        return info.uid, (int(user) if user.isdigit() else info.gid)
    return info.uid, info.gid


def _target(root: str, plan: CopyPlan, name: str) -> str:
    return os.path.join(plan.dest, name) if plan.dest_is_dir or _is_dir(root, plan.dest) else plan.dest


def _is_dir(root: str, inner: str) -> bool:
    return os.path.isdir(secure_join(root, inner))


def _ensure_dir(root: str, inner: str, owner: tuple[int, int], mode: int | None) -> str:
    """Make inner and its missing parents (0755, owned as the copied files are, as buildah does) inside root."""
    parts = [p for p in inner.split("/") if p]
    cur = "/"
    for i, comp in enumerate(parts):
        cur = os.path.join(cur, comp)
        path = secure_join(root, cur)
        if os.path.isdir(path):
            continue
        if os.path.lexists(path):
            os.unlink(path)
        os.mkdir(path, 0o755)
        os.chown(path, *owner)
        if i == len(parts) - 1:
            if mode is not None:
                os.chmod(path, mode)
    return secure_join(root, inner)


def _place(root: str, inner: str, owner: tuple[int, int]) -> str:
    """The host path for inner, with its parent made and anything but a
    directory at its name out of the way."""
    parent = _ensure_dir(root, os.path.dirname(inner.rstrip("/")) or "/", owner, None)
    path = os.path.join(parent, os.path.basename(inner.rstrip("/")))
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return path
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(path)
    return path


def _copy_entry(root: str, inner: str, src: str, st: os.stat_result, owner: tuple[int, int], chmod: int | None) -> None:
    mode = chmod if chmod is not None else stat.S_IMODE(st.st_mode)
    if stat.S_ISDIR(st.st_mode):
        path = _place(root, inner, owner)
        if not os.path.isdir(path):
            os.mkdir(path, 0o700)
        os.chown(path, *owner)
        os.chmod(path, mode)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        return
    path = _place(root, inner, owner)
    if stat.S_ISLNK(st.st_mode):
        if os.path.isdir(path) and not os.path.islink(path):
            from ..storage.tree import remove_tree

            remove_tree(path)
        os.symlink(os.readlink(src), path)
        os.lchown(path, *owner)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
        return
    if not stat.S_ISREG(st.st_mode):
        return  # devices, fifos and sockets in a context are not copied
    if os.path.isdir(path):
        from ..storage.tree import remove_tree

        remove_tree(path)
    sfd = os.open(src, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    try:
        dfd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            size = st.st_size
            off = 0
            while off < size:
                n = os.sendfile(dfd, sfd, off, min(size - off, 1 << 30))
                if n == 0:
                    break
                off += n
            os.fchown(dfd, *owner)
            os.fchmod(dfd, mode)
            os.utime(dfd, ns=(st.st_atime_ns, st.st_mtime_ns))
        finally:
            os.close(dfd)
    finally:
        os.close(sfd)


def _write_bytes(root: str, inner: str, data: bytes, owner: tuple[int, int], mode: int) -> None:
    path = _place(root, inner, owner)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, data)
        os.fchown(fd, *owner)
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def _fetch(root: str, inner: str, url: str, owner: tuple[int, int], mode: int) -> None:
    import urllib.error
    import urllib.request

    try:
        resp = urllib.request.urlopen(url, timeout=30)
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise InvalidArgument(f"ADD {url}: the URL cannot be fetched: {getattr(e, 'reason', e)}") from None
    path = _place(root, inner, owner)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        with resp:
            while chunk := resp.read(1 << 20):
                os.write(fd, chunk)
        os.fchown(fd, *owner)
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def _is_archive(path: str) -> bool:
    import tarfile

    with open(path, "rb") as f:
        head = f.read(6)
    if any(head.startswith(m) for m in _TAR_MAGIC):
        return True
    try:
        return tarfile.is_tarfile(path)
    except OSError:
        return False


def _extract(root: str, dest: str, archive: str) -> None:
    from ..storage.archive import extract_layer

    target = _ensure_dir(root, dest, (0, 0), None)  # ADD's archives keep their own owners
    with open(archive, "rb") as f:
        try:
            extract_layer(f, target, compressed=True)
        except InvalidArgument as e:
            raise InvalidArgument(f"ADD {os.path.basename(archive)}: {e}") from None
