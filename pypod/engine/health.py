"""Health checks: a command run in the container now and then, whose exit
code makes the container healthy or unhealthy.

Configuration (HealthConfig) comes from --health-* flags or the image's
HEALTHCHECK; results live in the container's healthcheck.log (podman's
file name and shape: Status, FailingStreak, Log of the last five checks).
How checks are scheduled without systemd is pypod/engine/healthtimer.py's.
"""

from __future__ import annotations

from ..record import field, record

from .record import Record

#: podman's defaults (Docker's too)
DEFAULT_INTERVAL = 30.0
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 3
#: how many results the log keeps
LOG_LENGTH = 5
#: how much of a check's output is kept
MAX_OUTPUT = 4096

STARTING, HEALTHY, UNHEALTHY = "starting", "healthy", "unhealthy"
ON_FAILURE_ACTIONS = ("none", "kill", "restart", "stop")


#: interval of a check that only runs when asked (`--health-interval disable`)
DISABLED = -1.0


@record
class HealthConfig(Record):
    """Zero fields are unset until create completes them (see complete())."""

    #: Docker's form: ["CMD-SHELL", "cmd"], ["CMD", "prog", "arg"], ["NONE"]; [] = none given
    test: list[str] = field(default_factory=list)
    #: seconds; DISABLED: no timer, `healthcheck run` only
    interval: float = 0.0
    timeout: float = 0.0
    start_period: float = 0.0
    retries: int = 0
    #: what an unhealthy container gets: none, kill, restart, stop
    on_failure: str = "none"

    @property
    def enabled(self) -> bool:
        return bool(self.test) and self.test[0] != "NONE"

    def command(self) -> list[str]:
        kind, rest = self.test[0], self.test[1:]
        if kind == "CMD-SHELL":
            return ["/bin/sh", "-c", " ".join(rest)]
        return list(rest)

    def docker_shape(self) -> dict:
        """Config.Healthcheck as Docker and podman show it (durations in ns),
        zero fields left out as Go's omitempty does: Cockpit's page prints a
        stray "0" for a StartPeriod that is there but zero."""
        shape = {"Test": list(self.test), "StartPeriod": _ns(self.start_period), "Interval": _ns(self.interval),
                 "Timeout": _ns(self.timeout), "Retries": self.retries}
        return {k: v for k, v in shape.items() if v}


def complete(h: HealthConfig, image_check: HealthConfig | None) -> HealthConfig:
    """Docker's rule: what the container leaves unset comes from the
    image's HEALTHCHECK, then from the defaults; ["NONE"] turns both off."""
    base = image_check or HealthConfig()
    out = HealthConfig(
        test=list(h.test or base.test),
        interval=h.interval or base.interval or DEFAULT_INTERVAL,
        timeout=h.timeout or base.timeout or DEFAULT_TIMEOUT,
        start_period=h.start_period or base.start_period,
        retries=h.retries or base.retries or DEFAULT_RETRIES,
        on_failure=h.on_failure,
    )
    if not out.enabled:
        return HealthConfig(test=["NONE"] if out.test else [])
    return out


def _ns(seconds: float) -> int:
    return int(round(seconds * 1e9))


def from_docker_shape(d: dict | None) -> HealthConfig | None:
    """An image's or a request's Healthcheck ({"Test": [...], "Interval": ns, ...})."""
    if not d or not d.get("Test"):
        return None
    h = HealthConfig(test=[str(x) for x in d["Test"]])
    for key, attr in (("Interval", "interval"), ("Timeout", "timeout"), ("StartPeriod", "start_period")):
        h_ns = d.get(key) or 0
        if not isinstance(h_ns, (int, float)) or isinstance(h_ns, bool):
            from ..errors import InvalidArgument

            raise InvalidArgument(f"Healthcheck.{key} must be a number of nanoseconds")
        setattr(h, attr, h_ns / 1e9)
    h.retries = int(d.get("Retries") or 0)
    return h


# -- results -------------------------------------------------------------------------


def log_path(ctr) -> str:
    import os

    return os.path.join(ctr.paths.userdata, "healthcheck.log")


def read_results(ctr) -> dict:
    """State.Health: Status ("" before the first start), FailingStreak, Log."""
    import json

    try:
        with open(log_path(ctr)) as f:
            data = json.load(f)
        if isinstance(data, dict):
            return data
    except (OSError, ValueError):
        pass
    return {"Status": "", "FailingStreak": 0, "Log": None}


