"""`pypod container clone CONTAINER [NAME] [IMAGE]`: a new container with
another's settings (its own ID, name and writable layer), podman's way."""

from __future__ import annotations

from ..errors import InvalidArgument, NameInUse


def add_clone_args(p) -> None:
    from .resourceflags import CLONE, add_resource_flags

    add_resource_flags(p.add_argument_group("new cgroup limits (the original's otherwise)"), CLONE)
    p.add_argument("--pod", default="", help="create the clone in this pod (its network becomes the pod's)")
    p.add_argument("--destroy", action="store_true", help="remove the original container once the clone exists")
    p.add_argument("-f", "--force", action="store_true", help="with --destroy: stop the original first if it runs")
    p.add_argument("--name", default="", help="the clone's name (default: the original's with -clone)")
    p.add_argument("--run", action="store_true", help="start the clone")
    p.add_argument("container", metavar="CONTAINER")
    p.add_argument("new_name", nargs="?", default="", metavar="NAME")
    p.add_argument("image", nargs="?", default="", metavar="IMAGE")


def clone_name(engine, base: str) -> str:
    """NAME-clone, then NAME-clone1, -clone2, ... whichever is free."""
    for n in range(0, 10000):
        name = f"{base}-clone{n or ''}"
        try:
            engine.store.lookup_id(name)
        except Exception:  # noqa: BLE001 - no such container: the name is free
            return name
    raise NameInUse(f"no free clone name for {base}")


def _into_pod(engine, cfg, ref: str) -> None:
    """The clone joins a pod: podman drops the original's own network
    settings (with a warning) where the pod shares its network namespace."""
    import sys

    pod = engine.pods.get(ref)
    cfg.pod = pod.id
    if "net" in pod.share:
        from ..network.types import Networking

        if cfg.network not in ("", "pod") or cfg.networking.ports or cfg.networking.networks:
            print("WARN: resetting network config, cannot specify a network other than the pod's when sharing "
                  "the net namespace", file=sys.stderr)
        cfg.network, cfg.networking = "", Networking(expose=[])
        cfg.hostname = ""


def copied_config(engine, orig, name: str, image: str = ""):
    """A new ContainerConfig with orig's settings under a new name (and
    image): what the new container will not share with orig reset, and
    what orig's pod added undone (the caller puts it in a pod again)."""
    from ..engine.container import ContainerConfig

    cfg = ContainerConfig.from_dict(orig.config.to_dict())
    cfg.id = ""
    cfg.name = name
    cfg.created = 0.0
    cfg.create_command, cfg.create_command_tail = [], 0  # not what made this one
    if cfg.hostname == orig.id[:12]:
        cfg.hostname = ""  # the default hostname follows the new ID
    if image:
        cfg.image = image
    if cfg.pod:
        from ..engine.pods import leave_pod

        leave_pod(engine, cfg)
    if cfg.image and not cfg.rootfs:
        # creating fills in the image's environment again: keep only what the user added
        image_env = (engine.images.lookup(cfg.image).config or {}).get("Env") or []
        cfg.env = [e for e in cfg.env if e not in image_env]
    return cfg


def cmd_clone(engine, a) -> int:
    from .resourceflags import CLONE, resource_changes

    if a.force and not a.destroy:
        raise InvalidArgument("--force can only be used with --destroy")
    if a.name and a.new_name and a.name != a.new_name:
        raise InvalidArgument("cannot give the clone two names (--name and NAME)")
    orig = engine.container(a.container)
    cfg = copied_config(engine, orig, a.name or a.new_name or clone_name(engine, orig.name), a.image)
    changes = resource_changes(a, CLONE)
    if changes:
        from ..engine.update import updated

        cfg.resources = updated(cfg.resources, changes)
    if a.pod:
        _into_pod(engine, cfg, a.pod)
    ctr = engine.create_container(cfg)
    if a.destroy:
        orig.remove(force=a.force)
    if a.run:
        ctr.start()
    print(ctr.id)
    return 0
