"""Cockpit's podman page, flow by flow, on pypod and on podman 4.3.1.

Each test asserts on what the page shows and on the engine's state, and
saves a screenshot per flow (see conftest.py for where)."""

from __future__ import annotations

import pytest

from ..conftest import wait_for

pytestmark = pytest.mark.integration

# a container that ends at once on SIGTERM, so "Stop" needs no timeout
SERVER = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.2; done"]


def test_page_load_then_stop_start_restart(page):
    eng = page.engine
    eng.cli("run", "-d", "--name", "web", "busybox", *SERVER)
    eng.cli("create", "--name", "idle", "busybox", "true")
    page.open()
    page.wait_state("web", "Running")
    page.wait_state("idle", "Created")
    # live stats of the running container, none for the other
    page.wait(f"/%$/.test(({page.row('web')}).querySelector('td[data-label=CPU]').innerText.trim())",
              what="web's CPU use")
    assert " / " in page.cell("web", "Memory")
    assert page.cell("idle", "CPU") == ""
    assert "1 image total" in page.text("#containers-images")
    page.shot("loaded")

    page.container_action("web", "Stop")
    page.wait_state("web", "Exited")
    assert eng.state("web") == "exited"
    page.shot("stopped")

    page.container_action("web", "Start")
    page.wait_state("web", "Running")
    started = eng.inspect("web")["State"]["StartedAt"]
    assert eng.state("web") == "running"

    page.container_action("web", "Restart")
    assert wait_for(lambda: eng.inspect("web")["State"]["StartedAt"] != started, timeout=30)
    page.wait_state("web", "Running")
    assert eng.state("web") == "running"
    page.shot("restarted")
