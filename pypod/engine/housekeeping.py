"""The whole store at once: disk usage (`system df`), prune, reset, migrate
and renumber."""

from __future__ import annotations

import os
import shutil
import time

from ..errors import PypodError
from .container import Status


def disk_usage(engine) -> dict:
    """podman's SystemDfReport: images, containers and volumes with their sizes."""
    from .images import ImageFacts
    from .listing import container_size

    facts = ImageFacts(engine)
    images = []
    for img in facts.images:
        images.append({"Repository": (img.names[0].rsplit(":", 1)[0] if img.names else "<none>"),
                       "Tag": (img.names[0].rsplit(":", 1)[1] if img.names and ":" in img.names[0].rsplit("/", 1)[-1] else "<none>"),
                       "ImageID": img.id, "Created": facts.created[img.id], "Size": img.size, "SharedSize": 0,
                       "UniqueSize": img.size, "Containers": facts.users.get(img.id, 0)})
    containers = []
    volumes = []
    vol_links: dict[str, int] = {}
    for ctr in engine.containers():
        vols = [m for m in ctr.config.mounts if m.type == "volume"]
        for m in vols:
            vol_links[m.source] = vol_links.get(m.source, 0) + 1
        sizes = container_size(ctr)
        containers.append({"ContainerID": ctr.id, "Image": ctr.config.image_id, "Command": ctr.config.args,
                           "LocalVolumes": len(vols), "Size": sizes["rwSize"], "RWSize": sizes["rwSize"],
                           "Created": ctr.config.created, "Status": _status(ctr), "Names": ctr.name})
    for vol in engine.volumes.list():
        volumes.append({"VolumeName": vol.name, "Links": vol_links.get(vol.name, 0), "Size": vol.size(),
                        "ReclaimableSize": 0 if vol_links.get(vol.name) else vol.size()})
    return {"Images": images, "Containers": containers, "Volumes": volumes}


def _status(ctr) -> str:
    from .inspect import status_word

    return status_word(ctr.state.status)


def summary(report: dict) -> list[dict]:
    """The three lines of `system df`: TYPE TOTAL ACTIVE SIZE RECLAIMABLE."""
    imgs, ctrs, vols = report["Images"], report["Containers"], report["Volumes"]
    active_imgs = [i for i in imgs if i["Containers"]]
    img_size = sum(i["Size"] for i in imgs)
    img_reclaim = sum(i["Size"] for i in imgs if not i["Containers"])
    running = [c for c in ctrs if c["Status"] == "running"]
    ctr_size = sum(c["RWSize"] for c in ctrs)
    ctr_reclaim = sum(c["RWSize"] for c in ctrs if c["Status"] != "running")
    vol_size = sum(v["Size"] for v in vols)
    vol_reclaim = sum(v["ReclaimableSize"] for v in vols)
    return [
        {"Type": "Images", "Total": len(imgs), "Active": len(active_imgs), "RawSize": img_size, "RawReclaimable": img_reclaim},
        {"Type": "Containers", "Total": len(ctrs), "Active": len(running), "RawSize": ctr_size, "RawReclaimable": ctr_reclaim},
        {"Type": "Local Volumes", "Total": len(vols), "Active": sum(1 for v in vols if v["Links"]), "RawSize": vol_size,
         "RawReclaimable": vol_reclaim},
    ]


def system_prune(engine, all_images: bool = False, volumes: bool = False, filters: dict | None = None) -> dict:
    """Pods none of whose containers run, stopped containers, networks no
    container uses, then dangling (or, with all_images, unused) images, then
    (with volumes) unused volumes; what went and how many bytes."""
    from .images import prune as prune_images
    from .netmanage import prune as prune_networks

    report = {"Pods": engine.pods.prune(), "Containers": engine.prune_containers(filters or {}), "Images": [],
              "Volumes": []}
    report["Networks"] = prune_networks(engine, {k: v for k, v in (filters or {}).items() if k in ("label", "label!", "until")})
    image_filters = [f"{k}={v}" for k, vs in (filters or {}).items() for v in vs if k in ("until", "label")]
    report["Images"] = prune_images(engine, all_=all_images, filters=image_filters)
    if volumes:
        report["Volumes"] = engine.volumes.prune({k: v for k, v in (filters or {}).items() if k == "label"})
    return report


