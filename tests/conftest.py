"""Shared fixtures: every test gets its own root and run root, so tests run in
parallel and beside a real podman or another pypod, never touching
/var/lib/pypod."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

PYPOD = os.path.join(os.path.dirname(sys.executable), "pypod")

# Registry files of the tests' own, never the host's: an image that is not
# local is pulled, and a short name must then find no registry to reach for.
_REGISTRY_FILES = tempfile.mkdtemp(prefix="pypod-tests-registries-")
open(os.path.join(_REGISTRY_FILES, "registries.conf"), "w").close()
os.environ["CONTAINERS_REGISTRIES_CONF"] = os.path.join(_REGISTRY_FILES, "registries.conf")
os.environ["REGISTRY_AUTH_FILE"] = os.path.join(_REGISTRY_FILES, "auth.json")
with open(os.environ["REGISTRY_AUTH_FILE"], "w") as _f:
    _f.write("{}\n")  # podman refuses a named auth file that is not there
atexit.register(shutil.rmtree, _REGISTRY_FILES, True)


def _needs_root_and_runtime() -> str | None:
    if os.geteuid() != 0:
        return "integration tests run containers and need root"
    for tool in ("conmon", "runc"):
        if not shutil.which(tool):
            return f"{tool} is not installed (scripts/setup.sh installs it)"
    return None


class Pypod:
    """Runs the real CLI against a private root."""

    def __init__(self, base: str):
        self.root = os.path.join(base, "root")
        self.runroot = os.path.join(base, "run")
        self.argv = [PYPOD, "--root", self.root, "--runroot", self.runroot]

    def __call__(self, *args: str, input: bytes | None = None, check: bool = True, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
        proc = subprocess.run([*self.argv, *args], input=input, capture_output=True, timeout=timeout,
                              stdin=None if input is not None else subprocess.DEVNULL, **kw)
        if check and proc.returncode != 0:
            raise AssertionError(f"pypod {' '.join(args)} exited {proc.returncode}: {proc.stderr.decode(errors='replace')}")
        return proc

    def out(self, *args: str, **kw) -> str:
        return self(*args, **kw).stdout.decode().strip()

    def engine(self):
        from pypod.config import load_config
        from pypod.engine.engine import Engine

        return Engine(load_config(root=self.root, runroot=self.runroot))

    def teardown(self) -> None:
        """Remove every container (stopping conmon and unmounting), whatever the test left."""
        if not os.path.exists(self.root):
            return
        self("pod", "rm", "-a", "-f", "-t", "0", check=False)
        self("rm", "-a", "-f", "-t", "0", check=False)
        subprocess.run(["umount", "-R", "-l", *_mounts_under(self.root)], capture_output=True)


def _mounts_under(path: str) -> list[str]:
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mnt = line.split()[4]
            if mnt.startswith(path + "/"):
                out.append(mnt)
    return sorted(out, reverse=True)


@pytest.fixture(autouse=True)
def netblock(tmp_path_factory, monkeypatch):
    """Every test gets its own addresses and bridge names (tests/hostnet.py)
    and a config file (PYPOD_CONFIG, inherited by every pypod process the
    test starts) naming them.  Containers default to `none` networking: a
    private namespace with loopback only, what the tests that do not test
    networks need, at no cost to the host.  net_pypod switches to bridge."""
    from .hostnet import claim

    nb = claim()
    config = tmp_path_factory.mktemp("config") / "pypod.json"
    config.write_text(nb.config("none"))
    monkeypatch.setenv("PYPOD_CONFIG", str(config))
    nb.config_file = config
    yield nb
    nb.release()


@pytest.fixture
def pypod(tmp_path):
    reason = _needs_root_and_runtime()
    if reason:
        pytest.skip(reason)
    p = Pypod(str(tmp_path))
    yield p
    p.teardown()


@pytest.fixture
def net_pypod(pypod, netblock):
    """pypod whose containers join the (test's own) default bridge network
    unless told otherwise; afterwards nothing of the test's may be left on
    the host, and whatever is, is removed and fails the test."""
    netblock.config_file.write_text(netblock.config("bridge"))
    pypod.netblock = netblock
    yield pypod
    pypod.teardown()
    for net in pypod.out("network", "ls", "-q", check=False).split():
        pypod("network", "rm", "-f", net, check=False)
    left = netblock.cleanup()
    assert not left, f"left on the host: {left}"


def wait_for(pred, timeout: float = 10.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(interval)
    return pred()


def conmon_pids_for(root: str) -> list[int]:
    """conmon processes started for this test's root (by their arguments)."""
    from pypod.oci.procs import conmon_pids

    return conmon_pids(root, exact=False)


# -- rootless ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def rootless_user():
    """A throwaway unprivileged user per test session (per xdist worker),
    with its own subuid/subgid range, home and runtime dir, running the real
    pypod; the session leaves no user, file or process of it behind
    (tests/rootless/user.py)."""
    from .rootless.user import RootlessUser, missing

    reason = missing()
    if reason:
        pytest.skip(reason)
    user = RootlessUser()
    yield user
    user.remove()


@pytest.fixture
def rl(rootless_user):
    """The session's rootless user, its containers gone again after the test."""
    yield rootless_user
    rootless_user.pypod("rm", "-a", "-f", "-t", "0", check=False)
