"""podman's checkpoint and restore flags: contradictions refused in
podman's words before anything runs; on a host whose CRIU fails `criu
check` (this one) every flag gets the one line saying so, exit 125, and the
container is left exactly as it was."""

from __future__ import annotations

import json
import shutil

import pytest

from .test_api import service  # noqa: F401 - the fixture
from .test_podman_remote import remote  # noqa: F401 - the fixture

CONTRADICTIONS = [
    (["checkpoint", "--ignore-rootfs"], "--ignore-rootfs can only be used with --export"),
    (["checkpoint", "--ignore-volumes"], "--ignore-volumes can only be used with --export"),
    (["checkpoint", "--compress", "gzip"], "--compress can only be used with --export"),
    (["checkpoint", "--with-previous", "--pre-checkpoint"], "--with-previous can not be used with --pre-checkpoint"),
    (["checkpoint", "-e", "/tmp/never.tar", "-c", "lz4"], 'selected compression algorithm ("lz4") not supported'),
    (["restore", "--name", "x"], "--name can only be used with image or --import"),
    (["restore", "--pod", "x"], "--pod can only be used with image or --import"),
    (["restore", "-p", "8080:80"], "--publish can only be used with image or --import"),
    (["restore", "--import-previous", "/tmp/p.tar"], "--import-previous can only be used with image or --import"),
    (["restore", "--ignore-rootfs"], "--ignore-rootfs can only be used with image or --import"),
]

NEED_CRIU = [
    ["checkpoint", "--leave-running", "--tcp-established", "--file-locks", "--keep", "--print-stats"],
    ["checkpoint", "-P"],
    ["checkpoint", "--with-previous"],
    ["checkpoint", "-e", "/tmp/never.tar", "-c", "zstd", "--ignore-rootfs", "--ignore-volumes"],
    ["checkpoint", "--create-image", "localhost/ck:1"],
    ["restore", "--tcp-established", "--file-locks", "--keep", "--print-stats", "--ignore-static-ip", "--ignore-static-mac"],
]


def test_checkpoint_and_restore_flags(pypod):
    pypod("run", "-d", "--name", "ck", "busybox", "sleep", "1000")
    before = json.loads(pypod.out("inspect", "ck"))[0]["State"]
    for args, words in CONTRADICTIONS:
        p = pypod("container", args[0], *args[1:], "ck", check=False)
        assert p.returncode == 125 and words in p.stderr.decode(), (args, p.stderr)
    p = pypod("container", "checkpoint", "-a", "ck", check=False)
    assert p.returncode == 125 and "no arguments are needed with --all" in p.stderr.decode()
    p = pypod("container", "restore", "--import", "/nonexistent/ck.tar", check=False)
    assert p.returncode == 125 and "failed to open checkpoint archive /nonexistent/ck.tar" in p.stderr.decode()
    probe = pypod("container", "checkpoint", "--leave-running", "ck", check=False)
    if probe.returncode == 0:
        pytest.skip("CRIU works on this host: the refusals below are for hosts where it does not")
    for args in NEED_CRIU:
        p = pypod("container", args[0], *args[1:], "ck", check=False)
        err = p.stderr.decode().strip()
        assert p.returncode == 125 and err.startswith("Error: CRIU cannot checkpoint on this machine"), (args, err)
        assert len(err.splitlines()) == 1
    after = json.loads(pypod.out("inspect", "ck"))[0]["State"]
    assert (after["Status"], after["Pid"], after["StartedAt"]) == (before["Status"], before["Pid"], before["StartedAt"])


@pytest.mark.skipif(not shutil.which("podman"), reason="podman is not installed")
def test_checkpoint_through_podman_remote(remote, pypod):  # noqa: F811
    """libpod's checkpoint/restore routes: podman's own client gets the same
    refusals, and the container stays as it was."""
    pypod("run", "-d", "--name", "rck", "busybox", "sleep", "1000")
    pid = pypod.out("inspect", "-f", "{{.State.Pid}}", "rck")
    p = remote("container", "checkpoint", "--ignore-rootfs", "rck", check=False)
    assert p.returncode == 125 and "--ignore-rootfs can only be used with --export" in p.stderr.decode()
    probe = pypod("container", "checkpoint", "--leave-running", "rck", check=False)
    if probe.returncode == 0:
        pytest.skip("CRIU works on this host")
    for args in (["checkpoint", "--leave-running", "--tcp-established", "--file-locks"], ["restore", "--keep"]):
        p = remote("container", *args, "rck", check=False)
        assert p.returncode == 125 and "CRIU cannot checkpoint on this machine" in p.stderr.decode(), (args, p.stderr)
    assert pypod.out("inspect", "-f", "{{.State.Status}} {{.State.Pid}}", "rck") == f"running {pid}"
