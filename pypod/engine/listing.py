"""Containers as `ps` and libpod's list route show them: podman's
ListContainer, with times as unix floats (each front door prints them its
own way: the CLI as Go does, the REST service as RFC 3339).

Kept lean: `ps` imports this, and only --size and --ns touch the disk or /proc.
"""

from __future__ import annotations

import os

from ..errors import PypodError
from .status import Status
from .filters import has_exited, state_word

#: Go's zero time in unix seconds: what podman prints for a time that never was
ZERO_TIME = -62135596800

#: `ps --sort` keys, podman's spellings
SORT_KEYS = ("command", "created", "id", "image", "names", "runningfor", "size", "status", "pod")

#: the namespaces `ps --ns` shows: ListContainerNamespaces field -> /proc/PID/ns entry
NAMESPACES = {"Cgroup": "cgroup", "Ipc": "ipc", "Mnt": "mnt", "Net": "net", "Pidns": "pid", "User": "user", "Uts": "uts"}


def container_entry(ctr, *, size: bool = False, namespaces: bool = False) -> dict:
    cfg, st = ctr.config, ctr.state
    exited = has_exited(ctr)
    from ..network.report import network_names

    pod = None
    if cfg.pod:
        from .inspect import pod_of

        pod = pod_of(ctr)
    entry = {
        "AutoRemove": cfg.auto_remove,
        "Command": cfg.args,
        "Created": cfg.created,
        "CreatedAt": "",
        "Exited": exited,
        "ExitedAt": int(st.finished_at) if st.finished_at else ZERO_TIME,
        "ExitCode": st.exit_code,
        "Id": ctr.id,
        "Image": cfg.image_name or cfg.image or cfg.rootfs,
        "ImageID": cfg.image_id,
        "IsInfra": pod is not None and pod.infra_id == ctr.id,
        "Labels": cfg.labels or None,
        "Mounts": [m.destination for m in cfg.mounts],
        "Names": [cfg.name],
        "Namespaces": {},
        "Networks": network_names(cfg),
        "Pid": st.pid if st.status in (Status.RUNNING, Status.PAUSED, Status.STOPPING) else 0,
        "Pod": cfg.pod,
        "PodName": pod.name if pod is not None else "",
        "Ports": [p.to_json() for p in cfg.networking.ports] or None,
        "Size": None,
        "StartedAt": int(st.started_at) if st.started_at else ZERO_TIME,
        "State": state_word(st.status),
        # podman puts the health check's word here; ps shows it in parentheses
        "Status": health_word(ctr) if cfg.health.enabled else "",
    }
    if namespaces and entry["Pid"]:
        entry["Namespaces"] = namespace_ids(entry["Pid"])
    if size:
        entry["Size"] = container_size(ctr)
    return entry


def health_word(ctr) -> str:
    """healthy, unhealthy or starting, for a running container with a check."""
    if ctr.state.status != Status.RUNNING:
        return ""
    from .health import read_results

    return read_results(ctr).get("Status") or ""


def namespace_ids(pid: int) -> dict[str, str]:
    out = {}
    for key, ns in NAMESPACES.items():
        try:
            link = os.readlink(f"/proc/{pid}/ns/{ns}")
        except OSError:
            continue
        out[key] = link[link.find("[") + 1:link.rfind("]")]
    return out


def tree_size(path: str) -> int:
    """Bytes of the files under path (directories count nothing), without
    following symlinks or leaving the filesystem."""
    total = 0
    try:
        dev = os.lstat(path).st_dev
    except OSError:
        return 0
    stack = [path]
    while stack:
        d = stack.pop()
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        for e in entries:
            try:
                st = e.stat(follow_symlinks=False)
            except OSError:
                continue
            if e.is_dir(follow_symlinks=False):
                if st.st_dev == dev:
                    stack.append(e.path)
            else:
                total += st.st_size
    return total


def container_size(ctr) -> dict:
    """rwSize: the container's writable layer; rootFsSize: that plus its image."""
    eng = ctr.engine
    if ctr.config.rootfs:
        rw = 0
        root = tree_size(ctr.config.rootfs)
    else:
        storage = eng.container_storage
        rw = tree_size(storage.upper_dir(ctr.id))
        if getattr(storage, "full_copy", False):
            return {"rootFsSize": rw, "rwSize": rw}  # vfs: the copy is the container's, image and all
        try:
            root = eng.images.lookup(ctr.config.image_id).size + rw
        except PypodError:  # the image went away (rmi -f): only the layer is left
            root = rw
    return {"rootFsSize": root, "rwSize": rw}


def sort_entries(entries: list[dict], key: str) -> list[dict]:
    """podman's `ps --sort` orders (stable, ascending)."""
    from ..errors import InvalidArgument

    keys = {
        "command": lambda e: " ".join(e["Command"]),
        "created": lambda e: e["Created"],
        "id": lambda e: e["Id"],
        "image": lambda e: e["Image"],
        "names": lambda e: e["Names"][0],
        "runningfor": lambda e: e["StartedAt"],
        "size": lambda e: (e["Size"] or {}).get("rootFsSize", 0),
        "status": lambda e: e["State"],
        "pod": lambda e: e["Pod"],
    }
    if key not in keys:
        raise InvalidArgument("invalid option for --sort, options are: command, created, id, image, names, runningfor, size, or status")
    return sorted(entries, key=keys[key])


def external_entry(eng, cid: str) -> dict:
    """A writable layer no container of the store owns: podman's "storage" container."""
    st = os.stat(os.path.join(eng.container_storage.dir, cid))
    return {
        "AutoRemove": False, "Command": ["storage"], "Created": st.st_mtime, "CreatedAt": "", "Exited": False,
        "ExitedAt": ZERO_TIME, "ExitCode": 0, "Id": cid, "Image": "", "ImageID": "", "IsInfra": False,
        "Labels": None, "Mounts": [], "Names": [cid[:12]], "Namespaces": {}, "Networks": [], "Pid": 0, "Pod": "",
        "PodName": "", "Ports": None, "Size": None, "StartedAt": ZERO_TIME, "State": "storage", "Status": "",
    }


def list_containers(eng, *, all_: bool = False, filters: dict | None = None, last: int = -1, size: bool = False,
                    namespaces: bool = False, external: bool = False, sync: bool = False) -> list[dict]:
    """podman's GetContainerLists: filtered, running only unless all (or a
    status filter, or --last), oldest first, --last newest N."""
    from .filters import container_predicate

    filters = filters or {}
    keep = container_predicate(eng, filters) if filters else None
    show_all = all_ or last > 0 or bool(filters.get("status"))
    ctrs = []
    for c in eng.containers():
        if sync and c.state.status in (Status.CREATED, Status.RUNNING, Status.PAUSED, Status.STOPPING):
            from ..errors import NoSuchContainer

            try:
                with c.locked():
                    c.sync()
            except NoSuchContainer:
                continue
        if not show_all and c.state.status not in (Status.RUNNING, Status.STOPPING):
            continue
        if keep is not None and not keep(c):
            continue
        ctrs.append(c)
    if last > 0:
        ctrs = sorted(ctrs, key=lambda c: c.config.created, reverse=True)[:last]
    entries = [container_entry(c, size=size, namespaces=namespaces) for c in ctrs]
    if external:
        entries += [external_entry(eng, cid) for cid in eng.external_containers()]
    entries.sort(key=lambda e: e["Created"])
    return entries
