"""The parts of a container's spec that follow from its process options:
an init as PID 1, systemd mode, the time zone, the annotations.  Pure."""

from __future__ import annotations

#: where podman mounts the init binary in the container
INIT_IN_CONTAINER = "/run/podman-init"

#: commands that make `--systemd true` (the default) switch systemd mode on
SYSTEMD_COMMANDS = ("/sbin/init", "/usr/sbin/init", "/usr/local/sbin/init", "/lib/systemd/systemd",
                    "/usr/lib/systemd/systemd")

#: SIGRTMIN+3: how systemd as PID 1 is asked to halt
SYSTEMD_STOP_SIGNAL = 37

_TMPFS_OPTS = ["rw", "rprivate", "nosuid", "nodev", "tmpcopyup"]


def systemd_mode(mode: str, args: list[str]) -> bool:
    """--systemd always, or true (the default) when the command is an init."""
    if mode == "always":
        return True
    if mode != "true" or not args:
        return False
    cmd = args[0]
    return cmd in SYSTEMD_COMMANDS or cmd.rsplit("/", 1)[-1] == "systemd"


def systemd_mounts(cgroup_v2: bool) -> list[dict]:
    """What systemd needs as PID 1: tmpfs where it keeps its runtime state,
    and (on cgroup v1) its own hierarchy writable."""
    mounts = [{"destination": d, "type": "tmpfs", "source": "tmpfs", "options": list(_TMPFS_OPTS)}
              for d in ("/tmp", "/run", "/run/lock", "/var/log/journal")]
    if not cgroup_v2:
        mounts.append({"destination": "/sys/fs/cgroup/systemd", "type": "bind", "source": "/sys/fs/cgroup/systemd",
                       "options": ["bind", "rprivate"]})
    return mounts


def init_mount(init_binary: str) -> dict:
    return {"destination": INIT_IN_CONTAINER, "type": "bind", "source": init_binary, "options": ["bind", "ro", "rprivate"]}


def init_args(args: list[str]) -> list[str]:
    """catatonit as PID 1, running the command as its child."""
    return [INIT_IN_CONTAINER, "--", *args]


def annotations(cfg) -> dict[str, str]:
    """podman's own annotations (inspect shows them too), then the user's."""
    proc, sec = cfg.process, cfg.security
    out = {
        "io.kubernetes.cri-o.TTY": _flag(cfg.tty),
        "io.podman.annotations.autoremove": _flag(cfg.auto_remove),
        "io.podman.annotations.init": _flag(proc.init),
        "io.podman.annotations.privileged": _flag(cfg.privileged),
    }
    if sec.seccomp_profile:
        out["io.podman.annotations.seccomp"] = sec.seccomp_profile
    if sec.label_options:
        out["io.podman.annotations.label"] = ",label=".join(sec.label_options)
    if sec.apparmor_profile:
        out["io.podman.annotations.apparmor"] = sec.apparmor_profile
    out.update(proc.annotations)
    return out


def _flag(on: bool) -> str:
    return "TRUE" if on else "FALSE"


def umask_value(text: str) -> int:
    from ..errors import InvalidArgument

    if not text or len(text) > 4 or any(c not in "01234567" for c in text):
        raise InvalidArgument(f"invalid umask string {text}")
    return int(text, 8)
