"""Containers that need others: --requires, and namespaces joined from
another container (--pid container:X, ...).  A container's dependencies
are started before it, and a container others depend on is not removed
from under them."""

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


def dependents(engine, ctr_id: str) -> list[str]:
    """Names of the containers that depend on ctr_id."""
    configs = [ContainerConfig.from_dict(d) for d in engine.store.configs_mentioning(ctr_id, ctr_id)]
    return [c.name for c in configs if ctr_id in dependencies(c)]


def check_no_dependents(ctr) -> None:
    from ..errors import InvalidState

    names = dependents(ctr.engine, ctr.id)
    if names:
        raise InvalidState(f"container {ctr.id} has dependent containers which must be removed before it: "
                           f"{', '.join(names)}: container already exists")


def start_dependencies(ctr) -> None:
    """Start what ctr needs that is not running yet (podman starts them too)."""
    from ..errors import AlreadyInState

    for dep_id in dependencies(ctr.config):
        dep = ctr.engine.container(dep_id)
        try:
            dep.start()
        except AlreadyInState:
            pass
