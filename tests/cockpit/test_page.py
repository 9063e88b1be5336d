"""Cockpit's podman page, flow by flow, on pypod and on podman 4.3.1.

Each test asserts on what the page shows and on the engine's state, and
saves a screenshot per flow (see conftest.py for where)."""

from __future__ import annotations

import json
import re
import socket
import urllib.request

import pytest

from ..conftest import wait_for

pytestmark = pytest.mark.integration

# a container that ends at once on SIGTERM (so "Stop" needs no timeout) and
# counts every 0.2 s (so logs grow while the page follows them)
SERVER = ["sh", "-c", "trap 'exit 0' TERM; i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.2; done"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_page_load_and_container_actions(page):
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
    page.container_action("web", "Restart")
    assert wait_for(lambda: eng.inspect("web")["State"]["StartedAt"] != started, timeout=30)
    page.wait_state("web", "Running")
    assert eng.state("web") == "running"

    page.container_action("web", "Pause")
    page.wait_state("web", "Paused")
    assert eng.state("web") == "paused"
    assert "Resume" in page.menu_items("web")
    page.shot("paused")
    page.container_action("web", "Resume")
    page.wait_state("web", "Running")
    assert eng.state("web") == "running"

    # sleep as pid 1 ignores SIGTERM: only a kill ends it
    eng.cli("run", "-d", "--name", "stubborn", "busybox", "sleep", "1000")
    page.wait_state("stubborn", "Running")
    page.container_action("stubborn", "Force stop")
    # (pypod kills at once; podman 4.3.1 reads no "t" on its libpod route and
    # waits the 10 s stop timeout before its kill)
    page.wait_state("stubborn", "Exited", timeout=30)
    assert eng.inspect("stubborn")["State"]["ExitCode"] == 137

    # CRIU cannot work here: the page says so, the container runs on
    page.container_action("web", "Checkpoint")
    page.dialog_button("Checkpoint")
    page.wait_text("Failed to checkpoint container web")
    page.shot("checkpoint-unavailable")
    assert eng.state("web") == "running"
    page.dismiss_alerts()

    page.container_action("web", "Rename")
    page.fill("#rename-dialog-container-name", "web2")
    page.dialog_button("Rename")
    page.wait_dialog_closed()
    page.wait_state("web2", "Running")
    assert not page.listed("web")
    assert eng.inspect("web2")["Name"] == "web2"

    page.container_action("web2", "Commit")
    page.fill("#commit-dialog-image-name", "snap")
    page.fill("#commit-dialog-image-tag", "v1")
    page.fill("#commit-dialog-author", "Cockpit Tester")
    page.dialog_button("Commit")
    page.wait_dialog_closed()
    page.wait_text("2 images total", "#containers-images")
    image = json.loads(eng.cli("image", "inspect", "localhost/snap:v1"))[0]
    assert image["Author"] == "Cockpit Tester"
    page.shot("committed")

    for name in ("idle", "stubborn"):
        page.container_action(name, "Delete")
        page.dialog_button("Delete")
        page.wait_gone(name)
        assert name not in eng.cli("ps", "-a", "--format", "{{.Names}}")

    # a running container: the dialog offers only a forced delete
    page.container_action("web2", "Delete")
    page.dialog_button("Force delete")
    page.wait_gone("web2")
    assert eng.cli("ps", "-a", "--format", "{{.Names}}") == ""
    page.shot("deleted")


def test_page_follows_the_cli(page):
    """Changes made with the CLI show without a reload (the events stream)."""
    eng = page.engine
    page.open()
    page.wait_text("No containers", "#containers-containers")
    eng.cli("run", "-d", "--name", "outside", "busybox", *SERVER)
    page.wait_state("outside", "Running")
    eng.cli("stop", "outside")
    page.wait_state("outside", "Exited")
    eng.cli("rename", "outside", "moved")
    page.wait_state("moved", "Exited")
    eng.cli("rm", "moved")
    page.wait_gone("moved")
    eng.cli("pod", "create", "--name", "clipod")
    page.wait_pod_state("clipod", "Created")
    eng.cli("tag", "busybox", "localhost/more:1")
    eng.cli("commit", "-q", eng.cli("create", "busybox", "true"), "localhost/extra:2")
    page.wait_text("2 images total", "#containers-images")
    page.shot("cli-changes")


def test_details_logs_and_console(page):
    eng = page.engine
    port = free_port()
    eng.cli("run", "-d", "--name", "web", "-e", "COLOUR=teal", "-p", f"127.0.0.1:{port}:80", "busybox", *SERVER)
    page.open()
    page.wait_state("web", "Running")

    details = page.tab("web", "Details")
    page.wait(f"{details}.innerText.includes('tick')", what="web's details")
    text = page.evaluate(f"{details}.innerText")
    assert eng.inspect("web")["Id"][:12] in text
    page.shot("details")

    details = page.tab("web", "Integration")
    page.wait(f"{details}.innerText.includes('COLOUR')", what="web's environment")
    assert "teal" in page.evaluate(f"{details}.innerText")
    page.shot("integration")

    details = page.tab("web", "Logs")
    page.wait(f"{details}.innerText.includes('tick')", what="web's logs")
    last = lambda: max(map(int, re.findall(r"tick (\d+)", page.evaluate(f"{details}.innerText"))))  # noqa: E731
    seen = last()
    assert wait_for(lambda: last() > seen + 5, timeout=30), "the logs do not follow"
    page.shot("logs")

    page.tab("web", "Console")
    screen = "[...document.querySelectorAll('.xterm')].find(e => e.getBoundingClientRect().width > 0)"
    page.wait_terminal(r"/ #", "a shell prompt in the console")
    page.click_js(screen)
    page.type("echo hel''lo $((6*7)) $COLOUR\n")
    page.wait_terminal(r"hello 42 teal", "the command's output in the console")
    page.type("stty size\n")
    page.wait_terminal(r"\n24 \d+", "stty size in the console")
    cols = lambda: [int(x) for x in re.findall(r"\n24 (\d+)", page.terminal_text())]  # noqa: E731
    before = cols()[-1]
    page.shot("console")
    # a narrower window: the page resizes the exec's terminal
    page.set_size(1000, 900)
    page.click_js(screen)
    page.type("stty size\n")
    assert wait_for(lambda: len(cols()) >= 2 and cols()[-1] < before, timeout=30), page.terminal_text()
    page.shot("console-resized")


def test_create_container_from_the_registry(page, tmp_path):
    eng = page.engine
    reg = page.registry.host
    port = free_port()
    host_dir = tmp_path / "shared"
    host_dir.mkdir()
    (host_dir / "file.txt").write_text("from the host\n")
    page.open()
    page.click("#containers-containers-create-container-btn")
    page.fill("#run-image-dialog-name", "made")
    page.choose_image("app", f"{reg}/test/app")  # podman takes "test/app" for registry "test"
    page.fill("#run-image-dialog-command", "httpd -f -p 8080 -h /data")
    page.click("#run-image-dialog-memory-limit-checkbox")
    page.click("#run-image-dialog-cpu-priority-checkbox")
    page.shot("create-details")

    page.click(".pf-c-modal-box .pf-c-tabs__link", "Integration")
    page.add_port("run-image-dialog", port, 8080)
    page.dialog_button("Add volume")
    page.click_js("document.querySelector('.pf-c-modal-box input[id^=pf-select-toggle-id][id$=-select-typeahead]')",
                  what="the volume's host path")
    page.type(str(host_dir))
    page.click(".pf-c-select__menu-item", f"{host_dir}/")
    page.fill("#run-image-dialog-volume-0-container-path", "/data/shared")
    page.dialog_button("Add variable")
    page.fill("#run-image-dialog-env-0-key", "GREETING")
    page.fill("#run-image-dialog-env-0-value", "hello cockpit")
    page.shot("create-integration")

    page.click(".pf-c-modal-box .pf-c-tabs__link", "Health check")
    page.fill("#run-image-dialog-healthcheck-command", "test -d /data/shared")
    page.shot("create-healthcheck")

    # not local yet: the dialog closes, the list shows the download, then the container
    page.watch_text("Downloading")
    page.dialog_button("Create and run")
    page.wait_dialog_closed()
    page.wait_state("made", "Running", timeout=120)
    assert page.saw_watched_text()
    page.shot("created")

    d = eng.inspect("made")
    assert d["Config"]["Env"].count("GREETING=hello cockpit") == 1
    assert d["HostConfig"]["PortBindings"]["8080/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": str(port)}]
    assert any(m["Destination"] == "/data/shared" and m["Source"].rstrip("/") == str(host_dir) for m in d["Mounts"])
    # the dialog's defaults once their boxes are ticked: 512 MB (decimal, as the page counts), CPU shares 1024
    assert (d["HostConfig"]["Memory"], d["HostConfig"]["CpuShares"]) == (512_000_000, 1024)
    assert d["Config"]["Healthcheck"]["Test"][-3:] == ["test", "-d", "/data/shared"]  # the page splits at spaces
    assert d["Config"]["Healthcheck"]["Retries"] == 3
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/hello", timeout=10) as r:
        assert r.read() == b"hello from the registry\n"
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/shared/file.txt", timeout=10) as r:
        assert r.read() == b"from the host\n"
    assert eng.cli("exec", "made", "sh", "-c", "echo $GREETING") == "hello cockpit"
    eng.cli("healthcheck", "run", "made")  # the dialog's check passes: the volume is there


