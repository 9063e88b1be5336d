"""Restart policies carried out by conmon's exit command, and health checks
scheduled by pypod's own timer: both without a daemon."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import tarfile
import time

from tests.conftest import wait_for


def state(pypod, ref: str) -> dict:
    return json.loads(pypod.out("inspect", ref))[0]


def test_on_failure_restarts_until_the_retries_run_out(pypod):
    t0 = time.monotonic()
    p = pypod("run", "--name", "flaky", "--restart", "on-failure:2", "busybox", "sh", "-c", "echo ran; exit 3", check=False)
    assert p.returncode == 3 and p.stdout == b"ran\n"
    assert time.monotonic() - t0 < 30  # the foreground run ends with the first exit; the restarts go on without it
    assert wait_for(lambda: state(pypod, "flaky")["RestartCount"] == 2, timeout=30)
    assert wait_for(lambda: state(pypod, "flaky")["State"]["Status"] == "exited", timeout=30)
    time.sleep(1)
    st = state(pypod, "flaky")
    assert st["RestartCount"] == 2 and st["State"]["ExitCode"] == 3
    assert st["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert pypod.out("logs", "flaky").splitlines() == ["ran"] * 3
    # a clean exit is not a failure
    pypod("run", "-d", "--name", "fine", "--restart", "on-failure", "busybox", "true")
    assert wait_for(lambda: state(pypod, "fine")["State"]["Status"] == "exited", timeout=30)
    time.sleep(1)
    assert state(pypod, "fine")["RestartCount"] == 0


def test_always_restarts_and_stop_ends_the_loop(pypod):
    cid = pypod.out("run", "-d", "--restart", "always", "busybox", "sh", "-c", "sleep 0.2; exit 1")
    assert wait_for(lambda: state(pypod, cid)["RestartCount"] >= 2, timeout=30)
    pypod("stop", "-t", "1", cid)
    count = state(pypod, cid)["RestartCount"]
    time.sleep(2)
    st = state(pypod, cid)
    assert st["State"]["Status"] == "exited" and st["RestartCount"] == count
    # start again: the policy holds again, until the next stop, and counts
    # its restarts from this start (podman's: the user's start resets it)
    pypod("start", cid)
    assert wait_for(lambda: 0 < state(pypod, cid)["RestartCount"] < count + 2, timeout=30)
    pypod("rm", "-f", "-t", "0", cid)
    assert wait_for(lambda: subprocess.run(["pgrep", "-f", cid], capture_output=True).returncode != 0, timeout=10)
    # the user's restart is not the policy's: it counts nothing
    cid = pypod.out("run", "-d", "--restart", "always", "busybox", "sleep", "1000")
    pypod("restart", "-t", "0", cid)
    st = state(pypod, cid)
    assert (st["State"]["Status"], st["RestartCount"]) == ("running", 0)
    pypod("rm", "-f", "-t", "0", cid)


def test_restart_policy_errors(pypod):
    for flags, words in ((["--rm", "--restart", "always"], 'the --rm option conflicts with --restart'),
                         (["--restart", "sometimes"], 'invalid restart policy "sometimes"'),
                         (["--restart", "always:3"], "retries can only be specified with on-failure")):
        p = pypod("create", *flags, "busybox", "true", check=False)
        assert p.returncode == 125 and words in p.stderr.decode(), (flags, p.stderr)
    assert pypod.out("ps", "-a", "-q") == ""


def timers(cid: str) -> list[str]:
    out = subprocess.run(["pgrep", "-f", f"pypod-healthcheck.*{cid}"], capture_output=True, text=True).stdout
    return out.split()


def test_failing_check_turns_the_container_unhealthy_and_rm_leaves_nothing(pypod):
    cid = pypod.out("run", "-d", "--health-cmd", "test -e /tmp/ready", "--health-interval", "1s", "--health-retries", "2",
                    "--health-timeout", "5s", "busybox", "sleep", "1000")
    assert state(pypod, cid)["State"]["Health"]["Status"] == "starting"
    assert len(timers(cid)) == 1
    assert wait_for(lambda: state(pypod, cid)["State"]["Health"]["Status"] == "unhealthy", timeout=30)
    health = state(pypod, cid)["State"]["Health"]
    assert health["FailingStreak"] >= 2 and health["Log"][-1]["ExitCode"] == 1
    assert "(unhealthy)" in pypod.out("ps")
    p = pypod("healthcheck", "run", cid, check=False)
    assert p.returncode == 1 and p.stdout == b"unhealthy\n"
    pypod("exec", cid, "touch", "/tmp/ready")
    p = pypod("healthcheck", "run", cid, check=False)
    assert p.returncode == 0 and p.stdout == b""
    assert state(pypod, cid)["State"]["Health"]["Status"] == "healthy"
    cfg = state(pypod, cid)["Config"]["Healthcheck"]
    assert cfg == {"Test": ["CMD-SHELL", "test -e /tmp/ready"], "Interval": 1_000_000_000,
                   "Timeout": 5_000_000_000, "Retries": 2}  # no zero StartPeriod: podman omits it
    pypod("stop", "-t", "0", cid)
    assert timers(cid) == []
    p = pypod("healthcheck", "run", cid, check=False)
    assert p.returncode == 125 and "is not running" in p.stderr.decode()
    pypod("rm", cid)
    assert timers(cid) == [] and subprocess.run(["pgrep", "-f", cid], capture_output=True).returncode != 0


def test_start_period_timeout_and_on_failure(pypod):
    cid = pypod.out("run", "-d", "--health-cmd", "sleep 10", "--health-timeout", "1s", "--health-interval", "disable",
                    "--health-start-period", "1h", "busybox", "sleep", "1000")
    assert timers(cid) == []  # interval disabled: checks run only when asked
    p = pypod("healthcheck", "run", cid, check=False)
    assert p.returncode == 1
    health = state(pypod, cid)["State"]["Health"]
    assert health["Status"] == "starting" and health["FailingStreak"] == 0  # failures in the start period do not count
    assert "exceeded timeout of 1s" in health["Log"][-1]["Output"]
    killed = pypod.out("run", "-d", "--health-cmd", "false", "--health-retries", "1", "--health-interval", "disable",
                       "--health-on-failure", "kill", "busybox", "sleep", "1000")
    pypod("healthcheck", "run", killed, check=False)
    assert wait_for(lambda: state(pypod, killed)["State"]["Status"] == "exited", timeout=15)
    nohc = pypod.out("create", "busybox", "true")
    p = pypod("healthcheck", "run", nohc, check=False)
    assert p.returncode == 125 and "has no defined healthcheck" in p.stderr.decode()
    p = pypod("healthcheck", "run", "nonexistent", check=False)
    assert p.returncode == 125 and "unable to look up nonexistent to perform a health check" in p.stderr.decode()


def image_with_healthcheck(pypod, tmp_path) -> str:
    """busybox saved, its config given a HEALTHCHECK, loaded back as a new image."""
    archive = tmp_path / "bb.tar"
    pypod("save", "-o", str(archive), "busybox")
    out = io.BytesIO()
    with tarfile.open(archive) as src, tarfile.open(fileobj=out, mode="w") as dst:
        manifest = json.load(src.extractfile("manifest.json"))
        config = json.load(src.extractfile(manifest[0]["Config"]))
        config["config"]["Healthcheck"] = {"Test": ["CMD-SHELL", "exit 7"], "Interval": 3_600_000_000_000, "Retries": 1}
        data = json.dumps(config).encode()
        name = hashlib.sha256(data).hexdigest() + ".json"
        manifest[0]["Config"] = name
        manifest[0]["RepoTags"] = ["localhost/checked:1"]
        for member in src.getmembers():
            if member.name in ("manifest.json", "repositories") or member.name.endswith(".json"):
                continue
            dst.addfile(member, src.extractfile(member) if member.isfile() else None)
        for fname, blob in ((name, data), ("manifest.json", json.dumps(manifest).encode())):
            info = tarfile.TarInfo(fname)
            info.size = len(blob)
            dst.addfile(info, io.BytesIO(blob))
    (tmp_path / "checked.tar").write_bytes(out.getvalue())
    pypod("load", "-i", str(tmp_path / "checked.tar"))
    return "localhost/checked:1"


def test_the_images_healthcheck_and_no_healthcheck(pypod, tmp_path):
    image = image_with_healthcheck(pypod, tmp_path)
    cid = pypod.out("run", "-d", "--health-interval", "disable", image, "sleep", "1000")
    hc = state(pypod, cid)["Config"]["Healthcheck"]
    assert hc["Test"] == ["CMD-SHELL", "exit 7"] and hc["Retries"] == 1 and hc["Interval"] == -1_000_000_000
    assert pypod("healthcheck", "run", cid, check=False).returncode == 1
    assert state(pypod, cid)["State"]["Health"]["Status"] == "unhealthy"
    assert state(pypod, cid)["State"]["Health"]["Log"][-1]["ExitCode"] == 7
    none = pypod.out("create", "--no-healthcheck", image, "true")
    assert "Healthcheck" not in state(pypod, none)["Config"]
    assert os.path.exists(os.path.join(pypod.root, "containers", cid))
