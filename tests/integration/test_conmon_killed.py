"""The issue's conmon reproduction: conmon is SIGKILLed under a running
container, and later the container's process exits.  Nobody is left to
write the exit file or run the exit command, so the next look must find out
for itself: a plain `ps` says exited (not running for as long as nobody
takes the lock), the runc entry and the overlay mount go, and a `--rm`
container is removed as its exit command would have done."""

from __future__ import annotations

import json
import os
import signal

import pytest

from pypod.oci.procs import pid_alive
from tests.conftest import _mounts_under, wait_for
from tests.integration.test_failpoints import assert_nothing_left, assert_truth, runc_entries

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="runs real containers: needs root")


def _state(pypod, name: str) -> dict:
    return json.loads(pypod.out("inspect", name))[0]["State"]


def test_conmon_killed_then_process_exits(pypod):
    pypod("run", "-d", "--name", "kept", "busybox", "sleep", "1000")
    pypod("run", "-d", "--rm", "--name", "gone", "busybox", "sleep", "1000")
    pids = {n: (_state(pypod, n)["ConmonPid"], _state(pypod, n)["Pid"]) for n in ("kept", "gone")}
    for conmon, _ in pids.values():
        os.kill(conmon, signal.SIGKILL)
    assert wait_for(lambda: not any(pid_alive(c) for c, _ in pids.values()))

    # conmon gone, the process alive: still running, and true
    assert _state(pypod, "kept")["Status"] == "running"
    for _, proc in pids.values():
        os.kill(proc, signal.SIGKILL)
    assert wait_for(lambda: not any(pid_alive(p) for _, p in pids.values()))

    # The first command after is a plain ps: it tells the truth by itself.
    rows = {r["Names"][0]: r for r in json.loads(pypod.out("ps", "-a", "--format", "json"))}
    assert set(rows) == {"kept"}, rows
    assert rows["kept"]["State"] == "exited"
    st = _state(pypod, "kept")
    assert st["Status"] == "exited" and st["FinishedAt"] and not st["Running"]
    assert runc_entries(pypod) == {}
    assert _mounts_under(pypod.root) == []
    assert_truth(pypod)

    # it starts again, with a new conmon, and goes
    pypod("start", "kept")
    assert _state(pypod, "kept")["Status"] == "running"
    pypod("rm", "-af", "-t", "0")
    assert_nothing_left(pypod)


def test_kill_of_a_process_that_just_exited_is_a_clean_refusal(pypod):
    """The process exits between kill's look at the state and its signal
    (held open here: conmon is stopped, so the exit is not yet reaped or
    recorded): runc says "container not running", and pypod says what
    podman says of any container that is not running, not an OCI error."""
    pypod("run", "-d", "--name", "brief", "busybox", "sleep", "1000")
    st = _state(pypod, "brief")
    os.kill(st["ConmonPid"], signal.SIGSTOP)
    try:
        os.kill(st["Pid"], signal.SIGKILL)
        p = pypod("kill", "brief", check=False)
        err = p.stderr.decode().strip()
        assert p.returncode == 125 and err.startswith("Error: can only kill running containers. "), err
        assert err.endswith(": container state improper") and "\n" not in err, err
    finally:
        os.kill(st["ConmonPid"], signal.SIGCONT)
    assert wait_for(lambda: _state(pypod, "brief")["Status"] == "exited")
    assert_truth(pypod)
