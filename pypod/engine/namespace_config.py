"""Which namespaces a container gets or shares (--ipc, --pid, --uts,
--cgroupns, --userns with its ID maps), and the per-namespace kernel
parameters set in them (--sysctl).  The network namespace is the
network settings' own.

A mode is "" (the default), "private", "host", "container:ID" or
"ns:PATH"; --ipc also knows "shareable" and "none".
"""

from __future__ import annotations

from ..record import field, record

from .record import Record


@record
class IDMap(Record):
    """One line of a user namespace's uid or gid map."""

    container_id: int = 0
    host_id: int = 0
    size: int = 0


@record
class NamespaceConfig(Record):
    ipc: str = ""
    pid: str = ""
    uts: str = ""
    cgroupns: str = ""
    #: "" (host), "auto[:OPTS]", "ns:PATH", "container:ID", or "private" with uid_map
    userns: str = ""
    uid_map: list[IDMap] = field(default_factory=list)
    gid_map: list[IDMap] = field(default_factory=list)
    sysctls: dict[str, str] = field(default_factory=dict)

    NESTED = {"uid_map": IDMap, "gid_map": IDMap}

    @property
    def user_namespaced(self) -> bool:
        return bool(self.uid_map)
