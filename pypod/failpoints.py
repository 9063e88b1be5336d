"""Failpoints: named steps at which a test makes this process die.

`PYPOD_FAILPOINT=start.after-runtime-start` (a comma-separated list of
names) makes the process SIGKILL itself when it reaches
`failpoint("start.after-runtime-start")`; `name@N` dies on the Nth time the
step is reached (for steps inside loops, e.g. the third container of an
`rm -a`).  That is how the crash-consistency tests walk every step of every
operation and check that the next command still tells the truth.

Names are "operation.step": the operation is the command or API call that
reaches the step (create, init, start, stop, rm, exec, import, load, ...),
the step says what has just changed in the world.  Put one after each step
that changes the world (a row written, a mount made, a process started, a
file renamed into place): the crash tests find them in the source by the
literal call `failpoint("op.step")`, so the name must be a string literal.

The variable is read once and taken out of the environment, so no process
pypod starts (conmon, its exit command, the runtime) ever inherits it: a
test that arms a step kills the one command it ran, never the cleanup that
conmon runs later.  Unarmed, a failpoint costs one truth test.
"""

from __future__ import annotations

import os

ENV = "PYPOD_FAILPOINT"


def _parse(text: str) -> dict[str, int]:
    armed: dict[str, int] = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        name, _, nth = item.partition("@")
        armed[name] = int(nth) if nth.isdigit() and int(nth) > 0 else 1
    return armed


_armed = _parse(os.environ.pop(ENV, ""))


def failpoint(name: str) -> None:
    """Die here, at once and without cleaning up, if the step is armed."""
    if _armed and name in _armed:
        _armed[name] -= 1
        if _armed[name] <= 0:
            os.kill(os.getpid(), 9)


#: how a failpoint is written in the source (a literal name, so it can be
#: found); compiled by discover(), the tests' tool: every command imports
#: this module, and `re` is not for free
CALL_PATTERN = r"""\bfailpoint\(\s*["']([a-z0-9_-]+\.[a-z0-9_.-]+)["']\s*\)"""


def discover(package_dir: str | None = None) -> list[str]:
    """Every failpoint name in pypod's source, sorted: what the crash tests walk."""
    import re

    call_re = re.compile(CALL_PATTERN)
    package_dir = package_dir or os.path.dirname(os.path.abspath(__file__))
    names: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(package_dir):
        dirnames[:] = [d for d in dirnames if not d.startswith((".", "__"))]
        for fn in filenames:
            if fn.endswith(".py") and fn != "failpoints.py":
                with open(os.path.join(dirpath, fn), encoding="utf-8") as f:
                    names.update(call_re.findall(f.read()))
    return sorted(names)
