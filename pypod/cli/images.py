"""Image commands: images, rmi, tag, untag, load, save, import, history,
and `image tree|prune|exists|diff|mount|unmount`."""

from __future__ import annotations

import json
import os
import sys
import time

from ..errors import InvalidArgument, NoSuchImage, PypodError

IMAGE_HEADERS = {"ID": "IMAGE ID", "ReadOnly": "R/O", "CreatedBy": "CREATED BY"}


# -- images -------------------------------------------------------------------------


def add_images_args(p) -> None:
    p.add_argument("-a", "--all", action="store_true", help="show intermediate images too")
    p.add_argument("--digests", action="store_true", help="show each image's manifest digest")
    p.add_argument("-f", "--filter", action="append", default=[], metavar="KEY=VALUE",
                   help="show only matching images: reference=, label=, dangling=, before=, since=, until=, "
                        "containers=, id=, intermediate=, readonly= (repeatable)")
    p.add_argument("--format", default="", help="json, or a Go template over podman's image fields")
    p.add_argument("--history", action="store_true", help="show the names each image has had")
    p.add_argument("--no-trunc", action="store_true", help="do not shorten image IDs")
    p.add_argument("-n", "--noheading", action="store_true", help="do not print the column headings")
    p.add_argument("-q", "--quiet", action="store_true", help="print the image IDs only")
    p.add_argument("--sort", default="created", metavar="KEY", help="sort by created (default), id, repository, size or tag")
    p.add_argument("repository", nargs="?", default="", help="show only images of this name")


def cmd_images(engine, a) -> int:
    from ..engine.images import SORT_KEYS, list_images

    if a.filter and a.repository:
        raise InvalidArgument("cannot specify an image and a filter(s)")
    if a.sort not in SORT_KEYS:
        raise InvalidArgument(f'"{a.sort}" is not a valid field for sorting. Choose from: {", ".join(SORT_KEYS)}')
    filters = list(a.filter) + ([f"reference={a.repository}"] if a.repository else [])
    return present_images(list_images(engine, filters, all_=a.all), a)


