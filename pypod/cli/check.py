"""`pypod system check [--repair] [--force] [--quick] [--max DURATION]`."""

from __future__ import annotations

import sys


def add_check_args(p) -> None:
    p.add_argument("-r", "--repair", action="store_true", help="fix what is found (damaged images in use only with --force)")
    p.add_argument("-f", "--force", action="store_true", help="with --repair, also remove containers that use damaged images")
    p.add_argument("-q", "--quick", action="store_true", help="skip the slow checks (blob digests, exec sessions)")
    p.add_argument("-m", "--max", default="0s",
                   help="files no record names count only when older than this duration (default 0s: the storage is locked while checking)")


def cmd_check(engine, a) -> int:
    """Exit 0 when nothing is (left) wrong, 1 when problems remain."""
    from ..engine.check import check, run_repairs
    from ..errors import InvalidArgument
    from ..proto.k8s_log import parse_go_duration

    try:
        max_age = parse_go_duration(a.max) / 1e9
    except ValueError:
        raise InvalidArgument(f"invalid --max duration {a.max!r}") from None
    problems = check(engine, quick=a.quick, max_age=max_age)
    if not problems:
        print("No problems found.")
        return 0
    if not a.repair:
        for p in problems:
            print(p)
        print(f"{len(problems)} problem(s) found; `pypod system check --repair` fixes them.")
        return 1
    done, left = run_repairs(problems, force=a.force)
    for p in done:
        print(f"Repaired {p}")
    for p, why in left:
        print(f"Not repaired {p} ({why})", file=sys.stderr)
    return 1 if left else 0
