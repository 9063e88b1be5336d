"""What the engine does with images beyond storing them: podman's image
listing (ImageSummary, filters, sort), history, the layer tree, prune, and
read-only mounts of an image's files.

Image relations come from layers: an image is another's parent when its
layers are the other's minus the top one; an image with no name is
dangling unless another image is built on it (then it is intermediate).
"""

from __future__ import annotations

import os
import re

from ..errors import InvalidArgument, NoSuchImage, PypodError

#: `images --sort` keys, podman's
SORT_KEYS = ("created", "id", "repository", "size", "tag")


def path_match(pattern: str, name: str) -> bool:
    """Go's path.Match: * and ? stop at "/"; [...] classes."""
    out, i = "", 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            out += "[^/]*"
        elif ch == "?":
            out += "[^/]"
        elif ch == "[":
            j = pattern.find("]", i + 1)
            if j < 0:
                return False  # Go: a malformed pattern matches nothing
            body = pattern[i + 1:j]
            out += "[" + ("^" + body[1:] if body.startswith("^") else body) + "]"
            i = j
        elif ch == "\\" and i + 1 < len(pattern):
            i += 1
            out += re.escape(pattern[i])
        else:
            out += re.escape(ch)
        i += 1
    try:
        return re.fullmatch(out, name) is not None
    except re.error:
        return False


def reference_candidates(name: str, digest: str = "") -> list[str]:
    """The spellings of one name the reference filter tries (libimage's)."""
    repo, _, tag = name.rpartition(":") if ":" in name.rsplit("/", 1)[-1] else (name, "", "")
    path = repo.split("/", 1)[1] if "/" in repo and ("." in repo.split("/")[0] or ":" in repo.split("/")[0]
                                                        or repo.split("/")[0] == "localhost") else repo
    out = [name, path, name.rsplit("/", 1)[-1]]
    if tag:
        out += [repo, f"{path}:{tag}", repo.rsplit("/", 1)[-1]]
    if digest:
        out += [f"{repo}@{digest}", f"{path}@{digest}"]
    return out


def _parse_time(value: str) -> float:
    from ..proto.k8s_log import parse_time

    return parse_time(value, since=True) / 1e9


class ImageFacts:
    """What listing and filtering need to know about all images at once."""

    def __init__(self, engine):
        from ..proto.humanize import parse_rfc3339

        self.engine = engine
        self.images = engine.images.list()
        self.created = {img.id: parse_rfc3339(img.created) for img in self.images}
        self.users: dict[str, int] = {}
        for ctr in engine.containers(sync=False):
            if ctr.config.image_id:
                self.users[ctr.config.image_id] = self.users.get(ctr.config.image_id, 0) + 1
        self.parent = parents(self.images)
        self.children: dict[str, list[str]] = {}
        for iid, parent in self.parent.items():
            if parent:
                self.children.setdefault(parent, []).append(iid)

    def dangling(self, img) -> bool:
        return not img.names and not self.children.get(img.id)

    def intermediate(self, img) -> bool:
        return not img.names and bool(self.children.get(img.id))


def parents(images) -> dict[str, str]:
    """Each image's parent id ("" for none), as libimage finds it: an image
    on the same layers whose history is a shorter prefix of this one's (a
    build step that only changed metadata: ENV, LABEL, CMD), else one on all
    but the top layer, by history too where the images have one."""
    by_layers: dict[tuple, list] = {}
    for img in images:
        by_layers.setdefault(tuple(img.layers), []).append(img)

    def extends(child, cand) -> bool:
        n = len(cand.history)
        return n < len(child.history) and child.history[:n] == cand.history

    out = {}
    for img in images:
        same = [c for c in by_layers.get(tuple(img.layers), ()) if c is not img and extends(img, c)]
        below = by_layers.get(tuple(img.layers[:-1]), []) if len(img.layers) > 1 else []
        found = same or [c for c in below if extends(img, c)] or below[-1:]
        out[img.id] = max(found, key=lambda c: len(c.history)).id if found else ""
    return out


def _bool(key: str, value: str) -> bool:
    low = value.lower()
    if low in ("true", "1", "t"):
        return True
    if low in ("false", "0", "f"):
        return False
    raise InvalidArgument(f'non-boolean value "{value}" for {key} filter')


