"""`pypod update`: new cgroup limits for a container (running or not)."""

from __future__ import annotations


def add_update_args(p) -> None:
    from .resourceflags import add_resource_flags

    add_resource_flags(p)
    p.add_argument("container", metavar="CONTAINER")


def cmd_update(engine, a) -> int:
    from ..engine.update import update_resources
    from .resourceflags import resource_changes

    ctr = engine.container(a.container)
    update_resources(ctr, resource_changes(a))
    print(ctr.id)
    return 0
