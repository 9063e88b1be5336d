"""What the engine needs from "an OCI runtime", as libpod's OCIRuntime interface.

The engine never runs runc (or conmon) itself: everything goes through this
interface, so a second implementation (a runtime without conmon, a fake for a
new platform) slots in without touching the engine.
"""

from __future__ import annotations

import abc
from ..record import record


class RuntimeContainer:
    """The view of a container the runtime layer uses; engine.Container fits.
    (Documentation only: typing.Protocol would cost every CLI call its import.)"""

    id: str
    config: object  # engine.container.ContainerConfig
    paths: object  # engine.container.ContainerPaths

    def exit_command(self) -> list[str]:
        raise NotImplementedError


@record
class RuntimeStatus:
    """The OCI runtime's view of a container: 'created', 'running', 'paused',
    'stopped', or 'absent' when the runtime does not know it."""

    status: str
    pid: int = 0


@record
class ComponentInfo:
    name: str
    path: str
    version: str
    package: str = ""


class OCIRuntime(abc.ABC):
    name: str
    path: str

    @abc.abstractmethod
    def create_container(self, ctr: RuntimeContainer, restore_from: str = "", held_fds: list[int] = ()) -> tuple[int, int]:
        """Create the container through its monitor (from a checkpoint's
        image directory when restore_from is set); return (pid, conmon pid).
        held_fds (published ports' sockets) stay open in the monitor for the
        container's life, never reaching the container."""

    @abc.abstractmethod
    def start_container(self, ctr: RuntimeContainer) -> None: ...

    @abc.abstractmethod
    def kill_container(self, ctr: RuntimeContainer, signal: int, all_processes: bool = False) -> None: ...

    @abc.abstractmethod
    def stop_container(self, ctr: RuntimeContainer, timeout: int, pid: int) -> bool:
        """Stop signal, up to timeout seconds for the process to go, then
        SIGKILL; True when the stop signal did not do it and SIGKILL was sent
        (podman warns about that)."""

    @abc.abstractmethod
    def delete_container(self, ctr: RuntimeContainer) -> None: ...

    def begin_delete(self, ctr: RuntimeContainer):
        """delete_container() begun: returns the function that waits for it
        to end (and raises what it would).  The engine removes the files of a
        container whose process is gone meanwhile; a runtime that cannot
        work in the background deletes here, at once."""
        self.delete_container(ctr)
        return lambda: None

    @abc.abstractmethod
    def pause_container(self, ctr: RuntimeContainer) -> None: ...

    @abc.abstractmethod
    def unpause_container(self, ctr: RuntimeContainer) -> None: ...

    @abc.abstractmethod
    def container_status(self, ctr: RuntimeContainer) -> RuntimeStatus: ...

    @abc.abstractmethod
    def read_exit(self, ctr: RuntimeContainer) -> tuple[int, float, bool] | None:
        """(exit code, time of exit, OOM-killed) once the monitor recorded an exit."""

    @abc.abstractmethod
    def attach_socket_path(self, ctr: RuntimeContainer) -> str: ...

    @abc.abstractmethod
    def attach_resize(self, ctr: RuntimeContainer, height: int, width: int) -> None: ...

    @abc.abstractmethod
    def wait_exit(self, ctr: RuntimeContainer, pid: int, conmon_pid: int, timeout: float | None = None) -> bool:
        """Block until the monitor has recorded the container's exit (True),
        or timeout passes (False)."""

    @abc.abstractmethod
    def update_resources(self, ctr: RuntimeContainer, resources: dict, scratch: str) -> None:
        """Write new limits (OCI linux.resources) to the container's cgroup;
        scratch: a private file path the call may use."""

    @abc.abstractmethod
    def remove_runtime_files(self, ctr: RuntimeContainer) -> None:
        """Delete what the runtime left for this container (exit file, sockets)."""

    @abc.abstractmethod
    def container_pids(self, ctr: RuntimeContainer) -> list[int]:
        """Host pids of every process in the container."""

    @abc.abstractmethod
    def info(self) -> tuple[ComponentInfo, ComponentInfo]:
        """(monitor, runtime) names, paths and versions for `pypod info`."""

    def container_ids(self) -> list[str]:
        """Every container the runtime holds (for `system check`)."""
        return []

    def start_pending(self, ctr: RuntimeContainer) -> bool | None:
        """Without running the runtime: True while a created container still
        waits for its start, False once it started (or is gone), None when
        this runtime cannot tell cheaply.  `ps` uses it to notice a start
        that no pypod recorded."""
        return None

    def started_at(self, ctr: RuntimeContainer) -> float:
        """When the runtime started the container's process (unix time), or
        0.0 when it cannot say."""
        return 0.0

    def supports_checkpoint(self) -> tuple[bool, str]:
        """(True, "") where checkpoint/restore can work here, else (False, why)."""
        return False, f"the {self.name} runtime does not support checkpointing"

    def checkpoint_container(self, ctr: RuntimeContainer, image_path: str, flags: list[str]) -> None:
        raise NotImplementedError
