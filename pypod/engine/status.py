"""A container's status: its own module so that what only reads statuses
(`ps` of an empty store, the filters, inspect's words) does not import the
whole configuration (engine/container.py and the eight modules of its parts)."""

from __future__ import annotations

from ..lean import StrEnum


class Status(StrEnum):
    """libpod's ContainerStatus values, with the same spellings."""

    CONFIGURED = "configured"  # in the store only; nothing exists in the runtime
    CREATED = "created"  # runtime container exists, process not started
    RUNNING = "running"
    PAUSED = "paused"
    #: a stop is under way: the stop signal was sent, the process has not exited yet
    STOPPING = "stopping"
    STOPPED = "stopped"  # process exited, not yet cleaned up
    EXITED = "exited"  # process exited and storage/runtime cleaned up
    REMOVING = "removing"

    def __str__(self) -> str:
        return self.value