def test_health_check_run_and_log(page):
    eng = page.engine
    eng.cli("run", "-d", "--name", "hc", "--health-cmd", "test -e /tmp/ok", "--health-interval", "1h",
            "--health-retries", "1", "busybox", *SERVER)
    page.open()
    page.wait_state("hc", "Running")
    assert "Run health check" in page.menu_items("hc")
    details = page.tab("hc", "Health check")
    page.wait(f"{details}.innerText.includes('test -e /tmp/ok')", what="hc's health check command")

    health = lambda: eng.inspect("hc")["State"]["Health"]  # noqa: E731
    page.container_action("hc", "Run health check")
    assert wait_for(lambda: health()["Status"] == "unhealthy", timeout=30), health()
    # the exec that follows makes the page read the container again
    eng.cli("exec", "hc", "touch", "/tmp/ok")
    page.wait(f"{details}.innerText.includes('Failing streak')", what="the failing streak")
    page.shot("health-unhealthy")

    page.click_js(f"[...{details}.querySelectorAll('button')].find(b => b.innerText.trim() === 'Run health check')",
                  what="the tab's Run health check button")
    assert wait_for(lambda: health()["Status"] == "healthy", timeout=30), health()
    eng.cli("exec", "hc", "true")
    page.wait(f"!{details}.innerText.includes('Failing streak')", what="the streak to end")
    log_rows = f"{details}.querySelectorAll('table tbody tr').length"
    page.wait(f"{log_rows} >= 2", what="both checks in the health log")
    assert len(health()["Log"]) == 2
    page.shot("health-healthy")


