"""What `inspect` shows of a container's settings (security, resources,
process options, restart policy, health check), in podman's field names and
types; engine/inspect.py merges these into its HostConfig and Config."""

from __future__ import annotations

from .container import ContainerConfig


def host_config(cfg: ContainerConfig) -> dict:
    return {
        "SecurityOpt": cfg.security.security_opt(),
    }
