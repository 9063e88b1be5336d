"""Container filters, podman's set and meanings, shared by every front door
(`ps --filter`, `stop/rm/start ... --filter`, libpod's and Docker's list
routes).

Values of one key are alternatives (any may match), except `label`, where
every value must match; different keys must all match.  Filters about
parts other modules own (health, networks, pods, restart policy) read the
container's inspect data, the one shape every owner fills.
"""

from __future__ import annotations

from ..errors import InvalidArgument, PypodError
from .status import Status
from .inspect import status_word as state_word

TYPE_CHECKING = False  # collections.abc would cost `ps` its import of collections
if TYPE_CHECKING:
    from collections.abc import Callable

#: the words podman accepts for a container's state
STATUS_WORDS = ("created", "running", "paused", "stopped", "exited", "unknown", "configured", "removing", "stopping")

#: filters `container prune` (and `system prune`) take
PRUNE_KEYS = ("label", "label!", "until")

#: podman's restart policy names ("" is none)
RESTART_POLICIES = ("", "no", "none", "always", "on-failure", "unless-stopped")


def parse_filters(items: list[str]) -> dict[str, list[str]]:
    """`key=value` words (repeatable flags) to {key: [values]}."""
    out: dict[str, list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidArgument(f'invalid filter "{item}"')
        out.setdefault(key, []).append(value)
    return out


def has_exited(ctr) -> bool:
    st = ctr.state.status
    return st in (Status.STOPPED, Status.EXITED) or (st == Status.CONFIGURED and bool(ctr.state.finished_at))


def regex_any(patterns: list[str], text: str) -> bool:
    """podman matches ids and names as unanchored regular expressions."""
    import re  # only a filter needs it: not every ps

    for p in patterns:
        try:
            if re.search(p, text):
                return True
        except re.error:
            if p in text:
                return True
    return False


def labels_match(wanted: list[str], labels: dict[str, str]) -> bool:
    """Every `key` or `key=value` in wanted is present."""
    for w in wanted:
        key, sep, value = w.partition("=")
        if key not in labels or (sep and labels[key] != value):
            return False
    return True


def until_time(values: list[str]) -> float:
    """The latest of `until=` values (timestamps, dates or durations back from now) as a unix time."""
    from ..proto.k8s_log import parse_time

    return max(parse_time(v, since=True) for v in values) / 1e9


def _inspect(ctr, cache: dict) -> dict:
    if ctr.id not in cache:
        cache[ctr.id] = ctr.inspect()
    return cache[ctr.id]


def _mount_matches(ctr, value: str) -> bool:
    source, _, dest = value.partition(":")
    for m in ctr.config.mounts:
        names = {m.source, getattr(m, "name", "") or ""}
        if "/volumes/" in m.source and m.source.endswith("/_data"):
            names.add(m.source.rsplit("/", 2)[-2])  # a named volume's directory
        if source in names and (not dest or m.destination == dest):
            return True
    return False


def _created_of(engine, refs: list[str]) -> float:
    """The earliest creation time of the named containers (before= / since=)."""
    times = []
    for ref in refs:
        times.append(engine.container(ref).config.created)
    return min(times)


def container_predicate(engine, filters: dict[str, list[str]], *, prune: bool = False) -> "Callable[[object], bool]":
    """One predicate for all filters; bad keys or values raise InvalidArgument
    before any container is looked at."""
    checks: list = []
    cache: dict = {}
    for key, values in filters.items():
        checks.append(_one(engine, key, values, cache, prune))
    return lambda ctr: all(check(ctr) for check in checks)


def _one(engine, key: str, values: list[str], cache: dict, prune: bool) -> "Callable[[object], bool]":
    if prune and key not in PRUNE_KEYS:
        raise InvalidArgument(f"{key} is an invalid filter")
    if key == "label":
        return lambda c: labels_match(values, c.config.labels)
    if key == "label!":
        if not prune:
            raise InvalidArgument(f"{key} is an invalid filter")
        return lambda c: not labels_match(values, c.config.labels)
    if key == "until":
        until = until_time(values)
        return lambda c: c.config.created < until
    if key == "id":
        return lambda c: regex_any(values, c.id)
    if key == "name":
        return lambda c: regex_any([v.lstrip("/") for v in values], c.name)
    if key == "exited":
        codes = set()
        for v in values:
            try:
                codes.add(int(v))
            except ValueError:
                raise InvalidArgument(f'exited code out of range "{v}"') from None
        return lambda c: has_exited(c) and c.state.exit_code in codes
    if key == "status":
        for v in values:
            if v not in STATUS_WORDS:
                raise InvalidArgument(f"unknown container state: {v}: invalid argument")
        wanted = {"exited" if v == "stopped" else "created" if v == "configured" else v for v in values}
        return lambda c: state_word(c.state.status) in wanted
    if key == "ancestor":
        ids = set()
        for v in values:
            try:
                ids.add(engine.images.lookup(v).id)
            except PypodError:
                pass  # not an image here: may still be the name a container was made with
        return lambda c: bool(c.config.image_id) and (c.config.image_id in ids or any(_names_image(c, v) for v in values))
    if key in ("before", "since"):
        when = _created_of(engine, values)
        if key == "before":
            return lambda c: c.config.created < when
        return lambda c: c.config.created > when
    if key == "volume":
        return lambda c: any(_mount_matches(c, v) for v in values)
    if key == "health":
        return lambda c: (_inspect(c, cache)["State"].get("Health") or {}).get("Status", "") in values
    if key == "restart-policy":
        bad = [v for v in values if v not in RESTART_POLICIES]
        if bad:
            raise InvalidArgument(f"{', '.join(bad)} invalid restart polic{'ies' if len(bad) > 1 else 'y'}")
        wanted = {"" if v == "none" else v for v in values}
        return lambda c: (_inspect(c, cache)["HostConfig"].get("RestartPolicy") or {}).get("Name", "") in wanted
    if key == "network":
        return lambda c: bool(set(values) & set((_inspect(c, cache).get("NetworkSettings") or {}).get("Networks") or {}))
    if key == "pod":
        return lambda c: _in_pod(c, values, cache)
    raise InvalidArgument(f"{key} is an invalid filter")


def _names_image(ctr, value: str) -> bool:
    """podman's ancestor match: the image's ID or the name the container was
    made with (NAME standing for NAME:latest)."""
    cfg = ctr.config
    if value in (cfg.image, cfg.image_id) or (len(value) >= 3 and cfg.image_id.startswith(value)):
        return True
    name, _, tag = cfg.image.rpartition(":") if ":" in cfg.image.rsplit("/", 1)[-1] else (cfg.image, "", "latest")
    return name == value and tag == "latest"


def _in_pod(ctr, refs: list[str], cache: dict) -> bool:
    pod_id = ctr.config.pod
    if not pod_id:
        return False
    from .inspect import pod_of

    pod = pod_of(ctr)
    pod_name = pod.name if pod is not None else ""
    return any(r == pod_name or (r and pod_id.startswith(r)) for r in refs)