def test_images_history_pull_delete_prune(page):
    eng = page.engine
    reg = page.registry.host
    page.open()
    page.show_images()
    page.wait(f"!!({page.image_row('localhost/busybox:latest')})", what="busybox in the images")
    row = page.image_row("localhost/busybox:latest")
    page.click_js(f"({row}).querySelector('button[aria-label=Details]')")
    page.click_js(f"[...({row}).nextElementSibling.querySelectorAll('.pf-c-tabs__link')]"
                  ".find(e => e.innerText.trim() === 'History')")
    page.wait(f"/\\d+(\\.\\d+)? [kM]B/.test(({row}).nextElementSibling.innerText)", what="the image's history")
    page.shot("history")

    page.images_action("Download new image")
    page.click("#search-image-dialog-name")
    page.type("test")
    page.click(".pf-c-modal-box li.pf-c-data-list__item", f"{reg}/test/other")
    page.fill("#image-search-tag", "v2")
    page.shot("search")
    page.dialog_button("Download")
    page.wait(f"!!({page.image_row(f'{reg}/test/other:v2')})", timeout=120, what="the pulled image")
    assert eng.cli("image", "exists", f"{reg}/test/other:v2", check=False) == ""
    page.shot("pulled")

    eng.cli("tag", "busybox", "localhost/extra:1")
    page.click_js(f"[...({row}).nextElementSibling.querySelectorAll('.pf-c-tabs__link')]"
                  ".find(e => e.innerText.trim() === 'Details')")
    page.wait(f"({row}).nextElementSibling.innerText.includes('localhost/extra:1')", what="the new tag")
    page.image_action("localhost/busybox:latest", "Delete")
    page.wait_text("Multiple tags exist", ".pf-c-modal-box")
    page.dialog_button("Delete tagged images")
    page.wait_dialog_closed()
    page.wait(f"!!({page.image_row('localhost/extra:1')})", what="the image under its other tag")
    assert "localhost/busybox" not in eng.cli("images", "--format", "{{.Repository}}")

    page.images_action("Prune unused images")
    page.wait_text("localhost/extra:1", ".pf-c-modal-box")
    page.dialog_button("Prune")
    page.wait_dialog_closed()
    page.wait(f"!({page.image_row('localhost/extra:1')})", what="the pruned image to go")
    assert eng.cli("images", "-q") == ""
    page.shot("pruned")


