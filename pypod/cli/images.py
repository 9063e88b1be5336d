"""Image commands: images, rmi, tag, load, save, import."""

from __future__ import annotations

import json
import sys
import time

from ..errors import InvalidArgument, NoSuchImage, PypodError


def add_images_args(p) -> None:
    p.add_argument("-a", "--all", action="store_true", help="show all images")
    p.add_argument("-q", "--quiet", action="store_true", help="display only image IDs")
    p.add_argument("--format", default="", help="pretty-print images: json or a Go template")
    p.add_argument("--no-trunc", action="store_true", help="do not truncate output")
    p.add_argument("--noheading", "-n", action="store_true", help="do not print column headings")
    p.add_argument("-f", "--filter", action="append", default=[], help="filter output (reference=...)")
    p.add_argument("repository", nargs="?", default="")



def cmd_images(engine, a) -> int:
    from ..proto.humanize import human_ago, human_size, parse_rfc3339

    rows = []
    now = time.time()
    refs = [f.split("=", 1)[1] for f in a.filter if f.startswith("reference=")]
    for f in a.filter:
        if not f.startswith("reference="):
            raise InvalidArgument(f"invalid image filter {f!r}")
    if a.repository:
        refs.append(a.repository)
    for img in engine.images.list():
        names = img.names or ["<none>:<none>"]
        for name in names:
            repo, _, tag = name.rpartition(":")
            if "/" in tag or not repo:
                repo, tag = name, "latest"
            if refs and not any(_ref_matches(r, name) for r in refs):
                continue
            created = parse_rfc3339(img.created)
            rows.append({
                "Repository": repo, "Tag": tag, "ID": img.id if a.no_trunc else img.id[:12], "Id": img.id,
                "Digest": img.digest, "Created": int(created), "CreatedSince": human_ago(now - created),
                "CreatedAt": img.created, "Size": human_size(img.size), "VirtualSize": img.size,
                "Names": img.names, "Labels": (img.config or {}).get("Labels") or {},
            })
    if a.quiet:
        seen = set()
        for r in rows:
            if r["ID"] not in seen:
                seen.add(r["ID"])
                print(r["ID"])
        return 0
    if a.format in ("json", "{{json .}}"):
        by_id: dict[str, dict] = {}
        for r in rows:
            by_id.setdefault(r["Id"], {"Id": r["Id"], "ParentId": "", "RepoTags": r["Names"], "RepoDigests": [],
                                           "Size": r["VirtualSize"], "SharedSize": 0, "VirtualSize": r["VirtualSize"],
                                           "Labels": r["Labels"], "Containers": 0, "Names": r["Names"], "Digest": r["Digest"],
                                           "History": r["Names"], "Created": r["Created"], "CreatedAt": r["CreatedAt"]})
        print(json.dumps(list(by_id.values()), indent=4))
        return 0
    if a.format:
        from .output import print_template

        print_template(a.format, rows, noheading=a.noheading)
        return 0
    from .output import print_table

    print_table([("REPOSITORY", "Repository"), ("TAG", "Tag"), ("IMAGE ID", "ID"), ("CREATED", "CreatedSince"), ("SIZE", "Size")],
                rows, noheading=a.noheading)
    return 0


def _ref_matches(ref: str, name: str) -> bool:
    import fnmatch

    return fnmatch.fnmatch(name, ref) or fnmatch.fnmatch(name, f"*/{ref}") or fnmatch.fnmatch(name, f"*/{ref}:*") or name.startswith(ref + ":")



def add_rmi_args(p) -> None:
    p.add_argument("-f", "--force", action="store_true", help="remove the image and any containers using it")
    p.add_argument("-a", "--all", action="store_true", help="remove all images")
    p.add_argument("images", nargs="*", metavar="IMAGE")