def present_images(summaries: list[dict], a) -> int:
    """Print ImageSummary entries as `images` does (also for the remote client)."""
    rows = sort_rows(image_rows(summaries, a.no_trunc), a.sort)
    if a.format in ("json", "{{json .}}"):
        out = []
        for s in summaries:
            entry = dict(s)
            entry["CreatedAt"] = _rfc3339(s["Created"])
            entry.pop("RepoTags", None)
            out.append(entry)
        print(json.dumps(out, indent=4))
        return 0
    if a.quiet:
        for iid in dict.fromkeys(r["ID"] for r in rows):
            print(iid)
        return 0
    from ..proto.gotemplate import format_items

    if a.format:
        fmt, noheading = a.format, a.noheading or not a.format.startswith("table")
    else:
        cols = ["{{.Repository}}", "{{.Tag}}"] + (["{{.Digest}}"] if a.digests else []) + \
            ["{{.ID}}", "{{.Created}}", "{{.Size}}"] + (["{{.History}}"] if a.history else [])
        fmt, noheading = "table " + "\t".join(cols), a.noheading
    text = format_items(fmt, rows, headers=IMAGE_HEADERS, noheading=noheading, name="images")
    if text:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def _rfc3339(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _split_name(name: str) -> tuple[str, str]:
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        repo, _, tag = name.rpartition(":")
        return repo, tag
    return name, "<none>"


def image_rows(summaries: list[dict], no_trunc: bool) -> list[dict]:
    """One row per name (an unnamed image gets one <none> row): podman's imageReporter."""
    from ..proto.gotemplate import GoMap
    from ..proto.humanize import GoTime, human_ago, human_size

    now = time.time()
    rows = []
    for s in summaries:
        iid = s["Id"]
        base = {**s, "ID": iid[:12] if not no_trunc else "sha256:" + iid, "Created": human_ago(now - s["Created"]),
                "CreatedSince": human_ago(now - s["Created"]), "CreatedAt": str(GoTime(s["Created"])),
                "CreatedTime": str(GoTime(s["Created"])), "Size": human_size(s["Size"]),
                "History": ", ".join(s.get("History") or []) or "<none>", "Labels": GoMap(s.get("Labels") or {}),
                "ReadOnly": bool(s.get("ReadOnly")), "Digest": s.get("Digest") or "",
                "_created": s["Created"], "_size": s["Size"]}
        names = s.get("RepoTags") or s.get("Names") or []
        if not names:
            rows.append({**base, "Repository": "<none>", "Tag": "<none>"})
        for n in names:
            repo, tag = _split_name(n)
            rows.append({**base, "Repository": repo, "Tag": tag})
    return rows


def sort_rows(rows: list[dict], key: str) -> list[dict]:
    if key == "id":
        return sorted(rows, key=lambda r: r["ID"])
    if key == "repository":
        return sorted(rows, key=lambda r: r["Repository"])
    if key == "tag":
        return sorted(rows, key=lambda r: r["Tag"])
    if key == "size":
        return sorted(rows, key=lambda r: r["_size"])
    return sorted(rows, key=lambda r: r["_created"], reverse=True)


# -- rmi / tag / untag -----------------------------------------------------------------


def add_rmi_args(p) -> None:
    p.add_argument("-a", "--all", action="store_true", help="remove all images")
    p.add_argument("-f", "--force", action="store_true", help="remove the containers that use the images too")
    p.add_argument("-i", "--ignore", action="store_true", help="do not fail on images that do not exist")
    p.add_argument("--no-prune", action="store_true", help="keep the images left dangling by the removal")
    p.add_argument("images", nargs="*", metavar="IMAGE")


def cmd_rmi(engine, a) -> int:
    """podman's exit codes: 1 when an image did not exist, 2 when one was in use."""
    if a.all and a.images:
        raise InvalidArgument("when using the --all switch, you may not pass any images names or IDs")
    refs = [img.id for img in engine.images.list()] if a.all else a.images
    if not refs and not a.all:
        raise InvalidArgument("image name or ID must be specified")
    codes: set[int] = set()
    removed: set[str] = set()
    parents = {}
    if not a.no_prune:
        from ..engine.images import ImageFacts

        facts = ImageFacts(engine)
        parents = dict(facts.parent)
    for ref in refs:
        try:
            iid = engine.images.lookup(ref).id
            if iid in removed:
                continue
            for line in engine.remove_image(ref, force=a.force):
                print(line)
            if not engine.images.exists(iid):
                removed.add(iid)
        except NoSuchImage as e:
            if a.ignore:
                continue
            print(f"Error: {e}", file=sys.stderr)
            codes.add(1)
            continue
        except PypodError as e:
            print(f"Error: {e}", file=sys.stderr)
            codes.add(2 if "in use" in str(e) else 125)
            continue
        # podman also removes the parents this left dangling, unless --no-prune
        parent = parents.get(iid)
        while parent and parent not in removed and _dangling(engine, parent):
            for line in engine.remove_image(parent):
                print(line)
            removed.add(parent)
            parent = parents.get(parent)
    return 1 if 1 in codes else 2 if 2 in codes else 125 if codes else 0


def _dangling(engine, iid: str) -> bool:
    from ..engine.images import ImageFacts

    facts = ImageFacts(engine)
    img = next((i for i in facts.images if i.id == iid), None)
    return img is not None and facts.dangling(img) and not facts.users.get(iid)


def add_exists_args(p) -> None:
    p.add_argument("image", metavar="IMAGE")


def cmd_exists(engine, a) -> int:
    """podman image exists: 0 when the image is in local storage, 1 when not."""
    return 0 if engine.images.exists(a.image) else 1


def add_tag_args(p) -> None:
    p.add_argument("image")
    p.add_argument("names", nargs="+", metavar="TARGET_NAME")


def cmd_tag(engine, a) -> int:
    for name in a.names:
        engine.images.tag(a.image, name)
        engine.events.write("image", "tag", engine.images.lookup(a.image).id, name)
    return 0


def add_untag_args(p) -> None:
    p.add_argument("image")
    p.add_argument("names", nargs="*", metavar="NAME", help="the names to remove (default: all of them)")


def cmd_untag(engine, a) -> int:
    img = engine.images.lookup(a.image)
    for name in a.names or [None]:
        for gone in engine.images.untag(a.image if name is None else img.id, name):
            engine.events.write("image", "untag", img.id, gone)
    return 0


# -- load / save ------------------------------------------------------------------------------


def add_load_args(p) -> None:
    p.add_argument("-i", "--input", default="", help="read from this archive or image directory instead of standard input")
    p.add_argument("-q", "--quiet", action="store_true", help="do not print the names loaded")


def cmd_load(engine, a) -> int:
    import os

    if a.input and os.path.isdir(a.input):
        from ..storage.image_dirs import load_dir

        names = load_dir(engine.images, a.input)
    elif a.input:
        names = engine.images.load(a.input)
    else:
        if sys.stdin.isatty():
            raise InvalidArgument("cannot read from terminal, use command-line redirection or the --input flag")
        names = engine.images.load(sys.stdin.buffer)
    for n in names:
        engine.events.write("image", "load", n, n)
    print("Loaded image: " + "\nLoaded image: ".join(names) if len(names) <= 1 else "Loaded image(s): " + ",".join(names))
    return 0


SAVE_FORMATS = ("oci-archive", "oci-dir", "docker-archive", "docker-dir")


def add_save_args(p) -> None:
    p.add_argument("-o", "--output", default="", help="write to this file (directory for the -dir formats); default stdout")
    p.add_argument("--format", default="docker-archive", metavar="FORMAT",
                   help="oci-archive, oci-dir, docker-archive (default) or docker-dir")
    p.add_argument("-m", "--multi-image-archive", action="store_true",
                   help="the other arguments are images to save too, not names for the first (docker-archive only)")
    p.add_argument("--compress", action="store_true", help="gzip the layers (docker-dir only)")
    p.add_argument("--uncompressed", action="store_true",
                   help="OCI formats: write uncompressed layers as they are (default: gzip them)")
    p.add_argument("-q", "--quiet", action="store_true", help="do not report progress")
    p.add_argument("images", nargs="+", metavar="IMAGE")


def cmd_save(engine, a) -> int:
    if a.format not in SAVE_FORMATS:
        raise InvalidArgument(f"format value must be one of {' '.join(SAVE_FORMATS)}")
    if a.compress and a.format != "docker-dir":
        raise InvalidArgument("--compress can only be set when --format is 'docker-dir'")
    first, rest = a.images[0], a.images[1:]
    if rest and a.multi_image_archive and a.format != "docker-archive":
        raise InvalidArgument(f"unsupported format {a.format!r} for saving multiple images (only docker-archive)")
    img = engine.images.lookup(first)
    if a.output and not a.format.endswith("-dir") and not os.path.isdir(os.path.dirname(os.path.abspath(a.output))):
        # podman opens the archive before it copies anything
        raise InvalidArgument(f'opening file "{a.output}": open {a.output}: no such file or directory')
    if not a.quiet:
        for layer in img.layers:
            print(f"Copying blob {layer}", file=sys.stderr)
        print(f"Copying config sha256:{img.id}\nWriting manifest to image destination", file=sys.stderr)
    if a.format.endswith("-dir"):
        if not a.output:
            raise InvalidArgument(f"{a.format} needs an output directory: -o DIR")
        if rest:
            raise InvalidArgument(f"unsupported format {a.format!r} for saving multiple images or names")
        from ..storage import image_dirs

        if a.format == "oci-dir":
            image_dirs.save_oci_dir(engine.images, [first], a.output, compress=not a.uncompressed)
        else:
            image_dirs.save_docker_dir(engine.images, first, a.output, compress=a.compress)
        return 0
    # Without -m, podman writes the further names as names of the first image.
    refs, extra = ([first, *rest], []) if a.multi_image_archive else ([first], rest)
    options = {"extra_names": extra, "compress_oci": a.format == "oci-archive" and not a.uncompressed}
    if a.output:
        engine.images.save(refs, a.output, fmt=a.format, **options)
    else:
        if sys.stdout.isatty():
            raise InvalidArgument("refusing to save to terminal. Use -o flag or redirect")
        engine.images.save(refs, sys.stdout.buffer, fmt=a.format, **options)
    return 0


def add_import_args(p) -> None:
    p.add_argument("-c", "--change", action="append", default=[], help="apply Dockerfile instructions: CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL")
    p.add_argument("-m", "--message", default="", help="the comment recorded in the image's history")
    p.add_argument("--arch", default="", help="the architecture the image says it is for (default: this machine's)")
    p.add_argument("--os", default="", help="the operating system the image says it is for (default: linux)")
    p.add_argument("--variant", default="", help="the architecture variant the image says it is for (e.g. v7)")
    p.add_argument("-q", "--quiet", action="store_true", help="do not report progress")
    p.add_argument("source", help="tarball path, or - for standard input")
    p.add_argument("reference", nargs="?", default=None)


def cmd_import(engine, a) -> int:
    from ..proto.image_changes import parse_changes

    changes = parse_changes(a.change)
    src = sys.stdin.buffer if a.source == "-" else a.source
    img = engine.images.import_tarball(src, reference=a.reference, changes=changes or None, arch=a.arch, os_name=a.os,
                                       variant=a.variant, message=a.message)
    if not a.quiet:
        print(f"Copying blob {img.layers[-1] if img.layers else ''}\nCopying config sha256:{img.id}\n"
              "Writing manifest to image destination", file=sys.stderr)
    engine.events.write("image", "import", img.id, a.reference or "")
    print(img.id)
    return 0


# -- history / tree / exists / diff ----------------------------------------------------------


def add_history_args(p) -> None:
    p.add_argument("--format", default="", help="json, or a Go template over .ID .Created .CreatedBy .Size .Comment .Tags")
    p.add_argument("-H", "--human", default="true", metavar="BOOL", help="sizes and dates in human terms (default true)")
    p.add_argument("--no-trunc", action="store_true", help="do not shorten IDs and commands")
    p.add_argument("-q", "--quiet", action="store_true", help="print the IDs only")
    p.add_argument("image")


def cmd_history(engine, a) -> int:
    from ..engine.images import history

    return present_history(history(engine, a.image), a)


def present_history(rows: list[dict], a) -> int:
    from ..cli.events import _bool
    from ..proto.humanize import GoTime, human_ago, human_size

    human = _bool("--human", a.human)
    if a.format in ("json", "{{json .}}"):
        out = [{**r, "created": _rfc3339(r["created"]), "Created": _rfc3339(r["created"])} for r in rows]
        print(json.dumps(out, separators=(",", ":")))
        return 0
    now = time.time()
    view = []
    for r in rows:
        by = r["CreatedBy"]
        if not a.no_trunc and len(by) > 45:
            by = by[:42] + "..."
        view.append({"ID": r["id"] if a.no_trunc or len(r["id"]) < 12 else r["id"][:12],
                     "Created": human_ago(now - r["created"]) if human else _rfc3339(r["created"]),
                     "CreatedSince": human_ago(now - r["created"]), "CreatedAt": str(GoTime(int(r["created"]))),
                     "CreatedBy": by, "Size": human_size(r["size"]) if human else str(r["size"]),
                     "Comment": r["Comment"], "Tags": r["Tags"]})
    from ..proto.gotemplate import format_items

    if a.quiet:
        fmt, noheading = "{{.ID}}", True
    elif a.format:
        fmt, noheading = a.format, not a.format.startswith("table")
    else:
        fmt, noheading = "table {{.ID}}\t{{.Created}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}", False
    text = format_items(fmt, view, headers=IMAGE_HEADERS | {"ID": "ID"}, noheading=noheading, name="history")
    if text:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def add_tree_args(p) -> None:
    p.add_argument("--whatrequires", action="store_true", help="show the images built on this one instead of its layers")
    p.add_argument("image")


def cmd_tree(engine, a) -> int:
    from ..engine.images import tree

    print(tree(engine, a.image, a.whatrequires))
    return 0


# -- prune / mount ---------------------------------------------------------------------------


def add_prune_args(p) -> None:
    p.add_argument("-a", "--all", action="store_true", help="remove every image no container uses, not only dangling ones")
    p.add_argument("--external", action="store_true", help="remove storage leftovers no container owns first")
    p.add_argument("--filter", action="append", default=[], metavar="KEY=VALUE", help="only images that match (until=, label=, ...)")
    p.add_argument("-f", "--force", action="store_true", help="do not ask for confirmation")


def confirm(question: str) -> bool:
    """podman's prompt before pruning; no answer (no terminal) is no."""
    sys.stdout.write(question + " [y/N] ")
    sys.stdout.flush()
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


def cmd_prune(engine, a) -> int:
    from ..engine.images import prune

    if not a.force:
        what = "all images not used by containers" if a.all else "all dangling images"
        if not confirm(f"WARNING! This command removes {what}.\nAre you sure you want to continue?"):
            return 0
    for iid, _size in prune(engine, all_=a.all, filters=a.filter, external=a.external):
        print(iid)
    return 0


def add_image_mount_args(p) -> None:
    p.add_argument("-a", "--all", action="store_true", help="mount every image")
    p.add_argument("--format", default="", help="json, or a Go template over .ID .Repositories .MountPoint")
    p.add_argument("images", nargs="*", metavar="IMAGE")


def cmd_image_mount(engine, a) -> int:
    from ..engine.images import mount_image, mounted_images

    if a.images or a.all:
        refs = [img.id for img in engine.images.list()] if a.all else a.images
        if a.all and a.images:
            raise InvalidArgument("when using the --all switch, you may not pass any image names or IDs")
        for ref in refs:
            path = mount_image(engine, ref)
            if not a.all:
                print(path)
        if not a.all:
            return 0
    mounted = [{"ID": img.id, "Repositories": list(img.names), "MountPoint": path} for img, path in mounted_images(engine)]
    if a.format in ("json", "{{json .}}"):
        print(json.dumps([{"id": m["ID"], "Names": m["Repositories"], "Repositories": m["Repositories"],
                           "mountpoint": m["MountPoint"]} for m in mounted], indent=1))
        return 0
    if a.format:
        from .output import print_template

        print_template(a.format, mounted)
        return 0
    for m in mounted:
        print(f"{' '.join(m['Repositories']) or m['ID'][:12]}  {m['MountPoint']}")
    return 0


def add_image_unmount_args(p) -> None:
    p.add_argument("-a", "--all", action="store_true", help="unmount every mounted image")
    p.add_argument("-f", "--force", action="store_true", help="unmount even when mounted more than once (images mount once here)")
    p.add_argument("images", nargs="*", metavar="IMAGE")


def cmd_image_unmount(engine, a) -> int:
    from ..engine.images import mounted_images, unmount_image

    if a.all and a.images:
        raise InvalidArgument("when using the --all switch, you may not pass any image names or IDs")
    if not a.all and not a.images:
        raise InvalidArgument("image name or ID must be specified")
    refs = [img.id for img, _p in mounted_images(engine)] if a.all else a.images
    rc = 0
    for ref in refs:
        try:
            print(unmount_image(engine, ref))
        except PypodError as e:
            print(f"Error: {e}", file=sys.stderr)
            rc = 125
    return rc
