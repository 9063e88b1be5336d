"""`pypod healthcheck run`: a container's health check, now."""

from __future__ import annotations

import sys

from ..errors import NoSuchContainer


def add_healthcheck_run_args(p) -> None:
    p.add_argument("container", metavar="CONTAINER")


def cmd_healthcheck_run(engine, a) -> int:
    """0 when the check passed; 1 and "unhealthy" when it failed (whatever
    the streak); 125 when it could not run (podman's codes)."""
    from ..engine.health import run_check

    try:
        ctr = engine.container(a.container)
    except NoSuchContainer as e:
        raise NoSuchContainer(f"unable to look up {a.container} to perform a health check: {e}") from None
    if run_check(ctr) != 0:
        print("unhealthy")
        sys.stdout.flush()
        return 1
    return 0
