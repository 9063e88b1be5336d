"""Pulls and pushes killed at every step, pulls racing each other, rmi
racing a pull: the next command always finds a whole image or none."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time

import pytest

from .helpers import Registry, push_layout

PULL_STEPS = ("pull.after-manifest", "pull.after-layer", "pull.before-commit", "pull.after-commit")


def _images(rp) -> list[str]:
    return rp.out("images", "-q", "--no-trunc").split()


def _tmp_entries(rp) -> list[str]:
    d = os.path.join(rp.root, "storage", "tmp")
    return os.listdir(d) if os.path.isdir(d) else []


@pytest.mark.parametrize("step", PULL_STEPS)
def test_pull_killed_at_each_step(rp, registry, step):
    ref = f"{registry.host}/test/app"
    env = {**os.environ, "PYPOD_FAILPOINT": step}
    p = rp("pull", "-q", "--tls-verify=false", ref, env=env, check=False)
    assert p.returncode == -9, p.stderr
    if step == "pull.after-commit":
        assert len(_images(rp)) == 1  # committed: whole
    else:
        assert _images(rp) == []  # no half image, whatever is on disk
        assert rp("image", "exists", ref, check=False).returncode == 1
    iid = rp.out("pull", "-q", "--tls-verify=false", ref)
    assert _tmp_entries(rp) == []  # what the killed pull left, swept by the next one
    assert rp.out("run", "--rm", ref) == "hello from the registry"
    assert _images(rp) == [f"sha256:{iid}"] or _images(rp) == [iid]


def test_push_killed_leaves_no_tag(rp, fresh_registry):
    dest = f"{fresh_registry.host}/crash/bb:1"
    for step in ("push.after-blob", "push.before-manifest"):
        env = {**os.environ, "PYPOD_FAILPOINT": step}
        p = rp("push", "--tls-verify=false", "busybox", dest, env=env, check=False)
        assert p.returncode == -9, p.stderr
        gone = fresh_registry.skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{dest}", check=False)
        assert gone.returncode != 0  # no manifest: nothing a client can pull
    rp("push", "--tls-verify=false", "busybox", dest)
    assert fresh_registry.skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{dest}").returncode == 0
    assert _tmp_entries(rp) == []  # the killed pushes' recompressed files, swept by the next push


def test_concurrent_pulls_fetch_each_layer_once(rp, tmp_path, test_layout):
    reg = Registry(str(tmp_path / "logged"), access_log=True)
    try:
        push_layout(reg, test_layout, "app", "race/app:1")
        ref = f"{reg.host}/race/app:1"
        before = {d: reg.requests("GET", d) for d in _layer_digests(reg, "race/app:1")}
        procs = [subprocess.Popen([*rp.argv, "pull", "-q", "--tls-verify=false", ref], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, stdin=subprocess.DEVNULL) for _ in range(3)]
        outs = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0], [e for _, e in outs]
        assert len({o.strip() for o, _ in outs}) == 1
        assert len(_images(rp)) == 1
        layers = os.listdir(os.path.join(rp.root, "storage", "layers"))
        assert len(layers) == 4
        time.sleep(0.2)  # the access log is written after the response
        for digest, n in before.items():
            assert reg.requests("GET", f"/blobs/{digest}") - n == 1, digest
        assert _tmp_entries(rp) == []
    finally:
        reg.stop()


def _layer_digests(reg: Registry, repo_tag: str) -> list[str]:
    raw = reg.skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{reg.host}/{repo_tag}").stdout
    return [layer["digest"] for layer in json.loads(raw)["layers"]]


def test_rmi_waits_for_a_pull_that_holds_the_store(rp, registry):
    """A pull holds the store's lock shared from its first look at the
    layers to its commit: rmi (exclusive) waits, so it never deletes a layer
    the pull has just decided to reuse."""
    from pypod.storage.images import ImageStore

    ref = f"{registry.host}/test/app"
    rp("pull", "-q", "--tls-verify=false", ref)
    store = ImageStore(os.path.join(rp.root, "storage"))
    done = threading.Event()
    with store.locked(exclusive=False):  # what a pull holds
        proc = subprocess.Popen([*rp.argv, "rmi", ref], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL)
        threading.Thread(target=lambda: (proc.wait(), done.set()), daemon=True).start()
        assert not done.wait(1.0)  # blocked behind the pull
    assert done.wait(30) and proc.returncode == 0
    assert _images(rp) == []
