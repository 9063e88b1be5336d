"""Restart policies, carried out without a daemon as podman does: when a
container's process exits, conmon runs `pypod container cleanup`, and that
cleanup starts the container again when its policy says so.  A user's
`stop` marks the container so the cleanup that follows leaves it stopped.
"""

from __future__ import annotations

from ..record import record

from .record import Record

POLICIES = ("", "no", "on-failure", "always", "unless-stopped")


@record
class RestartPolicy(Record):
    #: "" (none), no, on-failure, always, unless-stopped
    name: str = ""
    #: on-failure only: restarts before giving up (0 = no limit)
    max_retries: int = 0

    @property
    def active(self) -> bool:
        return self.name not in ("", "no")


def should_restart(policy: RestartPolicy, exit_code: int, restart_count: int, stopped_by_user: bool) -> bool:
    """podman's rule: never after a user's stop; on-failure only for a
    non-zero exit and while retries remain; always and unless-stopped
    (the same thing without a daemon that outlives reboots) every time."""
    if stopped_by_user or not policy.active:
        return False
    if policy.name == "on-failure":
        if exit_code == 0:
            return False
        if policy.max_retries > 0 and restart_count >= policy.max_retries:
            return False
    return True