def image_predicate(facts: ImageFacts, filters: list[str]):
    """libimage's filters: every one must hold (a key given twice too)."""
    checks = []
    seen_bool: dict[str, str] = {}
    for f in filters:
        key, sep, value = f.partition("=")
        if not sep:
            raise InvalidArgument(f'invalid image filter "{f}": must be in the format "filter=value"')
        if key in ("dangling", "intermediate", "readonly", "containers"):
            if seen_bool.get(key, value) != value:
                raise InvalidArgument(f'specifying "{key}" filter more than once with different values is not supported')
            seen_bool[key] = value
        if key in ("after", "since", "before"):
            try:
                ref = facts.engine.images.lookup(value)
            except NoSuchImage as e:
                raise InvalidArgument(f'could not find local image for filter "{key}"="{value}": {e}') from None
            when = facts.created[ref.id]
            if key == "before":
                checks.append(lambda img, w=when: facts.created[img.id] < w)
            else:
                checks.append(lambda img, w=when: facts.created[img.id] > w)
        elif key == "until":
            when = _parse_time(value)
            checks.append(lambda img, w=when: facts.created[img.id] < w)
        elif key == "containers":
            if value not in ("true", "false", "external"):
                raise InvalidArgument(f'unsupported value "{value}" for containers filter')
            if value == "external":
                checks.append(lambda img: False)  # every user of an image here is one of pypod's containers
            else:
                want = value == "true"
                checks.append(lambda img, w=want: (facts.users.get(img.id, 0) > 0) == w)
        elif key == "dangling":
            want = _bool(key, value)
            checks.append(lambda img, w=want: facts.dangling(img) == w)
        elif key == "intermediate":
            want = _bool(key, value)
            checks.append(lambda img, w=want: facts.intermediate(img) == w)
        elif key == "readonly":
            want = _bool(key, value)
            checks.append(lambda img, w=want: w is False)  # no read-only image stores here
        elif key == "id":
            checks.append(lambda img, v=value: img.id == v.removeprefix("sha256:"))
        elif key == "label":
            from .filters import labels_match

            checks.append(lambda img, v=value: labels_match([v], (img.config or {}).get("Labels") or {}))
        elif key == "reference":
            checks.append(lambda img, v=value: any(path_match(v, c) for n in img.names
                                                   for c in reference_candidates(n, img.digest)))
        elif key == "manifest":
            _bool(key, value)
            checks.append(lambda img, v=value: not _bool(key, v))  # pypod keeps no manifest lists
        else:
            raise InvalidArgument(f'unsupported image filter "{key}"')
    return lambda img: all(c(img) for c in checks)


def image_summary(facts: ImageFacts, img) -> dict:
    """podman's ImageSummary (Created in unix seconds)."""
    repo_digests = facts.engine.images.repo_digests(img)
    return {
        "Id": img.id,
        "ParentId": facts.parent.get(img.id, ""),
        "RepoTags": list(img.names) or None,
        "RepoDigests": list(dict.fromkeys(repo_digests)) or None,
        "Created": int(facts.created[img.id]),
        "Size": img.size,
        "SharedSize": 0,
        "VirtualSize": img.size,
        "Labels": (img.config or {}).get("Labels") or {},
        "Containers": facts.users.get(img.id, 0),
        "Dangling": facts.dangling(img),
        "Names": list(img.names) or None,
        "Digest": img.digest,
        "History": facts.engine.images.names_history(img.id) or None,
    }


def list_images(engine, filters: list[str] | None = None, all_: bool = False) -> list[dict]:
    facts = ImageFacts(engine)
    keep = image_predicate(facts, filters or [])
    return [image_summary(facts, img) for img in facts.images
            if keep(img) and (all_ or not facts.intermediate(img))]


# -- history and tree ------------------------------------------------------------------------


def history(engine, ref: str) -> list[dict]:
    """podman's image history: newest step first; each step that made a
    layer gets the size of that layer; only the top row carries the ID."""
    from ..proto.humanize import parse_rfc3339

    img = engine.images.lookup(ref)
    steps = list(img.history or [])
    layer_sizes = [_layer_size(engine, d) for d in img.layers]
    if not steps:
        steps = [{"created": img.created, "created_by": ""} for _ in img.layers] or [{"created": img.created}]
    rows = []
    layer = 0
    for step in steps:
        size = 0
        if not step.get("empty_layer"):
            size = layer_sizes[layer] if layer < len(layer_sizes) else 0
            layer += 1
        rows.append({"id": "<missing>", "created": parse_rfc3339(step.get("created") or img.created),
                     "CreatedBy": step.get("created_by") or "", "size": size, "Comment": step.get("comment") or "",
                     "Tags": None})
    rows.reverse()
    rows[0]["id"] = img.id
    rows[0]["Tags"] = list(img.names) or None
    return rows


def _layer_size(engine, diff_id: str) -> int:
    row = engine.images._db.execute("SELECT size FROM layers WHERE diff_id = ?", (diff_id,)).fetchone()
    if row and row[0]:
        return row[0]
    from .listing import tree_size

    return tree_size(os.path.join(engine.images.layers_dir, diff_id.split(":", 1)[-1], "diff"))


