"""podman's own remote client (Debian's podman 4.3.1, `podman --remote`)
driving `pypod system service`: the image, system and lifecycle commands
beyond run/exec/logs (those are in test_api_clients.py), each checked
against what pypod's own CLI then sees."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile

import pytest

from tests.integration.test_api import service  # noqa: F401 - the fixture

pytestmark = pytest.mark.skipif(not shutil.which("podman"), reason="podman is not installed")


@pytest.fixture
def remote(service, tmp_path):  # noqa: F811
    env = {**os.environ, "CONTAINER_HOST": f"unix://{service}", "HOME": str(tmp_path)}

    def run(*args, check=True, input=None):
        p = subprocess.run(["podman", "--remote", *args], capture_output=True, env=env, timeout=90, input=input,
                           stdin=subprocess.DEVNULL if input is None else None)
        if check and p.returncode != 0:
            raise AssertionError(f"podman --remote {' '.join(args)} exited {p.returncode}: {p.stderr.decode()}")
        return p

    run.out = lambda *args: run(*args).stdout.decode().strip()
    return run


def test_images_through_podman_remote(remote, pypod, tmp_path):
    iid = pypod.out("inspect", "--type", "image", "-f", "{{.Id}}", "busybox")
    assert remote.out("version", "--format", "{{.Server.APIVersion}}") == "4.3.1"
    assert remote.out("info", "--format", "{{.Store.GraphRoot}} {{.Store.RunRoot}}") == f"{pypod.root} {pypod.runroot}"
    hist = remote.out("history", "--format", "{{.ID}} {{.CreatedBy}}", "busybox").splitlines()
    assert hist[0].startswith(iid[:12])
    assert remote.out("image", "tree", "busybox").splitlines()[0] == f"Image ID: {iid[:12]}"

    remote("tag", "busybox", "extra:1")
    assert "localhost/extra:1" in pypod.out("images", "--format", "{{.Repository}}:{{.Tag}}")
    remote("untag", "busybox", "extra:1")
    assert pypod.out("images", "--format", "{{.Repository}}:{{.Tag}}").split() == ["localhost/busybox:latest"]

    # save in each format, then load what was saved into pypod's own store
    archive = tmp_path / "bb.tar"
    remote("save", "-o", str(archive), "busybox")
    with tarfile.open(archive) as t:
        assert "manifest.json" in t.getnames()
    remote("save", "--format", "oci-archive", "-o", str(tmp_path / "oci.tar"), "busybox")
    with tarfile.open(tmp_path / "oci.tar") as t:
        assert "index.json" in t.getnames()
    remote("save", "--format", "oci-dir", "-o", str(tmp_path / "ocidir"), "busybox")
    assert json.load(open(tmp_path / "ocidir" / "index.json"))["manifests"]
    remote("save", "--format", "docker-dir", "-o", str(tmp_path / "dockerdir"), "busybox")
    assert os.path.exists(tmp_path / "dockerdir" / "manifest.json")
    pypod("rmi", "busybox")
    assert "Loaded image" in remote.out("load", "-i", str(archive))
    assert pypod.out("images", "-q", "--no-trunc") == f"sha256:{iid}"

    # prune: a dangling image goes, a used one stays
    rootfs = tmp_path / "rootfs.tar"
    with tarfile.open(rootfs, "w") as t:
        t.addfile(tarfile.TarInfo("empty"))
    lone = pypod.out("import", "-q", str(rootfs), "lone:1").removeprefix("sha256:")
    pypod("untag", "lone:1")
    assert remote.out("image", "prune", "-f").split() == [lone]
    assert pypod.out("images", "-q", "--no-trunc") == f"sha256:{iid}"
    p = remote("image", "prune", "-f", "--filter", "shape=round", check=False)
    assert p.returncode != 0 and b'unsupported image filter "shape"' in p.stderr


def test_system_commands_through_podman_remote(remote, pypod):
    pypod("run", "--name", "done", "busybox", "true")
    done = pypod.out("inspect", "-f", "{{.Id}}", "done")
    live = pypod.out("run", "-d", "--name", "live", "busybox", "sleep", "1000")
    df = remote.out("system", "df").splitlines()
    assert df[0].split() == ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
    assert df[2].split()[:3] == ["Containers", "2", "1"]
    verbose = remote.out("system", "df", "-v")
    assert done[:12] in verbose and live[:12] in verbose

    # the event log, as libpod's decoder reads it (every container event with its exit code)
    lines = remote.out("events", "--stream=false", "--format", "{{.Status}} {{.Name}}").splitlines()
    assert "create done" in lines and "died done" in lines and "start live" in lines
    assert remote.out("events", "--stream=false", "--filter", "event=died", "--format", "{{.Name}}") == "done"
    pypod("tag", "busybox", "other:1")
    last = remote.out("events", "--stream=false", "--filter", "type=image", "--format", "{{.Status}} {{.Name}}")
    assert last.splitlines()[-1].startswith("tag ") and last.endswith("other:1")

    assert remote.out("container", "prune", "-f") == done
    assert pypod.out("ps", "-aq", "--no-trunc") == live
    p = remote("container", "prune", "-f", "--filter", "colour=red", check=False)
    assert p.returncode != 0 and b"colour is an invalid filter" in p.stderr
    pypod("stop", "-t", "0", "live")
    out = remote.out("system", "prune", "-f")
    assert out.splitlines()[:2] == ["Deleted Containers", live] and "Total reclaimed space" in out
    assert pypod.out("ps", "-aq") == ""


def test_start_attach_with_stdin_the_container_does_not_take(remote, pypod):
    # podman asks for stdin whatever the container; the service reads and
    # drops it, so closing the connection does not reset it under the output
    pypod("create", "--name", "echo", "busybox", "sh", "-c", "sleep 0.2; echo out; echo err >&2")
    p = remote("start", "-a", "echo", input=b"ignored\n" * 1000)
    assert (p.stdout, p.stderr) == (b"out\n", b"err\n")
    assert pypod.out("inspect", "-f", "{{.State.ExitCode}}", "echo") == "0"


def test_generate_systemd_through_podman_remote(remote, pypod):
    pypod("create", "--name", "svc", "busybox", "sleep", "1000")
    unit = remote.out("generate", "systemd", "-n", "--restart-policy", "always", "--wants", "a.service", "svc")
    assert unit.splitlines()[0] == "# container-svc.service"
    assert "Restart=always" in unit and "Wants=a.service" in unit and unit.endswith("WantedBy=default.target")
    units = json.loads(remote.out("generate", "systemd", "--format", "json", "--no-header", "svc"))
    cid = pypod.out("inspect", "-f", "{{.Id}}", "svc")
    assert list(units) == [f"container-{cid}"] and units[f"container-{cid}"].startswith(f"# container-{cid}.service\n\n")
    remote("create", "--name", "viaapi", "busybox", "true")
    p = remote("generate", "systemd", "--new", "viaapi", check=False)  # no command line to make it again from
    assert p.returncode == 125 and b"no create command found" in p.stderr


def test_pod_stats_of_several_pods_through_podman_remote(remote, pypod):
    """podman's client sends each pod as its own namesOrIDs parameter: every
    one is answered, not only the last."""
    for name in ("pa", "pb", "pc"):
        pypod("pod", "create", "--name", name)
        pypod("run", "-d", "--pod", name, "--name", f"{name}-top", "busybox", "sleep", "1000")
    out = remote.out("pod", "stats", "--no-stream", "--format", "{{.Pod}} {{.Name}}", "pa", "pb")
    pods = {pypod.out("pod", "inspect", "-f", "{{.Id}}", n)[:12]: n for n in ("pa", "pb", "pc")}
    seen = {pods.get(line.split()[0]) for line in out.splitlines()[1:]}  # under the POD NAME header
    assert seen == {"pa", "pb"}, out


def test_several_images_in_one_save_and_one_rmi_through_podman_remote(remote, pypod, tmp_path):
    """`save -m a b` and `rmi a b` send each name as its own parameter
    (references=..&references=.., images=..&images=..): all are taken."""
    pypod("tag", "busybox", "one:1")
    pypod("tag", "busybox", "two:2")
    archive = tmp_path / "both.tar"
    remote("save", "-m", "-o", str(archive), "one:1", "two:2")
    with tarfile.open(archive) as t:
        tags = [tag for entry in json.load(t.extractfile("manifest.json")) for tag in entry.get("RepoTags") or ()]
    assert {"localhost/one:1", "localhost/two:2"} <= set(tags), tags
    remote("rmi", "one:1", "two:2")
    left = pypod.out("images", "--format", "{{.Repository}}:{{.Tag}}").split()
    assert "localhost/one:1" not in left and "localhost/two:2" not in left and "localhost/busybox:latest" in left
