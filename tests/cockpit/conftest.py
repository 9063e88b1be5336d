"""Cockpit's podman page against a real engine, in headless chromium.

Each test gets: an engine's libpod service (pypod's, or podman 4.3.1's for
comparison) on a socket in the test's own directory; cockpit-ws (with
cockpit-bridge as its local session) in a private mount namespace where
that directory is bound over /run/podman, the one path the page knows,
so a real podman's socket and parallel tests are never touched; and a
headless chromium of its own driven over the DevTools protocol.

Screenshots go to $PYPOD_TEST_ARTIFACTS (default /tmp/pypod-cockpit-artifacts)
under <test>-<engine>/, one per flow.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from ..conftest import wait_for
from .cdp import Browser, PageError

COCKPIT_WS = "/usr/lib/cockpit/cockpit-ws"
COCKPIT_BRIDGE = "/usr/bin/cockpit-bridge"
PODMAN_PAGE = "/usr/share/cockpit/podman/index.html"
ARTIFACTS = os.environ.get("PYPOD_TEST_ARTIFACTS", "/tmp/pypod-cockpit-artifacts")


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "Cockpit tests need root (a private mount namespace for /run/podman)"
    for path in (COCKPIT_WS, COCKPIT_BRIDGE, PODMAN_PAGE, "/usr/bin/chromium"):
        if not os.path.exists(path):
            return f"{path} is missing (scripts/setup.sh installs cockpit-ws, cockpit-podman and chromium)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen, timeout: float = 10) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class CockpitWS:
    """cockpit-ws on a loopback port, seeing sock_dir as /run/podman."""

    def __init__(self, workdir: str, sock_dir: str):
        self.port = _free_port()
        self.log = open(os.path.join(workdir, "cockpit-ws.log"), "wb")
        # The bind mount lives and dies with the namespace: nothing to undo.
        script = ('mkdir -p /run/podman && mount --bind "$1" /run/podman && exec "$2" '
                  '--local-session="$3" --no-tls --address 127.0.0.1 --port "$4"')
        env = {k: v for k, v in os.environ.items() if k not in ("XDG_RUNTIME_DIR",)}
        env["LC_ALL"] = "C.UTF-8"
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
             sock_dir, COCKPIT_WS, COCKPIT_BRIDGE, str(self.port)],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        if not wait_for(self._listening, timeout=20):
            _stop(self.proc)
            raise RuntimeError(f"cockpit-ws did not listen; see {self.log.name}")
        self.url = f"http://127.0.0.1:{self.port}/cockpit/@localhost/podman/index.html"

    def _listening(self) -> bool:
        if self.proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def stop(self) -> None:
        _stop(self.proc)
        self.log.close()


class EngineService:
    """A libpod service on sock_dir/podman.sock, with a CLI on the same store."""

    name: str
    proc: subprocess.Popen

    def cli(self, *args: str, check: bool = True, timeout: float = 120) -> str:
        p = subprocess.run([*self.argv, *args], capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL, env=self.env)
        if check and p.returncode != 0:
            raise AssertionError(f"{self.name} {' '.join(args)} exited {p.returncode}: {p.stderr}")
        return p.stdout.strip()

    def inspect(self, name: str) -> dict:
        return json.loads(self.cli("container", "inspect", name))[0]

    def state(self, name: str) -> str:
        return self.inspect(name)["State"]["Status"]

    def requests(self) -> list[str]:
        """The requests the service logged (pypod and podman both log them at debug)."""
        with open(self.log_path, errors="replace") as f:
            return f.read().splitlines()

    def _start(self, argv: list[str]) -> None:
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=self.env)
        if not wait_for(lambda: os.path.exists(self.sock) or self.proc.poll() is not None, timeout=30) \
                or self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} service did not start; see {self.log_path}")

    def stop(self) -> None:
        _stop(self.proc)
        self.log.close()


class PypodService(EngineService):
    name = "pypod"

    def __init__(self, pypod, sock_dir: str, workdir: str):
        self.argv = pypod.argv
        # the trace logs each request, and each error answer
        self.env = {**os.environ, "PYPOD_TRACE": "1"}
        self.sock = os.path.join(sock_dir, "podman.sock")
        self.log_path = os.path.join(workdir, "pypod-service.log")
        self._start([*self.argv, "system", "service", "--time", "0", f"unix://{self.sock}"])


class PodmanService(EngineService):
    """podman 4.3.1 with a store, run root, network config and
    containers.conf of its own (cgroupfs, file events, the test's own
    bridge and subnet, rlimits this machine allows)."""

    name = "podman"

    def __init__(self, netblock, sock_dir: str, workdir: str):
        self.base = tempfile.mkdtemp(prefix="ckp-", dir="/tmp")  # short: conmon's socket paths
        os.makedirs(f"{self.base}/net")
        conf = os.path.join(self.base, "containers.conf")
        with open(conf, "w") as f:
            f.write("[containers]\n"
                    'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n'
                    "[network]\n"
                    f'network_config_dir = "{self.base}/net"\n'
                    f'default_network = "{netblock.default_network}"\n'
                    f'default_subnet = "{netblock.default_subnet}"\n'
                    f'default_subnet_pools = [{{"base" = "{netblock.pool[0]}", "size" = 24}}]\n'
                    "[engine]\n"
                    'runtime = "runc"\n'
                    'cgroup_manager = "cgroupfs"\nevents_logger = "file"\n'
                    f'events_logfile_path = "{self.base}/events.log"\n')
        self.env = {**os.environ, "CONTAINERS_CONF": conf}
        self.argv = ["podman", "--root", f"{self.base}/r", "--runroot", f"{self.base}/rr",
                     "--tmpdir", f"{self.base}/t", "--network-config-dir", f"{self.base}/net"]
        self.sock = os.path.join(sock_dir, "podman.sock")
        self.log_path = os.path.join(workdir, "podman-service.log")
        # the default network written beforehand, so its bridge has the test's
        # name (podman 4.3's network create cannot name the interface)
        subnet = netblock.default_subnet
        with open(os.path.join(self.base, "net", f"{netblock.default_network}.json"), "w") as f:
            json.dump({"name": netblock.default_network, "id": os.urandom(32).hex(), "driver": "bridge",
                       "network_interface": netblock.default_interface, "created": "2024-01-01T00:00:00Z",
                       "subnets": [{"subnet": str(subnet), "gateway": str(subnet.network_address + 1)}],
                       "ipv6_enabled": False, "internal": False, "dns_enabled": False,
                       "ipam_options": {"driver": "host-local"}}, f)
        self._start([*self.argv, "--log-level", "debug", "system", "service", "--time", "0", f"unix://{self.sock}"])

    def stop(self) -> None:
        super().stop()
        self.cli("pod", "rm", "-a", "-f", "-t", "0", check=False)
        self.cli("rm", "-a", "-f", "-t", "0", check=False)
        self.cli("system", "reset", "-f", check=False)
        subprocess.run(["umount", "-R", "-l", self.base], capture_output=True)
        shutil.rmtree(self.base, ignore_errors=True)


class Page:
    """The podman page of one test: the browser on it, its engine, its screenshots."""

    def __init__(self, browser: Browser, cockpit: CockpitWS, engine: EngineService, shots_dir: str):
        self.browser = browser
        self.cockpit = cockpit
        self.engine = engine
        self.shots_dir = shots_dir
        self.shots: list[str] = []

    def __getattr__(self, name):  # the browser's verbs, on the page
        return getattr(self.browser, name)

    def open(self) -> None:
        self.browser.navigate(self.cockpit.url)
        # loaded: the containers list says something other than "Loading..."
        self.browser.wait("document.querySelector('#containers-containers') && "
                          "!document.querySelector('#containers-containers').innerText.includes('Loading')",
                          timeout=60, what="the containers list to load")

    # -- the containers list -------------------------------------------------------

    @staticmethod
    def row(name: str) -> str:
        """JavaScript: the containers list's row of the container called name."""
        return ("[...document.querySelectorAll('#containers-containers tbody tr')].find(r => "
                f"r.querySelector('.container-name')?.innerText === {json.dumps(name)})")

    def listed(self, name: str) -> bool:
        return bool(self.browser.evaluate(f"!!({self.row(name)})"))

    def cell(self, name: str, column: str) -> str:
        return self.browser.evaluate(
            f"({self.row(name)})?.querySelector('td[data-label={column}]')?.innerText.trim() ?? null")

    def wait_state(self, name: str, state: str, timeout: float = 60) -> None:
        # the first badge: a health badge may follow it
        self.browser.wait(f"({self.row(name)})?.querySelector('td[data-label=State] .pf-c-badge')?.innerText.trim()"
                          f" === {json.dumps(state)}", timeout, f"{name} to show {state!r}")

    def wait_gone(self, name: str, timeout: float = 60) -> None:
        self.browser.wait(f"!({self.row(name)})", timeout, f"{name} to leave the list")

    def _menu(self, toggle: str, scope: str, action: str, what: str) -> None:
        """Open a kebab menu (unless open) and choose an item."""
        if self.browser.evaluate(f"({toggle})?.getAttribute('aria-expanded')") != "true":
            self.browser.click_js(toggle, what=f"{what}'s menu")
        self.browser.click_js(f"[...(({scope})?.querySelectorAll('.pf-c-dropdown__menu-item') || [])]"
                              f".find(e => e.innerText.trim() === {json.dumps(action)})",
                              what=f"{action!r} in {what}'s menu")

    def container_action(self, name: str, action: str) -> None:
        """Choose an action from a container's kebab menu."""
        self._menu(f"({self.row(name)})?.querySelector('button[aria-label=Actions]')", self.row(name), action, name)

    def menu_items(self, name: str) -> list[str]:
        toggle = f"({self.row(name)})?.querySelector('button[aria-label=Actions]')"
        if self.browser.evaluate(f"({toggle})?.getAttribute('aria-expanded')") != "true":
            self.browser.click_js(toggle)
        items = self.browser.wait(f"(() => {{ const m = [...({self.row(name)}).querySelectorAll("
                                  f"'.pf-c-dropdown__menu-item')].map(e => e.innerText.trim()); "
                                  f"return m.length ? m : null; }})()", what=f"{name}'s menu")
        self.browser.key("Escape")
        return items

    def tab(self, name: str, tab: str) -> str:
        """Open a container's details on a tab; JavaScript for the details' element."""
        toggle = f"({self.row(name)}).querySelector('button[aria-label=Details]')"
        if self.browser.evaluate(f"{toggle}.getAttribute('aria-expanded')") != "true":
            self.browser.click_js(toggle, what=f"{name}'s details toggle")
        details = f"({self.row(name)}).nextElementSibling"
        self.browser.click_js(f"[...{details}.querySelectorAll('.pf-c-tabs__link')]"
                              f".find(e => e.innerText.trim() === {json.dumps(tab)})", what=f"{name}'s {tab} tab")
        return details

    #: JavaScript: what the visible terminal shows (xterm's screen-reader mirror of it)
    TERMINAL_TEXT = ("[...document.querySelectorAll('.xterm-accessibility-tree')]"
                     ".filter(e => e.getBoundingClientRect().height > 0).map(e => e.innerText).join('\\n')")

    def terminal_text(self) -> str:
        return self.browser.evaluate(self.TERMINAL_TEXT)

    def wait_terminal(self, pattern: str, what: str, timeout: float = 30) -> None:
        """Wait for the visible terminal to match a JavaScript regular expression."""
        self.browser.wait(f"new RegExp({json.dumps(pattern)}).test({self.TERMINAL_TEXT})", timeout, what)

    # -- dialogs and notifications ---------------------------------------------------

    def dialog_button(self, text: str) -> None:
        self.browser.click(".pf-c-modal-box button", text)

    def wait_dialog_closed(self, timeout: float = 60) -> None:
        self.browser.wait("!document.querySelector('.pf-c-modal-box')", timeout, "the dialog to close")

    def add_port(self, dialog: str, host_port: int, container_port: int) -> None:
        """Add a port mapping on 127.0.0.1 in the create dialog whose ids
        start with dialog ("run-image-dialog", "create-pod-dialog")."""
        self.dialog_button("Add port mapping")
        self.browser.fill(f"#{dialog}-publish-0-ip-address", "127.0.0.1")
        self.browser.fill(f"#{dialog}-publish-0-host-port", str(host_port))
        self.browser.fill(f"#{dialog}-publish-0-container-port", str(container_port))

    def dismiss_alerts(self) -> None:
        """Close the notifications: they sit over the page's top right."""
        while self.browser.exists(".pf-c-alert-group .pf-c-alert__action button"):
            self.browser.click(".pf-c-alert-group .pf-c-alert__action button")

    def watch_text(self, text: str) -> None:
        """Note from now on whether the page ever shows text (even briefly)."""
        self.browser.evaluate(f"""(() => {{
            window.__seen = false;
            const look = () => {{ if (document.body.innerText.includes({json.dumps(text)})) window.__seen = true; }};
            new MutationObserver(look).observe(document.body, {{subtree: true, childList: true, characterData: true}});
        }})()""")

    def saw_watched_text(self) -> bool:
        return bool(self.browser.evaluate("window.__seen"))

    def choose_image(self, search: str, image: str) -> None:
        """In the Create container dialog: search, pick the image from the
        results, and see it chosen (results still arriving redraw the menu,
        so a pick may need doing again)."""
        box = "#create-image-image-select-typeahead"
        chosen = "document.querySelector('#create-image-create-run-btn').getAttribute('aria-disabled') === 'false'"
        for _ in range(3):
            self.browser.fill(box, search)
            # the page searches 300 ms after the last key, and that search
            # forgets any choice made before it: let it run first
            time.sleep(0.5)
            self.browser.click(".pf-c-select__menu-item", image, timeout=60)
            time.sleep(0.5)
            if self.browser.evaluate(f"document.querySelector('{box}').value === {json.dumps(image)} && {chosen}"):
                return
        raise PageError(f"could not choose {image} in the Create container dialog")

    # -- images and pods -------------------------------------------------------------

    def show_images(self) -> None:
        """Expand the images list, and see it stay so: the page may draw the
        card anew, collapsed, while its first lists still arrive."""
        self.browser.wait_text("total", "#containers-images")
        table = "!!document.querySelector('#containers-images tbody')"
        for _ in range(5):
            if "Show images" in self.browser.text("#containers-images"):
                self.browser.click("#containers-images button", "Show images")
            self.browser.wait(table, what="the images table")
            time.sleep(1)
            if self.browser.evaluate(table):
                return
        raise PageError("the images list does not stay expanded")

    @staticmethod
    def image_row(name: str) -> str:
        """JavaScript: the images list's row of name.  The page may draw the
        card anew, collapsed, while its lists still arrive (under load, even
        seconds after the first): finding a row expands the list again."""
        return ("(() => { const more = [...document.querySelectorAll('#containers-images button')]"
                ".find(e => e.innerText.trim() === 'Show images'); if (more) more.click(); "
                "return [...document.querySelectorAll('#containers-images tbody tr')].find(r => "
                f"r.querySelector('td[data-label=Image]')?.innerText === {json.dumps(name)}); }})()")

    def image_action(self, name: str, action: str) -> None:
        self._menu(f"({self.image_row(name)})?.querySelector('button[aria-label=Actions]')", self.image_row(name),
                   action, name)

    def images_action(self, action: str) -> None:
        self._menu("document.querySelector('#image-actions-dropdown')", "document.querySelector('#containers-images')",
                   action, "the images")

    def pod_action(self, pod: str, action: str) -> None:
        self._menu(f"document.querySelector('#pod-{pod}-system-action-toggle')",
                   f"document.querySelector('#table-{pod}')", action, f"pod {pod}")

    def wait_pod_state(self, pod: str, state: str, timeout: float = 60) -> None:
        self.browser.wait(f"document.querySelector('#table-{pod} .pf-c-card__actions .pf-c-badge')?.innerText"
                          f" === {json.dumps(state)}", timeout, f"pod {pod} to show {state!r}")

    def shot(self, flow: str) -> str:
        path = os.path.join(self.shots_dir, f"{len(self.shots):02d}-{flow}.png")
        self.shots.append(self.browser.screenshot(path))
        return path


