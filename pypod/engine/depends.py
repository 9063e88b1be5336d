"""Containers that need others: --requires, and namespaces joined from
another container (--pid container:X, ...).  A container's dependencies
are started before it; they are recorded in its config's depends_on, by
which `rm` refuses to take one away from under the containers needing it."""

from __future__ import annotations

from .container import ContainerConfig

_NS_FIELDS = ("ipc", "pid", "uts", "cgroupns", "userns")


def dependencies(cfg: ContainerConfig) -> list[str]:
    """IDs of the containers cfg needs running, in order, without repeats."""
    out = list(cfg.process.requires)
    for name in _NS_FIELDS:
        mode = getattr(cfg.namespaces, name)
        if mode.startswith("container:"):
            out.append(mode[len("container:"):])
    seen: set[str] = set()
    return [d for d in out if not (d in seen or seen.add(d))]


def start_dependencies(ctr) -> None:
    """Start what ctr needs that is not running yet (podman starts them too)."""
    from ..errors import AlreadyInState

    for dep_id in dependencies(ctr.config):
        dep = ctr.engine.container(dep_id)
        try:
            dep.start()
        except AlreadyInState:
            pass
