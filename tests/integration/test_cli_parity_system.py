"""The whole-store commands with podman's flags on real containers: system
df, prune, migrate, renumber and reset; generate systemd and spec; unshare
as root; the service's --cors headers."""

from __future__ import annotations

import json
import os
import subprocess

from tests.conftest import wait_for
from tests.integration.test_api import raw
from tests.integration.test_api_service import PING, _start, _stop


def _df(pypod) -> dict:
    return {line["Type"]: line for line in json.loads(pypod.out("system", "df", "--format", "json"))}


def test_df_prune_migrate_renumber_reset(pypod, tmp_path):
    web = pypod.out("run", "-d", "--name", "web", "-v", "data:/data", "busybox", "sh", "-c",
                    "head -c 100000 /dev/zero > /big; sleep 1000")
    done = pypod.out("create", "--name", "done", "busybox", "true")
    pypod("volume", "create", "spare")
    assert wait_for(lambda: pypod.out("exec", "web", "sh", "-c", "test -s /big && echo ok") == "ok")

    df = _df(pypod)
    assert (df["Images"]["Total"], df["Images"]["Active"]) == (1, 1)
    assert (df["Containers"]["Total"], df["Containers"]["Active"]) == (2, 1)
    assert df["Containers"]["RawSize"] >= 100000 and df["Containers"]["RawReclaimable"] < 100000
    assert (df["Local Volumes"]["Total"], df["Local Volumes"]["Active"]) == (2, 1)
    table = pypod.out("system", "df").splitlines()
    assert table[0].split() == ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"] and len(table) == 4
    assert pypod.out("system", "df", "--format", "{{.Type}}={{.Total}}").splitlines() == \
        ["Images=1", "Containers=2", "Local Volumes=2"]
    verbose = pypod.out("system", "df", "-v")
    assert "Images space usage:" in verbose and "localhost/busybox" in verbose
    assert web[:12] in verbose and done[:12] in verbose and "spare" in verbose
    p = pypod("system", "df", "-v", "--format", "json", check=False)
    assert p.returncode == 125 and b"cannot combine --format and --verbose flags" in p.stderr

    # prune: bad filters first, state unchanged
    p = pypod("system", "prune", "-f", "--filter", "colour=red", check=False)
    assert p.returncode == 125 and b"colour is an invalid filter" in p.stderr
    assert len(pypod.out("ps", "-aq").split()) == 2
    # without --volumes volumes stay; the running container and its image stay
    out = pypod.out("system", "prune", "-f")
    assert out.splitlines()[:2] == ["Deleted Containers", done] and out.splitlines()[-1].startswith("Total reclaimed space:")
    assert pypod.out("ps", "-aq", "--no-trunc").split() == [web]
    assert sorted(pypod.out("volume", "ls", "-q").split()) == ["data", "spare"]
    out = pypod.out("system", "prune", "-f", "--volumes")
    assert "Deleted Volumes\nspare" in out and pypod.out("volume", "ls", "-q").split() == ["data"]
    assert pypod.out("images", "-q")  # still used by web

    # migrate: an unknown runtime changes nothing; a known one is recorded
    p = pypod("system", "migrate", "--new-runtime", "no-such-runtime", check=False)
    assert p.returncode == 125 and b'"no-such-runtime" not found' in p.stderr
    pypod("stop", "-t", "0", "web")
    pypod("system", "migrate", "--new-runtime", "runc")
    rec = pypod.engine().store.get_container(web)[0]
    assert rec["runtime"] == "runc"
    assert pypod.out("start", "web") == "web" and pypod.out("inspect", "-f", "{{.State.Status}}", "web") == "running"
    pypod("stop", "-t", "0", "web")

    # renumber: the lock file of a container that is gone goes, a live one's stays
    locks = pypod.engine().config.locks_dir
    stale = os.path.join(locks, "f" * 64 + ".lock")
    open(stale, "w").close()
    live = [n for n in os.listdir(locks) if n.startswith(web)]
    pypod("system", "renumber")
    assert not os.path.exists(stale) and all(os.path.exists(os.path.join(locks, n)) for n in live)

    # reset: nothing is left, and pypod works on the empty root afterwards
    pypod("system", "reset", "-f")
    assert pypod.out("ps", "-aq") == "" and pypod.out("volume", "ls", "-q") == ""
    assert pypod.out("images", "-q", "--filter", "reference=busybox") == ""
    assert pypod.out("run", "--rm", "busybox", "echo", "again") == "again"


