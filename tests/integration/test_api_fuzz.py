"""Every route of the REST service fuzzed by Hypothesis (tests/apifuzz.py):
no answer is a 5xx and the service logs no internal error, whatever the
path parameters, query and body.  The suite runs a moderate number of
requests (PYPOD_FUZZ_EXAMPLES, default 800); bench/fuzz_api.py runs 10,000
and more."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings

from tests import apifuzz

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="runs real containers: needs root")

EXAMPLES = int(os.environ.get("PYPOD_FUZZ_EXAMPLES", "800"))


def test_every_route_fuzzed_no_5xx(pypod, tmp_path):
    from pypod.api.service import build_router

    svc = apifuzz.Service(pypod.argv, str(tmp_path / "api.sock"))
    svc.start()
    try:
        pool = svc.world()
        pool.execs = [svc.exec_session("fz-run")]
        routes = build_router().routes
        tally = apifuzz.Tally()

        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(apifuzz.requests(routes, pool))
        def every_route(req):
            apifuzz.send(svc, req, tally)
            if tally.sent % 150 == 0:
                svc.world()  # put back what the requests stopped or removed

        every_route()
        log = svc.log()
        assert tally.failures == [], tally.failures[:5]
        assert "internal error" not in log and "Traceback" not in log, log[-3000:]
        assert tally.sent >= EXAMPLES
        # it still serves, and answered more than refusals
        assert apifuzz.raw_request(svc.sock, b"GET /_ping HTTP/1.1\r\nHost: f\r\nConnection: close\r\n\r\n", 10)[0] == 200
        assert sum(n for s, n in tally.by_status.items() if 200 <= s < 300) > 0
    finally:
        svc.stop()
        svc.clean()
