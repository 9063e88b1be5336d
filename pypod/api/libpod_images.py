"""libpod's image routes beyond Docker's, in the shapes podman's remote
client decodes: history, tree, untag, prune and export (save in any of
podman's four formats)."""

from __future__ import annotations

from ..errors import InvalidArgument
from .common import EngineScope, piped, with_engine
from .docker import _list_filters
from .http import Request, Response, Router
from .validate import FILTERS, Q, validated


@with_engine
def image_history(req: Request, eng) -> Response:
    from ..engine.images import history

    return Response(200, [{"Id": r["id"], "Created": int(r["created"]), "CreatedBy": r["CreatedBy"], "Tags": r["Tags"],
                           "Size": r["size"], "Comment": r["Comment"]} for r in history(eng, req.params["name"])])


@validated(query={"whatrequires": Q.bool()})
@with_engine
def image_tree(req: Request, eng) -> Response:
    from ..engine.images import tree

    return Response(200, {"Tree": tree(eng, req.params["name"], what_requires=req.qbool("whatrequires"))})


@validated(query={"repo": Q.str(1024), "tag": Q.str(128)})
@with_engine
def image_untag(req: Request, eng) -> Response:
    """Without repo, every name of the image goes (podman untag IMAGE)."""
    ref = req.params["name"]
    img = eng.images.lookup(ref)
    repo = req.q("repo")
    name = f"{repo}:{req.q('tag') or 'latest'}" if repo else None
    for gone in eng.images.untag(ref if name is None else img.id, name):
        eng.events.write("image", "untag", img.id, gone)
    return Response(201, b"", "text/plain")


@validated(query={"all": Q.bool(), "external": Q.bool(), "filters": Q.json(FILTERS)})
@with_engine
def images_prune(req: Request, eng) -> Response:
    from ..engine.images import prune

    filters = [f"{k}={v}" for k, values in _list_filters(req).items() for v in values]
    removed = prune(eng, all_=req.qbool("all"), filters=filters, external=req.qbool("external"))
    return Response(200, [{"Id": iid, "Err": None, "Size": size} for iid, size in removed])


EXPORT_FORMATS = ("docker-archive", "oci-archive", "oci-dir", "docker-dir")


@validated(query={"references": Q.str(65536), "format": Q.str(32, EXPORT_FORMATS), "compress": Q.bool(),
                  "ociacceptuncompressedlayers": Q.bool(), "multiimagearchive": Q.bool()})
def images_export(req: Request) -> Response:
    """A tar stream: the archive itself, or (the -dir formats) the directory
    tarred, which podman's client unpacks where -o says."""
    refs = req.qnames("references")
    if not refs:
        raise InvalidArgument("no image names given")
    fmt = req.q("format") or "docker-archive"
    if fmt.endswith("-dir") and len(refs) > 1:
        raise InvalidArgument(f"unsupported format {fmt!r} for saving multiple images or names")
    with EngineScope(req) as eng:
        for r in refs:
            eng.images.lookup(r)
    multi = req.qbool("multiimagearchive")
    uncompressed = req.qbool("ociacceptuncompressedlayers")

    def write(eng, out) -> None:
        if fmt.endswith("-dir"):
            _write_dir_tar(eng, fmt, refs[0], out, compress=req.qbool("compress"), uncompressed=uncompressed)
            return
        names, extra = (refs, []) if multi else (refs[:1], refs[1:])
        eng.images.save(names, out, fmt=fmt, extra_names=extra, compress_oci=fmt == "oci-archive" and not uncompressed)

    return piped(req, write)


def _write_dir_tar(eng, fmt: str, ref: str, out, compress: bool, uncompressed: bool) -> None:
    import shutil
    import tarfile
    import tempfile

    from ..storage import image_dirs

    with eng.images.locked(exclusive=False):  # a sweep of leftovers waits for the spool directory
        tmp = tempfile.mkdtemp(prefix="export-", dir=eng.images.tmp_dir)
        try:
            if fmt == "oci-dir":
                image_dirs.save_oci_dir(eng.images, [ref], tmp, compress=not uncompressed)
            else:
                image_dirs.save_docker_dir(eng.images, ref, tmp, compress=compress)
            with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                tar.add(tmp, arcname=".")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def register(router: Router) -> None:
    router.add("GET", "/libpod/images/{name*}/history", image_history)
    router.add("GET", "/libpod/images/{name*}/tree", image_tree)
    router.add("POST", "/libpod/images/{name*}/untag", image_untag)
    router.add("POST", "/libpod/images/prune", images_prune)
    router.add("GET", "/libpod/images/export", images_export)
