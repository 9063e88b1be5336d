"""commit and stats from the command line, on real containers."""

from __future__ import annotations

import json
import os

from tests.conftest import wait_for


def test_commit_layer_config_and_errors(pypod, tmp_path):
    pypod("run", "--name", "c", "-e", "MINE=1", "-v", "/anon", "--label", "who=me", "busybox", "sh", "-c",
          "rm /bin/ls; mkdir -p /opt/app; echo data > /opt/app/f; rm -rf /usr/sbin; touch /etc/hostname")
    images_before = pypod.out("images", "-q", "--no-trunc")
    # bad input changes nothing
    for args, words in ((["-c", "RUN x"], b'invalid change "RUN x" - invalid instruction RUN'),
                        (["-m", "why"], b"messages are only compatible with the docker image format"),
                        (["--format", "tar"], b"unrecognized image format")):
        p = pypod("commit", *args, "c", "bad", check=False)
        assert p.returncode == 125 and words in p.stderr, p.stderr
    p = pypod("commit", "nosuch", "bad", check=False)
    assert p.returncode == 125 and b"no such container" in p.stderr
    assert pypod.out("images", "-q", "--no-trunc") == images_before
    iid = pypod.out("commit", "-q", "-f", "docker", "-m", "a message", "-a", "Ann <a@x>", "-c", "EXPOSE 8080",
                    "-c", 'CMD ["cat", "/opt/app/f"]', "-c", "ENV MORE=2", "--iidfile", str(tmp_path / "iid"),
                    "c", "committed:v1")
    assert (tmp_path / "iid").read_text() == "sha256:" + iid
    info = json.loads(pypod.out("image", "inspect", "committed:v1"))[0]
    cfg = info["Config"]
    assert cfg["Cmd"] == ["cat", "/opt/app/f"] and cfg["ExposedPorts"] == {"8080/tcp": {}}
    assert "MINE=1" in cfg["Env"] and "MORE=2" in cfg["Env"] and cfg["Labels"]["who"] == "me"
    assert cfg["Volumes"] == {"/anon": {}}  # the anonymous volume the user added, as podman keeps it
    assert info["Author"] == "Ann <a@x>" and info["History"][-1]["comment"] == "a message"
    assert (info["Comment"], info["ManifestType"]) == ("a message", "application/vnd.docker.distribution.manifest.v2+json")
    base_layers = json.loads(pypod.out("image", "inspect", "busybox"))[0]["RootFS"]["Layers"]
    assert info["RootFS"]["Layers"][:-1] == base_layers and len(info["RootFS"]["Layers"]) == len(base_layers) + 1
    # the new image runs with the container's changes: files added and removed
    assert pypod.out("run", "--rm", "committed:v1") == "data"
    p = pypod("run", "--rm", "committed:v1", "sh", "-c", "ls /bin/ls; ls -d /usr/sbin; ls -d /bin/sh", check=False)
    assert b"/bin/sh" in p.stdout and b"/bin/ls" not in p.stdout and b"/usr/sbin" not in p.stdout
    # what diff shows is what the layer holds; the engine's own mount points are left out
    changes = pypod.out("image", "diff", "committed:v1").splitlines()
    assert "A /opt/app/f" in changes and "D /bin/ls" in changes and "D /usr/sbin" in changes
    assert not any(c.endswith(("/run/.containerenv", "/proc", "/sys", "/dev")) for c in changes)
    # squash: one layer holding everything
    pypod("commit", "-q", "--squash", "c", "flat")
    flat = json.loads(pypod.out("image", "inspect", "flat"))[0]
    assert len(flat["RootFS"]["Layers"]) == 1 and flat["Config"]["Cmd"][0] == "sh"
    assert pypod.out("run", "--rm", "flat", "cat", "/opt/app/f") == "data"
    events = pypod.out("events", "--stream=false", "--filter", "event=commit", "--format", "{{.Name}}")
    assert events.splitlines() == ["c", "c"]


def test_commit_a_running_container_with_pause(pypod):
    pypod("run", "-d", "--name", "r", "busybox", "sh", "-c", "echo live > /live; sleep 1000")
    assert wait_for(lambda: pypod("exec", "r", "test", "-f", "/live", check=False).returncode == 0)
    pypod("commit", "-q", "--pause", "r", "fromrunning")
    assert pypod.out("inspect", "--format", "{{.State.Status}}", "r") == "running"
    assert pypod.out("run", "--rm", "fromrunning", "cat", "/live") == "live"
    pypod("rm", "-f", "-t", "0", "r")


def test_commit_a_container_never_started(pypod):
    """Nothing mounted yet, nothing changed: an image with an empty layer on
    top (Cockpit's page offers Commit for created containers too)."""
    cid = pypod.out("create", "--name", "fresh", "busybox", "echo", "from the commit")
    pypod("commit", "-q", cid, "localhost/fresh:1")
    assert pypod.out("run", "--rm", "localhost/fresh:1") == "from the commit"


def test_stats_of_running_containers(pypod):
    pypod("run", "-d", "--name", "s1", "busybox", "sh", "-c", "cat /dev/zero | head -c 2000000 > /tmp/x; sleep 1000")
    pypod("create", "--name", "idle", "busybox", "true")
    assert wait_for(lambda: pypod("exec", "s1", "test", "-s", "/tmp/x", check=False).returncode == 0)
    table = pypod.out("stats", "--no-stream").splitlines()
    assert table[0].split() == ["ID", "NAME", "CPU", "%", "MEM", "USAGE", "/", "LIMIT", "MEM", "%", "NET", "IO",
                                "BLOCK", "IO", "PIDS", "CPU", "TIME", "AVG", "CPU", "%"]
    assert len(table) == 2 and table[1].split()[1] == "s1"  # running ones only
    rows = json.loads(pypod.out("stats", "--no-stream", "--format", "json", "s1"))
    assert rows[0]["name"] == "s1" and int(rows[0]["pids"]) >= 1
    usage, limit = rows[0]["mem_usage"].split(" / ")
    assert usage != "0B" and limit != "0B"
    out = pypod.out("stats", "--no-stream", "--no-trunc", "--format", "{{.ContainerID}} {{.PIDs}} {{.CPUNano}} {{.MemLimit}}", "s1")
    cid, pids, cpu_ns, mem_limit = out.split()
    assert len(cid) == 64 and int(pids) >= 1 and int(cpu_ns) > 0 and int(mem_limit) > 0
    # the kernel's own numbers: the memory cgroup of the container's process
    pid = pypod.out("inspect", "--format", "{{.State.Pid}}", "s1")
    with open(f"/proc/{pid}/cgroup") as f:
        assert any(line.split(":")[1] in ("memory", "") for line in f)
    every = [line.split() for line in pypod.out("stats", "--no-stream", "-a", "--format", "{{.Name}} {{.PIDS}}").splitlines()]
    assert [n for n, _ in every] == ["s1", "idle"] and int(every[0][1]) >= 1 and every[1][1] == "0"
    p = pypod("stats", "--no-stream", "--interval", "0", check=False)
    assert p.returncode == 125 and b"cannot be less than 1 second" in p.stderr
    p = pypod("stats", "--no-stream", "nosuch", check=False)
    assert p.returncode == 125 and b"no such container" in p.stderr
    assert os.path.isdir(f"/proc/{pid}")
    pypod("rm", "-f", "-t", "0", "s1")
