"""A container's settings as libpod's SpecGenerator JSON (`generate spec`):
what `POST /libpod/containers/create` takes to make the same container."""

from __future__ import annotations


def spec_of(ctr) -> dict:
    return spec_from_config(ctr.config, default_hostname=ctr.id[:12])


def spec_from_config(cfg, default_hostname: str = "") -> dict:
    """A ContainerConfig (made or about to be) as a SpecGenerator; fields
    left at their defaults are left out."""
    from ..proto.signals import signal_name

    env = {}
    for item in cfg.env:
        k, _, v = item.partition("=")
        env[k] = v
    spec = {
        "name": cfg.name,
        "command": list(cfg.command),
        "entrypoint": list(cfg.entrypoint),
        "env": env,
        "terminal": cfg.tty,
        "stdin": cfg.stdin,
        "labels": dict(cfg.labels or {}),
        "stop_signal": signal_name(cfg.stop_signal),
        "stop_timeout": cfg.stop_timeout,
        "remove": cfg.auto_remove,
        "work_dir": cfg.workdir,
        "user": cfg.user,
        "groups": list(cfg.groups),
        "hostname": cfg.hostname if cfg.hostname != default_hostname else "",
        "privileged": cfg.privileged,
        "read_only_filesystem": cfg.read_only,
        "cap_add": list(cfg.cap_add),
        "cap_drop": list(cfg.cap_drop),
        "mounts": [{"destination": m.destination, "source": m.source, "type": m.type, "options": list(m.options)}
                   for m in cfg.mounts],
        "log_configuration": {"driver": cfg.log_driver, "path": cfg.log_path,
                              "size": cfg.log_size_max if cfg.log_size_max > 0 else 0},
        "r_limits": [{"type": f"RLIMIT_{n.upper()}", "soft": s, "hard": h} for n, s, h in cfg.ulimits],
        "containerCreateCommand": list(cfg.create_command),
        "netns": {"nsmode": {"private": "bridge"}.get(cfg.network, cfg.network) or "bridge"},
    }
    if cfg.rootfs:
        spec["rootfs"] = cfg.rootfs
    else:
        spec["image"] = cfg.image
    return {k: v for k, v in spec.items() if v not in ("", [], {}, None)}
