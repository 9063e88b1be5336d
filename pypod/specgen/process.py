"""Restart policies, health checks and log options as users write them,
shared by the CLI and the REST service."""

from __future__ import annotations

from ..engine.health import DISABLED, ON_FAILURE_ACTIONS, HealthConfig
from ..engine.restart import POLICIES, RestartPolicy
from ..errors import InvalidArgument
from .units import parse_duration

LOG_DRIVERS = ("k8s-file", "json-file", "journald", "none", "passthrough")


def parse_restart(text: str) -> RestartPolicy:
    """no | on-failure[:N] | always | unless-stopped."""
    name, sep, count = text.partition(":")
    if name not in POLICIES:
        raise InvalidArgument(f'invalid restart policy "{name}": use no, on-failure[:N], always or unless-stopped')
    if sep:
        if name != "on-failure":
            raise InvalidArgument("restart policy retries can only be specified with on-failure restart policy")
        if not count.isdigit():
            raise InvalidArgument(f"invalid restart policy retries {count!r}: must be a number")
        return RestartPolicy(name, int(count))
    return RestartPolicy(name, 0)


def check_restart(policy: RestartPolicy, auto_remove: bool) -> None:
    if policy.active and auto_remove:
        raise InvalidArgument('the --rm option conflicts with --restart, when the restartPolicy is not "" and "no"')


def parse_health_cmd(cmd: str) -> list[str]:
    """podman's --health-cmd: a JSON list (["CMD", ...], ["CMD-SHELL", ...],
    or a bare argv), "none", or a shell command line."""
    import json

    cmd = cmd.strip()
    if not cmd:
        raise InvalidArgument("must define a healthcheck command for all healthchecks")
    if cmd.lower() == "none":
        return ["NONE"]
    if cmd.startswith("["):
        try:
            argv = json.loads(cmd)
        except ValueError:
            raise InvalidArgument(f"invalid healthcheck command {cmd!r}: not a JSON list") from None
        if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
            raise InvalidArgument(f"invalid healthcheck command {cmd!r}: must be a list of strings")
        if argv[0] in ("CMD", "CMD-SHELL", "NONE"):
            return argv
        return ["CMD", *argv]
    return ["CMD-SHELL", cmd]


def _duration(text: str, flag: str, minimum: float = 0.0) -> float:
    seconds = parse_duration(text)
    if seconds < minimum:
        raise InvalidArgument(f"{flag} must be at least {minimum:g} second{'s' if minimum != 1 else ''}")
    return seconds


def parse_health(cmd: str | None, interval: str | None = None, timeout: str | None = None,
                 start_period: str | None = None, retries: int | None = None,
                 on_failure: str | None = None) -> HealthConfig | None:
    """The --health-* flags as a HealthConfig whose unset fields are zero,
    to be completed at create from the image's HEALTHCHECK and the
    defaults (health.complete); None when no flag was given."""
    if all(v is None for v in (cmd, interval, timeout, start_period, retries, on_failure)):
        return None
    h = HealthConfig(test=parse_health_cmd(cmd) if cmd is not None else [])
    if interval is not None:
        h.interval = DISABLED if interval == "disable" else _duration(interval, "healthcheck-interval", 1.0)
    if timeout is not None:
        h.timeout = _duration(timeout, "healthcheck-timeout", 1.0)
    if start_period is not None:
        h.start_period = _duration(start_period, "healthcheck-start-period")
    if retries is not None:
        if retries < 1:
            raise InvalidArgument("healthcheck-retries must be greater than 0")
        h.retries = retries
    if on_failure is not None:
        if on_failure not in ON_FAILURE_ACTIONS:
            raise InvalidArgument(f'invalid healthcheck on-failure action "{on_failure}": use none, kill, restart or stop')
        h.on_failure = on_failure
    return h


def check_health(h: HealthConfig, minimum: float = 0.001) -> HealthConfig:
    """The bounds of a health check given as numbers (a REST body's, in
    seconds here): zero leaves a field to the image's HEALTHCHECK or the
    default; an interval and a timeout, when set, are at least Docker's
    millisecond."""
    for what, value in (("interval", h.interval), ("timeout", h.timeout)):
        if value and value != DISABLED and value < minimum:
            raise InvalidArgument(f"healthcheck-{what} must be at least {minimum * 1000:g}ms")
    if h.start_period < 0 or h.retries < 0:
        raise InvalidArgument("healthcheck start period and retries must not be negative")
    if h.on_failure not in ON_FAILURE_ACTIONS:
        raise InvalidArgument(f'invalid healthcheck on-failure action "{h.on_failure}": use none, kill, restart or stop')
    return h


def parse_log_opts(opts: list[str]) -> dict[str, str]:
    """max-size=SIZE, tag=TEMPLATE, path=FILE (podman's log options)."""
    out = {}
    for opt in opts:
        key, sep, value = opt.partition("=")
        if not sep or key not in ("max-size", "tag", "path"):
            raise InvalidArgument(f"invalid log option {opt!r}: pypod knows max-size=, tag= and path=")
        if key == "path" and not value.startswith("/"):
            raise InvalidArgument(f"log path {value!r} must be absolute")
        out[key] = value
    return out


def check_log_driver(driver: str) -> str:
    if driver not in LOG_DRIVERS:
        raise InvalidArgument(f'invalid log driver "{driver}": use ' + ", ".join(LOG_DRIVERS))
    return driver  # json-file logs are written in the k8s-file format, as podman writes them
