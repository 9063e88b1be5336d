"""Failpoints: named steps at which a test makes this process die.

`PYPOD_FAILPOINT=create.after-conmon` (a comma-separated list of names) makes
the process SIGKILL itself when it reaches `failpoint("create.after-conmon")`.
That is how the crash-consistency tests walk every step of an operation and
check that the next command still tells the truth.  Unset, a failpoint costs
one string test.
"""

from __future__ import annotations

import os

ENV = "PYPOD_FAILPOINT"

_armed = frozenset(filter(None, os.environ.get(ENV, "").split(",")))


def failpoint(name: str) -> None:
    """Die here, at once and without cleaning up, if the step is armed."""
    if _armed and name in _armed:
        os.kill(os.getpid(), 9)
