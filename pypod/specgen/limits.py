"""Limits and ID ranges taken from this host: `--ulimit host` and
`--subuidname`/`--subgidname`."""

from __future__ import annotations

from ..errors import InvalidArgument


def host_ulimits() -> list[tuple[str, int, int]]:
    """Every rlimit of ours, as (name, soft, hard) with -1 spelled as
    RLIM_INFINITY the way parse_ulimit spells unlimited."""
    import resource

    from ..proto.oci_spec import RLIMIT_NAMES

    unlimited = 2**64 - 1
    out = []
    for name, const in RLIMIT_NAMES.items():
        if not hasattr(resource, const):
            continue
        soft, hard = resource.getrlimit(getattr(resource, const))
        fix = lambda v: unlimited if v == resource.RLIM_INFINITY else v  # noqa: E731
        out.append((name, fix(soft), fix(hard)))
    return out


def subordinate_map(path: str, name: str) -> list:
    """The container's IDs 0.. mapped onto name's ranges in /etc/subuid or
    /etc/subgid, one after the other."""
    from ..engine.namespace_config import IDMap
    from ..engine.userns import subordinate_ranges

    ranges = subordinate_ranges(path, name)
    if not ranges:
        raise InvalidArgument(f'no subordinate ranges found for "{name}" in {path}')
    out, next_id = [], 0
    for start, count in ranges:
        out.append(IDMap(container_id=next_id, host_id=start, size=count))
        next_id += count
    return out