def tree(engine, ref: str, what_requires: bool = False) -> str:
    """podman's image tree: the image's layers bottom up, each marked with
    the images whose top layer it is; or (what_requires) its top layer and
    the images built on it."""
    facts = ImageFacts(engine)
    img = engine.images.lookup(ref)
    tops: dict[str, list[str]] = {}
    for other in facts.images:
        if other.layers:
            tops.setdefault(other.layers[-1], []).extend(other.names or [f"<none>@{other.id[:12]}"])

    def layer_line(prefix: str, diff_id: str) -> str:
        line = f"{prefix} ID: {diff_id.split(':')[-1][:12]} Size: {_layer_human(engine, diff_id)}"
        return line + (f" Top Layer of: [{' '.join(tops[diff_id])}]" if diff_id in tops else "")

    lines = [f"Image ID: {img.id[:12]}", f"Tags:     [{' '.join(img.names)}]", f"Size:     {_tree_size(img.size)}",
             "Image Layers"]
    if not what_requires:
        for n, layer in enumerate(img.layers):
            lines.append(layer_line("└──" if n == len(img.layers) - 1 else "├──", layer))
        return "\n".join(lines)
    if img.layers:
        lines.append(layer_line("└──", img.layers[-1]))
    by_id = {i.id: i for i in facts.images}
    kids = [by_id[k] for k in facts.children.get(img.id, []) if by_id[k].layers]
    for n, kid in enumerate(kids):
        lines.append(layer_line("    " + ("└──" if n == len(kids) - 1 else "├──"), kid.layers[-1]))
    return "\n".join(lines)


def _tree_size(n: int) -> str:
    """The image size the tree heads with: go-units with four digits."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000:
            return f"{n:.4g}{unit}"
        n /= 1000
    return f"{n:.4g}PB"


def _layer_human(engine, diff_id: str) -> str:
    from ..proto.humanize import human_size

    return f"{human_size(_layer_size(engine, diff_id), ''):>7}"


# -- prune -----------------------------------------------------------------------------


def prune(engine, all_: bool = False, filters: list[str] | None = None, external: bool = False) -> list[tuple[str, int]]:
    """Remove dangling images (with all_, every image no container uses);
    returns (ID, bytes) of each removed.  Repeats while a removal leaves
    another image dangling (a parent whose child went)."""
    if external:
        for cid in engine.external_containers():
            engine.container_storage.remove(cid)  # leftovers that would keep nothing alive but disk
    removed: list[tuple[str, int]] = []
    while True:
        facts = ImageFacts(engine)
        keep = image_predicate(facts, filters or [])
        victims = [img for img in facts.images if keep(img) and not facts.users.get(img.id)
                   and (facts.dangling(img) if not all_ else not facts.children.get(img.id))]
        if not victims:
            return removed
        for img in victims:
            try:
                engine.remove_image(img.id, force=False)
            except PypodError:
                continue  # taken into use meanwhile
            removed.append((img.id, img.size))


# -- mounts ------------------------------------------------------------------------------------


def _mount_dir(engine, iid: str) -> str:
    return os.path.join(engine.config.storage_dir, "image-mounts", iid, "merged")


def mount_image(engine, ref: str) -> str:
    """A read-only view of the image's files; stays until unmount_image."""
    from ..storage.overlay import ContainerStorage, _is_mountpoint

    img = engine.images.lookup(ref)
    target = _mount_dir(engine, img.id)
    if _is_mountpoint(target):
        return target
    os.makedirs(target, mode=0o700, exist_ok=True)
    storage = engine.container_storage
    if not isinstance(storage, ContainerStorage):
        raise InvalidArgument("image mounts need the overlay storage driver")
    storage.mount_layers(img.layer_dirs, target, what=f"image {img.id[:12]}")
    engine.events.write("image", "mount", img.id, (img.names or [""])[0])
    return target


def unmount_image(engine, ref: str) -> str:
    from ..storage.overlay import _is_mountpoint, umount

    img = engine.images.lookup(ref)
    target = _mount_dir(engine, img.id)
    if _is_mountpoint(target):
        umount(target)
        engine.events.write("image", "unmount", img.id, (img.names or [""])[0])
    try:
        os.rmdir(target)
        os.rmdir(os.path.dirname(target))
    except OSError:
        pass
    return img.id


def mounted_images(engine) -> list[tuple[object, str]]:
    from ..storage.overlay import _is_mountpoint

    out = []
    for img in engine.images.list():
        target = _mount_dir(engine, img.id)
        if _is_mountpoint(target):
            out.append((img, target))
    return out
