#!/usr/bin/env python3
"""Fuzz every route of pypod's REST service with Hypothesis, at size.

    sudo .venv/bin/python bench/fuzz_api.py [--requests 10000] [--seed N]

Starts `pypod system service` on a private root and socket, keeps a running
container, a created one, an exec session and a volume for the requests to
aim at, and sends the requests tests/apifuzz.py draws: every route, path
parameters real and not, queries and bodies of each route's declared shape
(in and out of range) and of any shape at all.  Prints the count by status,
every 5xx, and every internal error the service logged; exits 1 if there
was any.  (The suite runs the same property with fewer requests.)
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from hypothesis import HealthCheck, given, seed, settings  # noqa: E402

from pypod.api.service import build_router  # noqa: E402
from tests import apifuzz  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=None, help="derandomize with this seed (default: random)")
    a = ap.parse_args()
    pypod = os.path.join(os.path.dirname(sys.executable), "pypod")
    base = tempfile.mkdtemp(prefix="pypod-fuzz-")
    argv = [pypod, "--root", f"{base}/root", "--runroot", f"{base}/run"]
    svc = apifuzz.Service(argv, f"{base}/api.sock")
    svc.start()
    tally = apifuzz.Tally()
    t0 = time.monotonic()
    try:
        pool = svc.world()
        pool.execs = [svc.exec_session("fz-run")]

        @settings(max_examples=a.requests, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(apifuzz.requests(build_router().routes, pool))
        def every_route(req):
            apifuzz.send(svc, req, tally)
            if tally.sent % 150 == 0:
                svc.world()
            if tally.sent % 1000 == 0:
                print(f"  {tally.sent} requests, {time.monotonic() - t0:.0f} s", file=sys.stderr, flush=True)

        if a.seed is not None:
            every_route = seed(a.seed)(every_route)
        every_route()
    finally:
        svc.stop()
        svc.clean()
        log = svc.log()
        shutil.rmtree(base, ignore_errors=True)
    bugs = [line for line in log.splitlines() if "internal error" in line or "Traceback" in line]
    print(f"requests: {tally.sent} in {time.monotonic() - t0:.0f} s")
    print("by status: " + ", ".join(f"{k}: {v}" for k, v in sorted(tally.by_status.items())))
    print(f"5xx: {len(tally.failures)}, internal errors logged: {len(bugs)}, "
          f"registry unreachable (Docker's 500, the namespace reaches no registry): {tally.unreachable}")
    quiet = [u for u in tally.unanswered if not u[0]]
    print(f"no status line in time: {len(tally.unanswered)} ({len(quiet)} of them not streams: "
          f"{sorted(set(u[1:] for u in quiet))[:10]})")
    for f in tally.failures[:20]:
        print("5xx:", f)
    for b in bugs[:20]:
        print("log:", b)
    return 1 if tally.failures or bugs else 0


if __name__ == "__main__":
    sys.exit(main())