def test_pods(page):
    eng = page.engine
    port = free_port()
    page.open()
    page.click("#containers-containers-create-pod-btn")
    page.fill("#create-pod-dialog-name", "pod1")
    page.add_port("create-pod-dialog", port, 8080)
    page.click("#create-pod-create-btn")
    page.wait_dialog_closed()
    page.wait_pod_state("pod1", "Created")
    assert page.text("#table-pod1").count("No containers in this pod") == 1

    page.click("#table-pod1 button.create-container-in-pod")
    page.fill("#run-image-dialog-name", "inpod")
    page.choose_image("busybox", "localhost/busybox:latest")
    page.fill("#run-image-dialog-command", "httpd -f -p 8080 -h /etc")
    page.dialog_button("Create and run")
    page.wait_dialog_closed()
    page.wait_pod_state("pod1", "Running")
    page.wait_state("inpod", "Running")
    assert page.evaluate(f"!!document.querySelector('#table-pod1') && "
                         f"document.querySelector('#table-pod1').contains({page.row('inpod')})")
    assert eng.inspect("inpod")["Pod"] == json.loads(eng.cli("pod", "inspect", "pod1"))["Id"]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/hostname", timeout=10) as r:
        assert r.read()  # the pod's published port reaches the container
    page.shot("pod-running")

    def pod_status():
        return json.loads(eng.cli("pod", "inspect", "pod1"))["State"]

    for action, shown, state in (("Pause", "Paused", "Paused"), ("Resume", "Running", "Running"),
                                 ("Stop", "Exited", "Exited"), ("Start", "Running", "Running")):
        page.pod_action("pod1", action)
        page.wait_pod_state("pod1", shown)
        assert wait_for(lambda: pod_status() == state, timeout=30), (action, pod_status())
    started = eng.inspect("inpod")["State"]["StartedAt"]
    page.pod_action("pod1", "Restart")
    assert wait_for(lambda: eng.inspect("inpod")["State"]["StartedAt"] != started, timeout=60)
    page.wait_pod_state("pod1", "Running")
    page.shot("pod-restarted")

    page.pod_action("pod1", "Delete")
    page.wait_text("inpod", ".pf-c-modal-box")
    page.dialog_button("Delete")
    # a pod with running containers: the page asks again, to force it
    page.dialog_button("Force delete")
    page.wait("!document.querySelector('#table-pod1')", timeout=60, what="the pod to go")
    assert eng.cli("pod", "ps", "-q") == "" and eng.cli("ps", "-aq") == ""
    page.shot("pod-deleted")