def _write_results(ctr, data: dict) -> None:
    import json
    import os

    path = log_path(ctr)
    from .. import private

    tmp = f"{path}.{os.getpid()}.tmp"
    private.write_file(tmp, json.dumps(data))
    os.replace(tmp, path)


def reset(ctr) -> None:
    """A (re)started container is "starting" until its first check passes."""
    old = read_results(ctr)
    _write_results(ctr, {"Status": STARTING, "FailingStreak": 0, "Log": old.get("Log") or []})


def record(results: dict, start: float, end: float, exit_code: int, output: str, retries: int,
           in_start_period: bool) -> dict:
    """podman's bookkeeping of one result: healthy on success; a failure
    outside the start period adds to the streak, and `retries` of them in a
    row make the container unhealthy.  The log keeps the last five."""
    from ..proto.humanize import rfc3339

    out = dict(results)
    log = list(out.get("Log") or [])
    log.append({"Start": rfc3339(start), "End": rfc3339(end), "ExitCode": exit_code,
                "Output": output[:MAX_OUTPUT]})
    out["Log"] = log[-LOG_LENGTH:]
    if exit_code == 0:
        out["Status"], out["FailingStreak"] = HEALTHY, 0
    elif not in_start_period:
        out["FailingStreak"] = int(out.get("FailingStreak") or 0) + 1
        if out["FailingStreak"] >= retries:
            out["Status"] = UNHEALTHY
    if not out.get("Status"):
        out["Status"] = STARTING
    return out


# -- running a check -------------------------------------------------------------------


def run_check(ctr) -> int:
    """Run the check once, record it, act on an unhealthy result; the
    check's exit code."""
    import time

    from ..errors import InvalidState
    from .container import Status

    h = ctr.config.health
    if not h.enabled:
        raise InvalidState(f"container {ctr.id} has no defined healthcheck")
    with ctr.locked():
        ctr.sync()
        if ctr.state.status != Status.RUNNING:
            raise InvalidState(f"container {ctr.id} is not running")
        started_at = ctr.state.started_at
    start = time.time()
    code, output = _exec_with_timeout(ctr, h.command(), h.timeout)
    end = time.time()
    with ctr.locked():
        results = record(read_results(ctr), start, end, code, output, h.retries,
                         in_start_period=end - started_at < h.start_period)
        _write_results(ctr, results)
    ctr.engine.events.write("container", "health_status", ctr.id, ctr.name, ctr.config.image_shown,
                            health_status=results["Status"])
    if results["Status"] == UNHEALTHY and h.on_failure != "none":
        _on_failure(ctr, h.on_failure)
    return code


def _exec_with_timeout(ctr, command: list[str], timeout: float) -> tuple[int, str]:
    """Exec the check, its output captured; past timeout it is killed and fails."""
    import tempfile
    import threading

    from ..errors import PypodError
    from . import execs
    from .attach import AttachStreams

    with tempfile.TemporaryFile() as out:
        sess = execs.create(ctr, execs.ExecConfig(command=command))
        result: dict = {}

        def run() -> None:
            try:
                result["code"] = sess.start_attached(AttachStreams(stdin=None, stdout=out.fileno(), stderr=out.fileno()))
            except PypodError as e:
                result["error"] = e

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        worker.join(timeout)
        timed_out = worker.is_alive()
        if timed_out:
            try:
                sess.reload()
                if sess.state.pid:
                    ctr.runtime.exec_stop(sess.state.pid, 0)
            except PypodError:
                pass
            worker.join(10)
        try:
            sess.remove(force=True)
        except PypodError:
            pass
        out.seek(0)
        text = out.read(MAX_OUTPUT).decode(errors="replace")
    if timed_out:
        from ..specgen.units import format_duration

        return 1, f"healthcheck command exceeded timeout of {format_duration(timeout)}"
    if "error" in result:
        # podman: a check that cannot run is a failed check (its exit code 125, 126 or 127)
        return getattr(result["error"], "exit_code", 125), str(result["error"])
    code = result.get("code")
    return (1 if code is None else code), text


def _on_failure(ctr, action: str) -> None:
    import os

    from ..errors import PypodError

    try:
        # Run by the container's timer, we are in its process group, which
        # stopping the container kills: leave it first.
        os.setsid()
    except OSError:
        pass
    try:
        if action == "kill":
            ctr.kill(9)
        elif action == "stop":
            ctr.stop()
        elif action == "restart":
            ctr.restart()
    except PypodError:
        pass

