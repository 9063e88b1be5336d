"""User namespaces for root's containers: --userns auto picks a free block
of IDs from the ranges /etc/subuid and /etc/subgid give the "containers"
user, as podman does, and a mapped container's rootfs is made to belong to
its mapped root."""

from __future__ import annotations

import os

from ..errors import InvalidArgument
from .namespace_config import IDMap

#: the user whose subordinate ranges --userns auto draws from (podman's)
AUTO_USER = "containers"
#: podman's default size of an automatic mapping
AUTO_SIZE = 1024


def subordinate_ranges(path: str, user: str) -> list[tuple[int, int]]:
    """(start, count) ranges of user (by name or uid) in /etc/subuid or /etc/subgid."""
    import pwd

    try:
        uid = str(pwd.getpwnam(user).pw_uid)
    except KeyError:
        uid = None
    out = []
    try:
        with open(path) as f:
            for line in f:
                parts = line.strip().split(":")
                if len(parts) == 3 and parts[0] in (user, uid) and parts[1].isdigit() and parts[2].isdigit():
                    out.append((int(parts[1]), int(parts[2])))
    except OSError:
        pass
    return out


def parse_auto_options(mode: str) -> dict[str, int]:
    """auto[:size=N,uidmapping=...]: only size is honoured; others are refused."""
    _, _, opts = mode.partition(":")
    out = {}
    for opt in filter(None, opts.split(",")):
        key, sep, value = opt.partition("=")
        if key == "size" and sep and value.isdigit() and int(value) > 0:
            out["size"] = int(value)
        else:
            raise InvalidArgument(f"invalid --userns auto option {opt!r}: pypod supports size=N")
    return out


def _taken(engine, kind: str) -> list[tuple[int, int]]:
    spans = []
    for ctr in engine.containers(sync=False):
        for m in (ctr.config.namespaces.uid_map if kind == "uid" else ctr.config.namespaces.gid_map
                  or ctr.config.namespaces.uid_map):
            spans.append((m.host_id, m.size))
    return spans


def _first_free(ranges: list[tuple[int, int]], taken: list[tuple[int, int]], size: int) -> int | None:
    for start, count in ranges:
        pos = start
        while pos + size <= start + count:
            clash = next(((h, n) for h, n in taken if h < pos + size and pos < h + n), None)
            if clash is None:
                return pos
            pos = clash[0] + clash[1]
    return None


def auto_mapping(engine, cfg) -> tuple[list[IDMap], list[IDMap]]:
    size = parse_auto_options(cfg.namespaces.userns).get("size", AUTO_SIZE)
    maps = []
    for kind, path in (("uid", "/etc/subuid"), ("gid", "/etc/subgid")):
        ranges = subordinate_ranges(path, AUTO_USER)
        if not ranges:
            raise InvalidArgument(f'cannot find mappings for user "{AUTO_USER}": no sub{kind} ranges found for user '
                                  f'"{AUTO_USER}" in {path} (--userns auto draws from them)')
        start = _first_free(ranges, _taken(engine, kind), size)
        if start is None:
            raise InvalidArgument(f"--userns auto: could not find {size} available {kind}s in {path} for user {AUTO_USER}")
        maps.append([IDMap(container_id=0, host_id=start, size=size)])
    return maps[0], maps[1]


def host_id(maps: list[IDMap], cid: int) -> int | None:
    for m in maps:
        if m.container_id <= cid < m.container_id + m.size:
            return m.host_id + cid - m.container_id
    return None


def shift_ownership(root: str, uid_map: list[IDMap], gid_map: list[IDMap]) -> None:
    """Give every file of a container's rootfs to the mapped IDs of its
    owner (root's files to the container's root, ...), so the container's
    users own what they own in the image.  Files whose owner has no
    mapping keep theirs and show as nobody inside, as in podman."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in (".", *dirnames, *filenames):
            path = dirpath if name == "." else os.path.join(dirpath, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            uid = host_id(uid_map, st.st_uid)
            gid = host_id(gid_map, st.st_gid)
            if (uid is None or uid == st.st_uid) and (gid is None or gid == st.st_gid):
                continue
            try:
                os.lchown(path, st.st_uid if uid is None else uid, st.st_gid if gid is None else gid)
            except OSError:
                pass
            # chown clears the set-id bits; put them back as they were
            if not os.path.islink(path) and st.st_mode & 0o6000:
                try:
                    os.chmod(path, st.st_mode & 0o7777)
                except OSError:
                    pass
