"""`pypod container cleanup`: conmon's exit command.

It runs each time a container (or a detached exec session) exits, often
while the `pypod run` that waited for that exit is cleaning up itself.  Then
it has nothing to do, and finds that out before it loads the engine: the
foreground pypod holds the exit's claim (engine/exitclaim.py).
"""

from __future__ import annotations

import sys

from .. import trace
from ..errors import NoSuchContainer, PypodError


def add_cleanup_args(p) -> None:
    p.add_argument("-a", "--all", action="store_true", help="act on all containers")
    p.add_argument("-l", "--latest", action="store_true", help="act on the latest container pypod knows about")
    p.add_argument("containers", nargs="*", metavar="CONTAINER")
    p.add_argument("--rm", action="store_true", help="after cleanup, remove the container entirely")
    p.add_argument("--rmi", action="store_true", help="after cleanup, remove the container's image (fails while others use it)")
    p.add_argument("--exec", default="", help="clean up the given exec session instead of the container")


def early_cleanup(config, a) -> int | None:
    """Before the engine is loaded (cli/main.py): 0 when a foreground pypod
    claimed every exit named and finished it.  conmon names the container by
    its full ID, so its claim is found from the config alone; the engine's
    imports would be most of this process's cost (runs the exit command of
    every container, most often for nothing)."""
    if a.exec or a.all or a.latest:
        return None
    from ..engine.exitclaim import finished_by_claimant

    a.containers = [t for t in a.containers if not (_is_full_id(t) and finished_by_claimant(config.container_run_dir(t)))]
    if a.containers:
        return None
    trace.step("cleanup: the foreground pypod finished this exit")
    return 0


def cmd_cleanup(engine, a) -> int:
    """Quiet and idempotent: another pypod may be doing the same work."""
    if a.exec and (a.rm or a.rmi):
        from ..errors import InvalidArgument

        raise InvalidArgument("--exec and --rm or --rmi are mutually exclusive")
    from .containers import _targets

    rc = 0
    for target in _targets(engine, a):
        try:
            ctr = engine.container(target) if isinstance(target, str) else target
            if a.exec:
                from ..engine import execs

                execs.cleanup_session(ctr, a.exec)
            elif a.rm:
                ctr.remove(force=False, volumes=True)
            else:
                ctr.cleanup()
            if a.rmi and not a.exec:
                engine.remove_image(ctr.config.image_id, force=False)
        except NoSuchContainer:
            if isinstance(target, str) and _is_full_id(target) and not a.exec:
                from ..engine.namespaces import release_removed

                release_removed(engine, target)  # `run --rm` left its network (and run dir) to us
            continue
        except PypodError as e:
            print(f"Error: {e}", file=sys.stderr)
            rc = 125
    trace.step("cleanup: done by the exit command")
    return rc


def _is_full_id(ref: str) -> bool:
    return len(ref) == 64 and all(c in "0123456789abcdef" for c in ref)