@pytest.fixture(scope="session")
def cockpit_registry(tmp_path_factory):
    """A plain-HTTP registry on loopback with test/app:latest and
    test/other:v2 (the same busybox-based image), for search and pull."""
    from ..registry.helpers import REGISTRY_BIN, Registry, build_test_images, push_layout

    if not os.path.exists(REGISTRY_BIN) or not shutil.which("skopeo"):
        pytest.skip("docker-registry and skopeo are needed (scripts/setup.sh installs them)")
    layout = build_test_images(str(tmp_path_factory.mktemp("cockpit-layout")))
    reg = Registry(str(tmp_path_factory.mktemp("cockpit-registry")))
    push_layout(reg, layout, "app", "test/app:latest")
    push_layout(reg, layout, "app", "test/other:v2")
    yield reg
    reg.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test, so the fixture knows a failure."""
    outcome = yield
    setattr(item, f"rep_{call.when}", outcome.get_result())


@pytest.fixture(params=["pypod", "podman"])
def page(request, net_pypod, netblock, tmp_path, cockpit_registry, monkeypatch):
    reason = _missing()
    if reason:
        pytest.skip(reason)
    # both engines search and pull from the test's registry only
    conf = tmp_path / "registries.conf"
    conf.write_text(f'unqualified-search-registries = ["{cockpit_registry.host}"]\n'
                    f'[[registry]]\nlocation = "{cockpit_registry.host}"\ninsecure = true\n')
    monkeypatch.setenv("CONTAINERS_REGISTRIES_CONF", str(conf))
    if request.param == "podman" and not shutil.which("podman"):
        pytest.skip("podman is not installed (scripts/setup.sh installs it, for comparison)")
    sock_dir = tmp_path / "run-podman"
    sock_dir.mkdir()
    shots = os.path.join(ARTIFACTS, re.sub(r"[^\w.-]", "_", request.node.name))
    shutil.rmtree(shots, ignore_errors=True)
    os.makedirs(shots)
    # busybox in both stores: pypod builds it on first use, podman loads pypod's
    busybox = str(tmp_path / "busybox.tar")
    net_pypod("save", "-o", busybox, "busybox")
    if request.param == "pypod":
        engine = PypodService(net_pypod, str(sock_dir), str(tmp_path))
    else:
        engine = PodmanService(netblock, str(sock_dir), str(tmp_path))
        engine.cli("load", "-i", busybox)
    cockpit = browser = None
    try:
        cockpit = CockpitWS(str(tmp_path), str(sock_dir))
        browser = Browser(str(tmp_path))
        pg = Page(browser, cockpit, engine, shots)
        pg.registry = cockpit_registry
        yield pg
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            pg.shot("failure")
    finally:
        if browser is not None:
            browser.close()
        if cockpit is not None:
            cockpit.stop()
        engine.stop()