def cmd_rmi(engine, a) -> int:
    refs = [img.id for img in engine.images.list()] if a.all else a.images
    if not refs:
        raise InvalidArgument("image name or ID must be specified")
    rc = 0
    for ref in refs:
        try:
            for line in engine.remove_image(ref, force=a.force):
                print(line)
        except NoSuchImage as e:
            print(f"Error: {e}", file=sys.stderr)
            rc = max(rc, 1)
        except PypodError as e:
            print(f"Error: {e}", file=sys.stderr)
            rc = max(rc, 2 if "in use" in str(e) else 125)
    return rc


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
    return 0


def add_load_args(p) -> None:
    p.add_argument("-i", "--input", default="", help="read from a specified file instead of standard input")
    p.add_argument("-q", "--quiet", action="store_true", help="suppress the output")


def cmd_load(engine, a) -> int:
    if a.input:
        names = engine.images.load(a.input)
    else:
        if sys.stdin.isatty():
            raise InvalidArgument("cannot read from terminal, use command-line redirection or the --input flag")
        names = engine.images.load(sys.stdin.buffer)
    for n in names:
        engine.events.write("image", "load", n, n)
    print("Loaded image: " + "\nLoaded image: ".join(names) if len(names) <= 1 else "Loaded image(s): " + ",".join(names))
    return 0


def add_save_args(p) -> None:
    p.add_argument("-o", "--output", default="", help="write to a specified file (default: stdout)")
    p.add_argument("--format", default="docker-archive", choices=("docker-archive", "oci-archive"), help="archive format")
    p.add_argument("-q", "--quiet", action="store_true", help="suppress the output")
    p.add_argument("images", nargs="+", metavar="IMAGE")


def cmd_save(engine, a) -> int:
    if a.output:
        engine.images.save(a.images, a.output, fmt=a.format)
    else:
        if sys.stdout.isatty():
            raise InvalidArgument("refusing to save to terminal. Use -o flag or redirect")
        engine.images.save(a.images, sys.stdout.buffer, fmt=a.format)
    return 0


def add_import_args(p) -> None:
    p.add_argument("-c", "--change", action="append", default=[], help="apply Dockerfile instructions: CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL")
    p.add_argument("-m", "--message", default="", help="set the commit message")
    p.add_argument("-q", "--quiet", action="store_true", help="suppress output")
    p.add_argument("source", help="tarball path, or - for standard input")
    p.add_argument("reference", nargs="?", default=None)


def parse_changes(changes: list[str]) -> dict:
    out: dict = {}
    for ch in changes:
        instr, _, value = ch.strip().partition(" ")
        if not _:
            instr, _, value = ch.strip().partition("=")
        instr = instr.upper()
        value = value.strip()

        def cmdlist(v: str) -> list[str]:
            if v.startswith("["):
                try:
                    return json.loads(v)
                except ValueError:
                    raise InvalidArgument(f"invalid JSON in change {ch!r}") from None
            return ["/bin/sh", "-c", v]

        if instr == "CMD":
            out["Cmd"] = cmdlist(value)
        elif instr == "ENTRYPOINT":
            out["Entrypoint"] = cmdlist(value)
        elif instr == "ENV":
            k, sep, v = value.partition("=")
            if not sep:
                k, _, v = value.partition(" ")
            out.setdefault("Env", []).append(f"{k}={v.strip()}")
        elif instr == "WORKDIR":
            out["WorkingDir"] = value
        elif instr == "USER":
            out["User"] = value
        elif instr == "LABEL":
            k, _, v = value.partition("=")
            out.setdefault("Labels", {})[k] = v.strip('"')
        elif instr == "STOPSIGNAL":
            out["StopSignal"] = value
        else:
            raise InvalidArgument(f"invalid change {ch!r}: unsupported instruction {instr}")
    return out


def cmd_import(engine, a) -> int:
    changes = parse_changes(a.change)
    src = sys.stdin.buffer if a.source == "-" else a.source
    img = engine.images.import_tarball(src, reference=a.reference, changes=changes or None)
    engine.events.write("image", "import", img.id, a.reference or "")
    print(img.id)
    return 0
