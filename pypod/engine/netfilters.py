"""`network ls --filter` and `network prune --filter`, with podman's keys:
name (regular expression), id (prefix), driver, label (KEY or KEY=VALUE;
label! negates), dangling (no container uses it), until (created before)."""

from __future__ import annotations

import re

from ..errors import InvalidArgument

KEYS = ("name", "id", "driver", "label", "label!", "dangling", "until")


def parse(filters: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in filters:
        k, sep, v = f.partition("=")
        if not sep:
            raise InvalidArgument(f"invalid filter {f!r}: filter must be key=value")
        if k not in KEYS:
            raise InvalidArgument(f"invalid filter {k!r}")
        out.setdefault(k, []).append(v)
    return out


def _label_match(labels: dict, spec: str) -> bool:
    k, sep, v = spec.partition("=")
    return k in labels and (not sep or labels[k] == v)


def matches(net, filters: dict[str, list[str]], engine=None) -> bool:
    for key, values in filters.items():
        if key == "name":
            ok = any(_search(v, net.name) for v in values)
        elif key == "id":
            ok = any(net.id.startswith(v) for v in values)
        elif key == "driver":
            ok = net.driver in values
        elif key == "label":
            ok = all(_label_match(net.labels, v) for v in values)
        elif key == "label!":
            ok = not any(_label_match(net.labels, v) for v in values)
        elif key == "dangling":
            from .netmanage import users

            want = values[-1].lower() in ("true", "1")
            ok = (not users(engine, net)) == want
        elif key == "until":
            from ..proto.humanize import parse_rfc3339
            from ..proto.k8s_log import parse_time

            limit = parse_time(values[-1], since=False) / 1e9
            ok = parse_rfc3339(net.created) < limit if net.created else True
        else:
            raise InvalidArgument(f"invalid filter {key!r}")
        if not ok:
            return False
    return True


def _search(pattern: str, name: str) -> bool:
    try:
        return re.search(pattern, name) is not None
    except re.error:
        return pattern in name
