"""`generate systemd`: a systemd unit that runs a container, podman's way.

Without --new the unit starts and stops the existing container (Type=forking,
conmon's PID file).  With --new it creates the container afresh each time
from the command line that created it (`run --cidfile ... --rm -d
--replace`), removes it when stopped, and is told the container is up by
conmon (Type=notify, --sdnotify=conmon).
"""

from __future__ import annotations

import os
import sys
import time

from ..errors import InvalidArgument

#: systemd's Restart= values
RESTART_POLICIES = ("no", "on-success", "on-failure", "on-abnormal", "on-watchdog", "on-abort", "always")
#: what PODMAN_SYSTEMD_UNIT is called for pypod
ENV_VARIABLE = "PODMAN_SYSTEMD_UNIT"


class UnitOptions:
    def __init__(self, *, new: bool = False, name: bool = False, no_header: bool = False, template: bool = False,
                 restart_policy: str = "on-failure", restart_sec: int | None = None, start_timeout: int | None = None,
                 stop_timeout: int | None = None, container_prefix: str = "container", separator: str = "-",
                 env: list[str] = (), wants: list[str] = (), after: list[str] = (), requires: list[str] = (),
                 executable: str = ""):
        if restart_policy not in RESTART_POLICIES:
            raise InvalidArgument(f"{restart_policy} is not a valid restart policy")
        self.new, self.name, self.no_header, self.template = new, name, no_header, template
        self.restart_policy, self.restart_sec = restart_policy, restart_sec
        self.start_timeout, self.stop_timeout = start_timeout, stop_timeout
        self.container_prefix, self.separator = container_prefix, separator
        self.env, self.wants, self.after, self.requires = list(env), list(wants), list(after), list(requires)
        self.executable = executable or _executable()


def _executable() -> str:
    script = os.path.join(os.path.dirname(sys.executable), "pypod")
    return script if os.access(script, os.X_OK) else os.path.realpath(sys.argv[0])


def escape_arg(arg: str) -> str:
    """A word as systemd's command-line parser reads it back (podman's escapeSystemdArg)."""
    arg = arg.replace("%", "%%")  # systemd's specifiers start with %
    if not arg or any(c in arg for c in ' \t\n"\'\\$;'):
        return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return arg


def format_options(words: list[str]) -> str:
    """Each flag on a continuation line, as podman lays the commands out."""
    if not words:
        return ""
    out = words[0]
    for w in words[1:]:
        out += (" \\\n\t" + w) if w.startswith("-") else (" " + w)
    return out


def service_name(prefix: str, sep: str, name_or_id: str) -> str:
    return f"{prefix}{sep}{name_or_id}" if prefix else name_or_id


#: flags of a create command that --new replaces with its own
_DROP_WITH_VALUE = ("--cidfile", "--cgroups", "--conmon-pidfile", "--restart")
_DROP_BOOL = ("--rm", "-d", "--detach")


def _split_command(cmd: list[str], tail: int) -> tuple[list[str], list[str], list[str]]:
    """(global flags, the run/create flags, image and command) of a create command."""
    index = next((i for i, w in enumerate(cmd) if w in ("run", "create")), -1)
    if index < 0 or tail < 1 or len(cmd) - tail <= index:
        raise InvalidArgument(f"container's create command is too short or invalid: {cmd}")
    return cmd[1:index], cmd[index + 1:len(cmd) - tail], cmd[len(cmd) - tail:]


