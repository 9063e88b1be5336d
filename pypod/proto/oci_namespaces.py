"""A container's namespaces, ID maps and sysctls as the OCI spec writes
them.  Pure: paths of namespaces to join (another container's, or one the
user named) come in resolved."""

from __future__ import annotations

from ..errors import InvalidArgument

#: what --ipc, --pid, --uts and --cgroupns accept, besides container:ID and ns:PATH
SIMPLE_MODES = {
    "ipc": ("", "private", "shareable", "host", "none"),
    "pid": ("", "private", "host"),
    "uts": ("", "private", "host"),
    "cgroupns": ("", "private", "host"),
}

#: sysctls a container may set, by the namespace that makes them its own
_IPC_SYSCTLS = ("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax",
                "kernel.shmmni", "kernel.shm_rmid_forced")
_UTS_SYSCTLS = ("kernel.domainname", "kernel.hostname")


def check_mode(kind: str, mode: str) -> str:
    """A namespace mode as the user wrote it, checked; "" for the default."""
    if mode in SIMPLE_MODES[kind]:
        return mode
    for prefix in ("container:", "ns:"):
        if mode.startswith(prefix) and len(mode) > len(prefix):
            if prefix == "ns:" and not mode[3:].startswith("/"):
                raise InvalidArgument(f"invalid {kind} namespace path {mode[3:]!r}: must be absolute")
            return mode
    modes = ", ".join(m for m in SIMPLE_MODES[kind] if m)
    raise InvalidArgument(f'invalid {kind} namespace "{mode}": use {modes}, container:ID or ns:PATH')


def is_host(mode: str) -> bool:
    return mode == "host"


def joins(mode: str) -> bool:
    return mode.startswith(("container:", "ns:"))


def namespace_list(ns, network: str, cgroupns_default_private: bool, joined: dict[str, str],
                   shared: dict[str, str] | None = None) -> list[dict]:
    """ns: engine.namespace_config.NamespaceConfig; network: the network mode
    (with "host" the container still gets a UTS namespace of its own, named
    after the host, as in podman); joined: OCI type -> path for modes that join;
    shared: OCI type -> path of the namespaces the network mode or the pod
    hands the container (a netns pypod made, the infra container's), taken
    where the container asks for nothing else."""
    shared = shared or {}
    out = []

    def add(oci_type: str, mode: str, default_own: bool = True) -> None:
        if joins(mode):
            out.append({"type": oci_type, "path": joined[oci_type]})
        elif mode == "host":
            return
        elif not mode and oci_type in shared:
            out.append({"type": oci_type, "path": shared[oci_type]})
        elif mode in ("", "private", "shareable", "none") and (mode or default_own):
            out.append({"type": oci_type})

    add("pid", ns.pid)
    if network != "host":
        out.append({"type": "network", **({"path": shared["network"]} if "network" in shared else {})})
    add("ipc", ns.ipc)
    add("uts", ns.uts)
    out.append({"type": "mount"})
    add("cgroup", ns.cgroupns, default_own=cgroupns_default_private or "cgroup" in shared)
    if ns.userns.startswith(("ns:", "container:")):
        out.append({"type": "user", "path": joined["user"]})
    elif ns.uid_map:
        out.append({"type": "user"})
    return out


def id_mappings(maps) -> list[dict]:
    return [{"containerID": m.container_id, "hostID": m.host_id, "size": m.size} for m in maps]


def check_sysctl(name: str, ns, network: str) -> None:
    """podman's rule: only namespaced sysctls, and only in a namespace of
    the container's own."""
    if name in _IPC_SYSCTLS or name.startswith("fs.mqueue."):
        if is_host(ns.ipc):
            raise InvalidArgument(f"sysctl {name!r} is not allowed in the hosts ipc namespace")
        return
    if name.startswith("net."):
        if network == "host":
            raise InvalidArgument(f"sysctl {name!r} is not allowed in the hosts network namespace")
        return
    if name in _UTS_SYSCTLS:
        if is_host(ns.uts) or (network == "host" and not ns.uts):
            raise InvalidArgument(f"sysctl {name!r} is not allowed in the hosts uts namespace")
        return
    raise InvalidArgument(f"sysctl {name!r} is not allowed")