def test_generate_systemd_and_spec(pypod, tmp_path):
    cid = pypod.out("create", "--name", "svc", "--stop-timeout", "7", "-e", "A=b c", "busybox", "sleep", "1000")
    unit = pypod.out("generate", "systemd", "--name", "--restart-policy", "always", "--restart-sec", "3",
                     "--wants", "x.service", "--after", "y.service", "-e", "K=V", "svc")
    lines = unit.splitlines()
    assert lines[0] == "# container-svc.service"
    for want in ("Restart=always", "RestartSec=3", "TimeoutStopSec=67", "Wants=x.service", "After=y.service",
                 "Environment=K=V", "Type=forking", "ExecStart=" + pypod.argv[0] + " start svc"):
        assert want in lines, want
    pidfile = next(x for x in lines if x.startswith("PIDFile="))[len("PIDFile="):]
    pypod("start", "svc")
    with open(pidfile) as f:  # the PID file the unit names is conmon's
        conmon_pid = int(f.read())
    assert os.path.basename(os.readlink(f"/proc/{conmon_pid}/exe")) == "conmon"
    pypod("stop", "-t", "0", "svc")

    new = pypod.out("generate", "systemd", "--new", "--no-header", "svc")
    assert new.splitlines()[1] == "" and "Type=notify" in new and "--cidfile=%t/%n.ctr-id" in new
    start = next(x for x in new.split("\n\n")[2].split("\nExec") if x.startswith("Start="))
    words = start.replace("\\\n\t", "").split()
    assert words[1:5] == ["--root", pypod.root, "--runroot", pypod.runroot]
    assert "--replace" in words and words[-3:] == ["busybox", "sleep", "1000"] and '"A=b' in words

    files = json.loads(pypod.out("generate", "systemd", "--files", "--format", "json", "-n", "svc", cwd=tmp_path))
    path = files["container-svc"]
    assert path == str(tmp_path / "container-svc.service") and open(path).read().startswith("# container-svc.service")
    for args, words in ((["--template", "svc"], b"--template cannot be set without --new"),
                        (["--restart-policy", "sometimes", "svc"], b"sometimes is not a valid restart policy"),
                        (["nosuch"], b'no container with name or ID "nosuch" found')):
        p = pypod("generate", "systemd", *args, check=False)
        assert p.returncode == 125 and words in p.stderr, p.stderr

    spec = json.loads(pypod.out("generate", "spec", "svc"))
    assert spec["name"] == "svc" and spec["command"] == ["sleep", "1000"] and spec["env"]["A"] == "b c"
    assert spec["stop_timeout"] == 7 and spec["image"] == "busybox"
    assert json.loads(pypod.out("generate", "spec", "-n", "-c", "svc"))["name"] == "svc-clone"
    assert spec["containerCreateCommand"][-3:] == ["busybox", "sleep", "1000"]
    assert pypod.out("inspect", "-f", "{{.Id}}", "svc") == cid


def test_unshare_needs_rootless(pypod):
    p = pypod("unshare", "true", check=False)
    assert p.returncode == 125 and p.stderr.strip() == b"Error: please use unshare with rootless"


def test_service_cors_headers(pypod, tmp_path):
    sock = str(tmp_path / "c.sock")
    proc = _start(pypod, "--time", "0", "--cors", "https://ui.example", f"unix://{sock}")
    try:
        assert wait_for(lambda: os.path.exists(sock), timeout=15)
        head = raw(sock, PING).split(b"\r\n\r\n")[0].lower()
        assert b"access-control-allow-origin: https://ui.example" in head
    finally:
        assert _stop(proc) == 0
    plain = subprocess.Popen([*pypod.argv, "system", "service", "--time", "0", f"unix://{sock}"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: os.path.exists(sock), timeout=15)
        assert b"access-control" not in raw(sock, PING).lower()
    finally:
        _stop(plain)


def test_secret_labels_options_pretty_and_filters(pypod):
    sid = pypod.out("secret", "create", "--label", "team=db", "--driver-opts", "opt=1", "tok", "-", input=b"s3cr3t")
    pypod("secret", "create", "other", "-", input=b"x")
    spec = json.loads(pypod.out("secret", "inspect", "tok"))[0]["Spec"]
    assert spec["Labels"] == {"team": "db"} and spec["Driver"]["Options"] == {"opt": "1"}
    pretty = pypod.out("secret", "inspect", "--pretty", "tok").splitlines()
    assert pretty[0].split() == ["ID:", sid] and " - team=db" in pretty and pretty[-1].startswith("Updated at:")
    assert pypod.out("secret", "ls", "--filter", "name=other", "--format", "{{.Name}}") == "other"
    assert pypod.out("secret", "ls", "--filter", f"id={sid[:6]}", "-q") == sid
    assert "ago" in pypod.out("secret", "ls").splitlines()[1]
    for args, words in ((["ls", "--filter", "colour=red"], b'invalid filter "colour"'),
                        (["inspect", "--pretty", "--format", "{{.ID}}", "tok"], b"--format and --pretty cannot be used together")):
        p = pypod("secret", *args, check=False)
        assert p.returncode == 125 and words in p.stderr


def test_cleanup_rmi(pypod):
    pypod("run", "--name", "once", "busybox", "true")
    p = pypod("container", "cleanup", "--rmi", "once", check=False)  # the container itself still uses it
    assert p.returncode == 125 and b"image is in use by a container" in p.stderr and pypod.out("images", "-q")
    p = pypod("container", "cleanup", "--exec", "x", "--rmi", "once", check=False)
    assert p.returncode == 125 and b"mutually exclusive" in p.stderr
    pypod("container", "cleanup", "--rm", "--rmi", "once")
    assert pypod.out("ps", "-aq") == "" and pypod.out("images", "-q") == ""
