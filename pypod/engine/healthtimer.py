"""The scheduler of health checks, without systemd.

podman asks systemd for a transient timer that runs `podman healthcheck
run ID` every interval.  pypod starts, with the container, a small timer of
its own: a /bin/sh loop in a session of its own that sleeps the interval,
runs `pypod container healthcheck run ID` (the same command a user can run),
and goes on.  It survives the CLI that started it, as the container does.
Its process group is recorded in the container's run directory and killed
when the container stops, is cleaned up or removed; should it outlive the
container anyway, its next `healthcheck run` exits 125 ("not running") and
the loop ends.  A check costs one pypod process per interval, as podman's
timer costs one podman process.
"""

from __future__ import annotations

import os
import signal

#: exit code of `healthcheck run` that tells the timer to end
TIMER_STOP = 125

_LOOP = 'while sleep "$INTERVAL"; do "$@"; [ $? -eq %d ] && exit 0; done' % TIMER_STOP


def pid_file(ctr) -> str:
    return os.path.join(ctr.paths.run_dir, "healthcheck.pid")


def start(ctr) -> None:
    """Start the container's timer (replacing one that may be left)."""
    import subprocess

    h = ctr.config.health
    if not h.enabled or h.interval <= 0:
        return
    stop(ctr)
    exit_cmd = ctr.engine.exit_command(ctr.id, False)
    cmd = [*exit_cmd[:exit_cmd.index("container")], "healthcheck", "run", ctr.id]
    interval = f"{h.interval:g}"
    env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "INTERVAL": interval}
    if "PYPOD_CONFIG" in os.environ:
        env["PYPOD_CONFIG"] = os.environ["PYPOD_CONFIG"]
    proc = subprocess.Popen(["/bin/sh", "-c", _LOOP, "pypod-healthcheck", *cmd],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, close_fds=True, env=env)
    from .. import private

    private.makedirs(ctr.paths.run_dir)
    tmp = pid_file(ctr) + ".tmp"
    private.write_file(tmp, str(proc.pid))
    os.replace(tmp, pid_file(ctr))
    # The CLI may exit now: the loop is reparented to init, which reaps it.
    proc.returncode = 0  # keep Popen's destructor from warning about a running child


def stop(ctr) -> None:
    """Kill the timer's process group (the loop and a check it is running)."""
    path = pid_file(ctr)
    try:
        with open(path) as f:
            pid = int(f.read().strip() or 0)
    except (OSError, ValueError):
        return
    if pid > 0 and _is_our_timer(pid, ctr.id):
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _is_our_timer(pid: int, ctr_id: str) -> bool:
    """Guard against a recycled pid: the process must be this container's loop."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read().split(b"\0")
    except OSError:
        return False
    return b"pypod-healthcheck" in args and ctr_id.encode() in args