def _new_start_command(cmd: list[str], tail: int, opts: UnitOptions, svc: str) -> list[str]:
    """The ExecStart words: the user's own ones escaped for systemd, the
    ones this adds (with systemd's %t, %n and %i specifiers) as they are."""
    root, flags, image_and_args = _split_command(cmd, tail)
    esc = escape_arg
    kept: list[str] = []
    has_name = has_replace = False
    sdnotify_set = False
    i = 0
    while i < len(flags):
        w = flags[i]
        name, eq, value = w.partition("=")
        nxt = flags[i + 1] if i + 1 < len(flags) else ""
        if name in _DROP_BOOL:
            i += 1
            continue
        if name in _DROP_WITH_VALUE:
            i += 1 if eq else 2
            continue
        if name == "--sdnotify":
            v = value if eq else nxt
            i += 1 if eq else 2
            if v != "ignore":
                kept.append(f"--sdnotify={esc(v)}")
                sdnotify_set = True
            continue
        if name == "--name":
            has_name = True
            if opts.template:
                v = value if eq else nxt
                kept.append(f"--name={esc(v)}-%i")
                i += 1 if eq else 2
                continue
        if name == "--replace":
            has_replace = True
        kept.append(esc(w))
        i += 1
    start = [opts.executable, *(esc(w) for w in root), "run", "--cidfile=%t/%n.ctr-id", "--cgroups=no-conmon", "--rm"]
    if not sdnotify_set:
        start.append("--sdnotify=conmon")
    start.append("-d")
    if has_name and not has_replace:
        start.append("--replace")
    if opts.template and not has_name:
        start.append(f"--name={svc}-%i")
    return start + kept + [esc(w) for w in image_and_args]


def container_unit(ctr, opts: UnitOptions) -> tuple[str, str]:
    """(service name, unit file text) for one container."""
    cfg = ctr.config
    name_or_id = cfg.name if opts.name else ctr.id
    svc = service_name(opts.container_prefix, opts.separator, name_or_id)
    stop_timeout = cfg.stop_timeout if opts.stop_timeout is None else opts.stop_timeout
    exe = opts.executable
    lines = [f"# {svc}{'@' if opts.template else ''}.service"]
    if not opts.no_header:
        lines.append("# autogenerated by pypod")
        lines.append("# " + time.strftime("%a %b %e %H:%M:%S %Z %Y", time.gmtime()).replace(" GMT ", " UTC "))
    run_root = "%t/containers" if opts.new else ctr.engine.config.runroot
    lines += ["", "[Unit]", f"Description=pypod {svc}.service{' for %I' if opts.template else ''}",
              "Documentation=man:podman-generate-systemd(1)", "Wants=network-online.target",
              "After=network-online.target", f"RequiresMountsFor={run_root}"]
    if opts.wants or opts.after or opts.requires:
        lines += ["", "# User-defined dependencies"]
        for key, values in (("Wants", opts.wants), ("After", opts.after), ("Requires", opts.requires)):
            if values:
                lines.append(f"{key}={' '.join(values)}")
    lines += ["", "[Service]", f"Environment={ENV_VARIABLE}=%n{'-%i' if opts.template else ''}"]
    lines += [f"Environment={escape_arg(e)}" for e in opts.env]
    lines.append(f"Restart={opts.restart_policy}")
    if opts.restart_sec is not None:
        lines.append(f"RestartSec={opts.restart_sec}")
    if opts.start_timeout:
        lines.append(f"TimeoutStartSec={opts.start_timeout}")
    lines.append(f"TimeoutStopSec={stop_timeout + 60}")
    if opts.new:
        if not cfg.create_command:
            raise InvalidArgument(f'cannot use --new on container "{ctr.id}": no create command found: '
                                  "only works on containers created directly with pypod but not via REST API")
        start = _new_start_command(cfg.create_command, cfg.create_command_tail, opts, svc)
        lines.append("ExecStartPre=" + format_options(["/bin/rm", "-f", "%t/%n.ctr-id"]))
        lines.append("ExecStart=" + format_options(start))
        lines.append("ExecStop=" + format_options([exe, "stop", "--ignore", "-t", str(stop_timeout), "--cidfile=%t/%n.ctr-id"]))
        lines.append("ExecStopPost=" + format_options([exe, "rm", "-f", "--ignore", "-t", str(stop_timeout),
                                                        "--cidfile=%t/%n.ctr-id"]))
        lines += ["Type=notify", "NotifyAccess=all"]
    else:
        lines.append(f"ExecStart={exe} start {name_or_id}")
        lines.append("ExecStop=" + format_options([exe, "stop", "-t", str(stop_timeout), name_or_id]))
        lines.append("ExecStopPost=" + format_options([exe, "stop", "-t", str(stop_timeout), name_or_id]))
        lines.append(f"PIDFile={ctr.paths.conmon_pidfile}")
        lines.append("Type=forking")
    lines += ["", "[Install]", "WantedBy=default.target"]
    return svc, "\n".join(lines) + "\n"