def reset(engine) -> None:
    """Every container (stopped, forcibly), volume and image, then the
    root's and run root's contents: as `podman system reset` leaves it."""
    for ctr in engine.containers(sync=False):
        try:
            ctr.remove(force=True, timeout=0, volumes=True)
        except PypodError:
            pass  # gone meanwhile, or beyond saving: the directories go below
    for pod in engine.pods.list():
        try:
            pod.remove(force=True, timeout=0)  # its cgroup too, which lives outside the root
        except PypodError:
            pass
    for vol in engine.volumes.list():
        try:
            engine.volumes.remove(vol.name, force=True, timeout=0)
        except PypodError:
            pass
    for img in engine.images.list():
        try:
            engine.images.remove(img.id, force=True)
        except PypodError:
            pass
    from ..storage.overlay import _is_mountpoint, umount

    cfg = engine.config
    engine.close()
    for top in (cfg.root, cfg.runroot, cfg.tmpdir, cfg.volume_path):
        if not top or not os.path.isdir(top):
            continue
        _unmount_under(top, _is_mountpoint, umount)
        for name in os.listdir(top):
            path = os.path.join(top, name)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                try:
                    os.unlink(path)
                except OSError:
                    pass


def _unmount_under(top: str, is_mountpoint, umount) -> None:
    """Mounts a crash left under the root would stop rmtree at the door (or
    worse, lead it into an image): take them down first, deepest first."""
    real = os.path.realpath(top)
    mounts = []
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                point = line.split()[4]
                if point.startswith(real + "/"):
                    mounts.append(point)
    except OSError:
        return
    for point in sorted(mounts, key=len, reverse=True):
        try:
            umount(point)
        except OSError:
            pass


def migrate(engine, new_runtime: str = "") -> list[str]:
    """Rewrite every container's stored record in today's form (fields a
    newer pypod added get their defaults), and with new_runtime move the
    stopped ones to that OCI runtime; running containers are stopped
    first, as podman's migrate does.  Returns the IDs touched."""
    from .container import ContainerConfig

    touched = []
    for ctr in engine.containers():
        with ctr.locked():
            if new_runtime and ctr.state.status in (Status.RUNNING, Status.PAUSED, Status.STOPPING):
                ctr.stop()
            cfg_dict, _state = engine.store.get_container(ctr.id)
            cfg = ContainerConfig.from_dict(cfg_dict)
            if new_runtime:
                cfg.runtime = new_runtime
            engine.store.update_config(ctr.id, {**cfg.to_dict(), "name": cfg.name})
            touched.append(ctr.id)
    return touched


def renumber(engine) -> list[str]:
    """podman renumbers its lock table; pypod's locks are one file per
    container, so the work left is to drop the lock files of containers
    that are gone.  Returns the paths removed."""
    locks = engine.config.locks_dir
    known = set(engine.store.container_ids())
    removed = []
    try:
        names = os.listdir(locks)
    except FileNotFoundError:
        return removed
    for name in names:
        cid, ext = os.path.splitext(name)
        if ext == ".lock" and len(cid) == 64 and cid not in known:
            path = os.path.join(locks, name)
            try:
                # only a lock nobody holds: a container being created takes it first
                import fcntl

                fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    if cid not in set(engine.store.container_ids()):
                        os.unlink(path)
                        removed.append(path)
                finally:
                    os.close(fd)
            except OSError:
                continue
    return removed


def since(ts: float) -> str:
    from ..proto.humanize import human_duration

    return human_duration(time.time() - ts)
