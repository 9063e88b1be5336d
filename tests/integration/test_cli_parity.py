"""podman's meaning for the flags of the container commands beyond run and
create, checked on real containers (a few containers, many checks each)."""

from __future__ import annotations

import json
import os
import subprocess
import time

from pypod.engine.container import ContainerConfig
from tests.conftest import wait_for


def _state(pypod, name: str) -> str:
    for c in json.loads(pypod.out("ps", "-a", "--format", "json")):
        if c["Names"] == [name]:
            return c["State"]
    return ""


def test_lifecycle_targets(pypod, tmp_path):
    a = pypod.out("run", "-d", "--name", "a", "-l", "tier=front", "busybox", "sleep", "1000")
    pypod("run", "-d", "--name", "b", "busybox", "sleep", "1000")
    c = pypod.out("create", "--name", "c", "busybox", "sleep", "1000")

    # One unknown name fails the whole command before anything is done.
    p = pypod("stop", "-t", "0", "b", "nosuch", check=False)
    assert p.returncode == 125 and b'no container with name or ID "nosuch" found' in p.stderr
    assert _state(pypod, "b") == "running"
    # --ignore skips it; the names given are printed.
    p = pypod("stop", "--ignore", "--time", "0", "nosuch", "b")
    assert p.returncode == 0 and p.stdout == b"b\n" and _state(pypod, "b") == "exited"
    # --filter acts on what matches and prints IDs.
    assert pypod.out("stop", "--timeout", "0", "--filter", "label=tier=front") == a
    assert pypod.out("start", "--filter", "name=^a$") == a and _state(pypod, "a") == "running"
    p = pypod("start", "--filter", "name=a", "b", check=False)
    assert p.returncode == 125 and b"--filter takes no arguments" in p.stderr
    # --cidfile reads the ID from a file.
    cidfile = tmp_path / "cid"
    cidfile.write_text(a + "\n")
    assert pypod.out("kill", "--cidfile", str(cidfile), "-s", "KILL") == a
    wait_for(lambda: _state(pypod, "a") == "exited")
    p = pypod("kill", "c", check=False)
    assert p.returncode == 125 and b"can only kill running containers" in p.stderr
    # --all passes over containers in the wrong state quietly.
    pypod("start", "a", "b")
    assert sorted(pypod.out("pause", "--all").split()) == sorted([a, pypod.out("inspect", "-f", "{{.Id}}", "b")])
    assert _state(pypod, "a") == "paused"
    assert len(pypod.out("unpause", "-a").split()) == 2 and _state(pypod, "b") == "running"
    # restart --running leaves the created one alone.
    started = pypod.out("inspect", "-f", "{{.State.StartedAt}}", "a")
    assert len(pypod.out("restart", "--running", "-t", "0").split()) == 2
    assert pypod.out("inspect", "-f", "{{.State.StartedAt}}", "a") != started and _state(pypod, "c") == "created"
    # init makes the runtime container without starting it; exists says so by exit code.
    assert pypod.out("container", "init", "c") == "c"
    assert pypod.out("inspect", "-f", "{{.State.Status}}", "c") == "created"
    assert pypod("container", "exists", "c").returncode == 0
    assert pypod("container", "exists", "nosuch", check=False).returncode == 1
    # wait --condition: for a state other than an exit, polled at --interval.
    waiter = subprocess.Popen([*pypod.argv, "wait", "--condition", "running", "--interval", "50ms", "c"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    pypod("start", "c")
    out, err = waiter.communicate(timeout=60)
    assert waiter.returncode == 0 and out == b"0\n", err
    pypod("kill", "c")
    assert pypod.out("wait", "-i", "100", "c") == "137"
    p = pypod("wait", "--condition", "sleeping", "c", check=False)
    assert p.returncode == 125 and b"unknown container state" in p.stderr
    # rm: exit 2 for a running one, 1 for a missing one; -f with a missing name is fine.
    assert pypod("rm", "a", check=False).returncode == 2
    assert pypod("rm", "nosuch", check=False).returncode == 1
    assert pypod("rm", "--time", "0", "a", check=False).returncode == 125
    assert pypod("rm", "-f", "nosuch").returncode == 0
    assert pypod("rm", "--ignore", "nosuch").stdout == b""
    assert pypod.out("rm", "--filter", "status=exited", "--force") == c


def test_rm_depend(pypod):
    base = pypod.out("create", "--name", "base", "busybox", "true")
    eng = pypod.engine()
    try:
        dep = eng.create_container(ContainerConfig(image="busybox", command=["true"], name="dep", depends_on=[base]))
    finally:
        eng.close()
    p = pypod("rm", "base", check=False)
    assert p.returncode == 125 and f"has dependent containers which must be removed before it: {dep.id}".encode() in p.stderr
    assert pypod.out("rm", "--depend", "base").split() == [dep.id, "base"]
    assert pypod.out("ps", "-aq") == ""


def test_stop_waits_as_stopping_without_holding_others_up(pypod):
    # sh as PID 1 ignores SIGTERM: only SIGKILL ends it.
    pypod("run", "-d", "--name", "slow", "busybox", "sh", "-c", "sleep 1000")
    p = pypod("stop", "-t", "1", "slow")
    assert b"level=warning" in p.stderr and b"StopSignal SIGTERM failed to stop container slow in 1 seconds, resorting to SIGKILL" in p.stderr
    assert pypod.out("inspect", "-f", "{{.State.ExitCode}}", "slow") == "137"
    pypod("start", "slow")
    stopper = subprocess.Popen([*pypod.argv, "stop", "-t", "600", "slow"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert wait_for(lambda: _state(pypod, "slow") == "stopping", timeout=30)
        assert pypod.out("ps", "--format", "{{.Status}}") == "Stopping"
        # kill is not held up by the waiting stop, and ends it.
        pypod("kill", "slow")
        out, _err = stopper.communicate(timeout=120)
    finally:
        stopper.kill()
    assert stopper.returncode == 0 and out == b"slow\n"
    assert _state(pypod, "slow") == "exited"


def test_ps_flags(pypod, tmp_path):
    vol = tmp_path / "v"
    vol.mkdir()
    a = pypod.out("run", "-d", "--name", "pa", "-l", "app=x", "-v", f"{vol}:/data", "busybox",
                  "sh", "-c", "head -c 20000 /dev/zero > /blob; sleep 1000")
    pypod("run", "--name", "pb", "busybox", "sh", "-c", "exit 3", check=False)
    b = pypod.out("inspect", "-f", "{{.Id}}", "pb")
    c = pypod.out("create", "--name", "pc", "busybox", "true")
    ids = lambda *args: pypod.out("ps", "-q", "--no-trunc", *args).split()  # noqa: E731
    assert ids() == [a]  # running only
    assert ids("-a") == [a, b, c]  # oldest first
    assert ids("--filter", "name=p[ab]") == [a]  # filters keep the running-only rule...
    assert ids("--filter", "status=exited") == [b]  # ...except status
    assert ids("-a", "--filter", "exited=3") == [b]
    assert ids("-a", "--filter", "label=app=x") == [a]
    assert ids("-a", "--filter", f"volume={vol}") == [a]
    assert ids("-a", "--filter", "volume=/nowhere") == []
    assert ids("-a", "--filter", "before=pc", "--filter", "since=pa") == [b]
    assert ids("-a", "--filter", f"id={c[:10]}") == [c]
    assert ids("-a", "--filter", "ancestor=busybox") == [a, b, c]
    assert ids("-a", "--filter", "until=1h") == []
    assert ids("-a", "--sort", "names") == [a, b, c] and ids("-a", "--sort", "status") == [c, b, a]
    assert ids("--last", "2") == [b, c] and ids("--latest") == [c]
    assert pypod.out("ps", "-a", "-q", "--filter", "name=pb") == b[:12]
    for bad, msg in ((("--filter", "bogus=1"), b"bogus is an invalid filter"), (("--sort", "nope"), b"invalid option for --sort"),
                     (("-q", "--size"), b"quiet conflicts with size"), (("--last", "1", "--latest"), b"mutually exclusive"),
                     (("--filter", "status=sleeping"), b"unknown container state")):
        p = pypod("ps", *bad, check=False)
        assert p.returncode == 125 and msg in p.stderr, (bad, p.stderr)
    # --size: the writable layer holds the 20000-byte file.
    listed = json.loads(pypod.out("ps", "--size", "--format", "json"))
    assert listed[0]["Size"]["rwSize"] >= 20000 and listed[0]["Size"]["rootFsSize"] > listed[0]["Size"]["rwSize"]
    size_col = pypod.out("ps", "--size", "--format", "{{.Size}}")
    assert size_col.startswith("20") and "(virtual " in size_col
    # --ns: the namespace IDs are the container process's.
    listed = json.loads(pypod.out("ps", "--ns", "--format", "json"))
    pid = listed[0]["Pid"]
    assert listed[0]["Namespaces"]["Pidns"] == os.readlink(f"/proc/{pid}/ns/pid").split("[")[1].rstrip("]")
    header = pypod.out("ps", "--ns").splitlines()[0].split()
    assert header == ["CONTAINER", "ID", "NAMES", "PID", "CGROUPNS", "IPC", "MNT", "NET", "PIDNS", "USERNS", "UTS"]
    # every field podman's templates offer
    fields = ("ID Image ImageID Command CreatedHuman Created CreatedAt RunningFor Status State Ports Names Labels Mounts "
              "Networks Pod PodName Pid ExitCode Exited ExitedAt StartedAt AutoRemove IsInfra Namespaces.PIDNS").split()
    line = pypod.out("ps", "--format", "|".join("{{." + f + "}}" for f in fields))
    values = dict(zip(fields, line.split("|")))
    assert values["ID"] == a[:12] and values["Names"] == "pa" and values["Labels"] == "map[app:x]"
    assert values["Mounts"] == "[/data]" and values["Status"].startswith("Up ") and values["ExitCode"] == "0"
    assert values["Created"].endswith("+0000 UTC") and values["Command"] == "sh -c head -c 200..."
    table = pypod.out("ps", "-a", "--format", "table {{.Names}}\t{{.Status}}").splitlines()
    assert table[0].split() == ["NAMES", "STATUS"] and table[2].startswith("pb") and "Exited (3)" in table[2]
    assert pypod.out("ps", "-a", "--noheading", "--format", "table {{.Names}}").split() == ["pa", "pb", "pc"]
    # --external: a writable layer no container owns (left by a crash).
    orphan = tmp_path / "root" / "storage" / "overlay-containers" / ("e" * 64)
    orphan.mkdir(parents=True)
    ext = [e for e in json.loads(pypod.out("ps", "--external", "--format", "json")) if e["Id"] == "e" * 64]
    assert ext and ext[0]["State"] == "storage" and ext[0]["Command"] == ["storage"]
    assert pypod("container", "exists", "--external", "e" * 64).returncode == 0
    orphan.rmdir()
    # --watch redraws until stopped.
    w = subprocess.Popen([*pypod.argv, "ps", "--watch", "1", "--format", "{{.Names}}"], stdout=subprocess.PIPE)
    try:
        first = w.stdout.read(len(b"\x1b[2J\x1b[Hpa\n"))
    finally:
        w.kill()
        w.wait()
    assert first == b"\x1b[2J\x1b[Hpa\n"


def test_logs_of_several_containers_in_time_order(pypod, tmp_path):
    # Two containers take turns through marker files in a shared directory,
    # so their lines are written in a known order: a1 b1 a2 b2 a3 b3.
    sync = tmp_path / "sync"
    sync.mkdir()
    turn = "while [ ! -e /s/{w} ]; do sleep 0.02; done; "
    a_script = "echo a1; touch /s/a1; " + turn.format(w="b1") + "echo a2; touch /s/a2; " + turn.format(w="b2") + "echo a3"
    b_script = turn.format(w="a1") + "echo b1; touch /s/b1; " + turn.format(w="a2") + "echo b2; touch /s/b2; sleep 0.2; echo b3"
    pypod("run", "-d", "--name", "la", "-v", f"{sync}:/s", "busybox", "sh", "-c", a_script)
    pypod("run", "-d", "--name", "lb", "-v", f"{sync}:/s", "busybox", "sh", "-c", b_script)
    pypod("wait", "la", "lb")
    ida, idb = (pypod.out("inspect", "-f", "{{.Id}}", n)[:12] for n in ("la", "lb"))
    lines = pypod.out("logs", "la", "lb").splitlines()
    assert lines == [f"{ida} a1", f"{idb} b1", f"{ida} a2", f"{idb} b2", f"{ida} a3", f"{idb} b3"]
    assert pypod.out("logs", "--names", "la", "lb").splitlines()[:2] == ["la a1", "lb b1"]
    assert pypod.out("logs", "la") == "a1\na2\na3"  # one container: no prefix
    colored = pypod("logs", "--color", "-n", "la", "lb").stdout
    assert colored.startswith(b"\x1b[37mla a1\x1b[0m\n\x1b[31mlb b1\x1b[0m\n")
    stamped = pypod.out("logs", "-t", "lb").splitlines()
    t2 = stamped[1].split()[0]
    assert stamped[1].endswith(" b2") and t2.endswith("Z")
    assert pypod.out("logs", "--since", t2, "lb") == "b3" and pypod.out("logs", "--until", t2, "lb") == "b1"
    assert pypod.out("logs", "--tail", "1", "la", "lb").splitlines() == [f"{ida} a3", f"{idb} b3"]
    p = pypod("logs", "--since", "yesterday-ish", "la", check=False)
    assert p.returncode == 125 and b'parsing --since "yesterday-ish"' in p.stderr
    # --follow over several: everything, then it ends when they have stopped.
    assert sorted(pypod.out("logs", "-f", "-n", "la", "lb").splitlines()) == sorted(f"l{x} {x}{i}" for x in "ab" for i in (1, 2, 3))


def test_events_filters_formats_and_times(pypod):
    pypod("run", "--name", "ev", "-l", "team=blue", "busybox", "true")
    past = lambda *args: pypod.out("events", "--stream=false", *args).splitlines()  # noqa: E731
    statuses = past("--filter", "container=ev", "--format", "{{.Status}}")
    assert statuses[:3] == ["create", "init", "start"] and "died" in statuses
    assert past("--filter", "event=start", "--filter", "label=team=blue", "--format", "{{.Name}}") == ["ev"]
    assert past("--filter", "type=image") == []
    died = [json.loads(x) for x in past("--format", "json", "--filter", "event=died")]
    assert died[0]["ContainerExitCode"] == 0 and died[0]["Name"] == "ev" and died[0]["Attributes"] == {"team": "blue"}
    start = past("--filter", "event=start")[0]
    assert " container start " in start and start.endswith("(image=localhost/busybox:latest, name=ev, team=blue)")
    assert past("--until", "1970-01-02") == []
    assert past("--since", "1h", "--filter", "event=start", "--format", "{{.Name}}") == ["ev"]
    # A stream without --since shows only what happens from now on; --until ends it.
    until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 4))
    s = subprocess.Popen([*pypod.argv, "events", "--until", until, "--format", "{{.Status}} {{.Name}}"],
                         stdout=subprocess.PIPE)
    s2 = subprocess.Popen([*pypod.argv, "events", "--format", "{{.Status}} {{.Name}}", "--filter", "event=remove"],
                          stdout=subprocess.PIPE)
    time.sleep(1)
    pypod("rm", "ev")
    out, _ = s.communicate(timeout=60)
    assert b"remove ev" in out and b"create ev" in out  # --until: from the start, to that time
    line = s2.stdout.readline()
    s2.kill()
    s2.wait()
    assert line == b"remove ev\n"
    p = pypod("events", "--filter", "bogus=1", "--stream=false", check=False)
    assert p.returncode == 125 and b"bogus is an invalid filter" in p.stderr


def test_inspect_types(pypod):
    pypod("create", "--name", "insp", "busybox", "true")
    cid = pypod.out("inspect", "-f", "{{.ID}}", "insp")
    img = pypod.out("inspect", "--type", "image", "-f", "{{.Id}}", "busybox")
    assert pypod.out("inspect", "-f", "{{.Id}}", "busybox") == img  # all: the first kind that has it
    assert pypod.out("inspect", "-l", "--format", "{{.Name}}") == "insp"
    p = pypod("inspect", "--type", "container", "busybox", check=False)
    assert p.returncode == 125 and p.stdout == b"[]\n" and b"Error: inspecting object: no such container busybox" in p.stderr
    p = pypod("inspect", "--type", "image", "insp", check=False)
    assert p.returncode == 125 and b"insp: image not known" in p.stderr
    p = pypod("inspect", "insp", "nosuch1", "nosuch2", check=False)
    data = json.loads(p.stdout)
    assert len(data) == 1 and data[0]["Id"] == cid
    assert b'error inspecting object: no such object: "nosuch2"' in p.stderr
    assert b'Error: inspecting object: no such object: "nosuch1"' in p.stderr
    assert p.stdout.startswith(b'[\n     {\n          "Id"')  # podman's five-space indent
    sized = json.loads(pypod.out("inspect", "--size", "insp"))[0]
    assert sized["SizeRw"] >= 0 and sized["SizeRootFs"] >= sized["SizeRw"]
    assert "SizeRw" not in json.loads(pypod.out("inspect", "insp"))[0]
    p = pypod("inspect", "--type", "thing", "insp", check=False)
    assert p.returncode == 125 and b'invalid type "thing"' in p.stderr


def test_global_flags_take_effect(pypod, tmp_path):
    # --hooks-dir: a prestart hook gets the state on stdin, a poststop hook runs at cleanup.
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    marks = tmp_path / "marks"
    marks.mkdir()
    (hooks / "a.json").write_text(json.dumps({
        "version": "1.0.0", "hook": {"path": "/bin/sh", "args": ["sh", "-c", f"cat > {marks}/prestart"]},
        "when": {"always": True}, "stages": ["prestart"]}))
    (hooks / "b.json").write_text(json.dumps({
        "version": "1.0.0", "hook": {"path": "/bin/sh", "args": ["sh", "-c", f"echo ran >> {marks}/poststop"]},
        "when": {"commands": ["^echo$"]}, "stages": ["poststop"]}))
    assert pypod.out("--hooks-dir", str(hooks), "run", "--name", "hooked", "busybox", "echo", "hi") == "hi"
    assert json.loads((marks / "prestart").read_text())["id"] == pypod.out("inspect", "-f", "{{.Id}}", "hooked")
    pypod("--hooks-dir", str(hooks), "rm", "hooked")
    assert (marks / "poststop").read_text() == "ran\n"
    (hooks / "c.json").write_text("{not json")
    p = pypod("--hooks-dir", str(hooks), "run", "--rm", "busybox", "true", check=False)
    assert p.returncode == 125 and b"parsing hook" in p.stderr and b"c.json" in p.stderr
    # --runtime-flag reaches every runtime call, conmon's included.
    wrapper = tmp_path / "rt.sh"
    wrapper.write_text(f"#!/bin/sh\necho \"$@\" >> {tmp_path}/rt.args\nexec runc \"$@\"\n")
    wrapper.chmod(0o755)
    pypod("--runtime", str(wrapper), "--runtime-flag", "debug", "run", "--rm", "busybox", "true")
    calls = (tmp_path / "rt.args").read_text().splitlines()
    assert all(c.startswith("--debug ") for c in calls), calls
    assert any(" create " in c for c in calls) and any(" start " in c for c in calls)
    # --namespace: containers made in one are seen only in it.
    pypod("--namespace", "ns1", "create", "--name", "in-ns1", "busybox", "true")
    assert pypod.out("--namespace", "ns2", "ps", "-aq") == ""
    assert pypod("--namespace", "ns2", "rm", "in-ns1", check=False).returncode == 1
    assert pypod.out("ps", "-a", "--namespace", "ns1", "--format", "{{.Names}}") == "in-ns1"
    # --noout, --tmpdir, --events-backend
    assert pypod("--noout", "ps", "-a").stdout == b""
    pypod("--tmpdir", str(tmp_path / "tmp"), "rm", "in-ns1")
    assert b'"action":"remove"' in (tmp_path / "tmp" / "events" / "events.log").read_bytes()
    assert "in-ns1" not in pypod.out("events", "--stream=false", "--filter", "event=remove", "--format", "{{.Name}}")
    p = pypod("--events-backend", "none", "events", check=False)
    assert p.returncode == 125 and b'cannot read events with the "none" backend' in p.stderr
    for flags, msg in ((("--events-backend", "journald"), b"needs a running journald"), (("--syslog",), b"/dev/log"),
                       (("--events-backend", "carrier-pigeon"), b"unable to parse events backend"),
                       (("--storage-driver", "btrfs"), b"unknown storage driver"),
                       (("--storage-opt", "overlay.size=1G"), b"unsupported storage option"),
                       (("--conmon", "/nonexistent/conmon"), b"not an executable file")):
        if flags == ("--syslog",) and os.path.exists("/dev/log"):
            continue
        p = pypod(*flags, "ps", check=False)
        assert p.returncode == 125 and msg in p.stderr, (flags, p.stderr)
    # --storage-opt overlay.mountopt: flags and options of the rootfs mount.
    opts = pypod.out("--storage-opt", "overlay.mountopt=noatime", "run", "--rm", "busybox", "sh", "-c",
                     "grep ' / / ' /proc/self/mountinfo")
    assert "noatime" in opts.split()[5]


def test_vfs_storage_driver(pypod, tmp_path):
    vfs = ["--root", str(tmp_path / "vroot"), "--runroot", str(tmp_path / "vrun"), "--storage-driver", "vfs"]
    argv = [pypod.argv[0], *vfs]
    run = lambda *a, **kw: subprocess.run([*argv, *a], capture_output=True, timeout=120, **kw)  # noqa: E731
    try:
        p = run("run", "--name", "v", "busybox", "sh", "-c", "echo data > /f; cat /f; awk '$2 == \"/\"' /proc/mounts")
        assert p.returncode == 0, p.stderr
        out = p.stdout.decode().splitlines()
        assert out[0] == "data" and out[1] and "lowerdir=" not in out[1]
        copy = tmp_path / "vroot" / "storage" / "vfs-containers"
        [cid] = os.listdir(copy)
        assert (copy / cid / "rootfs" / "f").read_text() == "data\n" and (copy / cid / "rootfs" / "bin" / "sh").exists()
        assert run("start", "-a", "v").stdout.decode().startswith("data")  # the copy is kept across runs
        plain = [pypod.argv[0], "--root", str(tmp_path / "vroot"), "--runroot", str(tmp_path / "vrun")]
        p = subprocess.run([*plain, "--storage-driver", "overlay", "ps", "-a"], capture_output=True)
        assert p.returncode == 125 and b"database configuration mismatch" in p.stderr
        # without the flag, the root's own driver is used
        assert subprocess.run([*plain, "start", "-a", "v"], capture_output=True).stdout.startswith(b"data")
        assert run("rm", "v").returncode == 0 and os.listdir(copy) == []
    finally:
        run("rm", "-a", "-f", "-t", "0")


def test_container_clone(pypod):
    orig = pypod.out("run", "-d", "--name", "orig", "-e", "X=1", "-l", "k=v", "--stop-timeout", "3", "busybox", "sleep", "1000")
    first = pypod.out("container", "clone", "orig")
    second = pypod.out("container", "clone", "orig")
    for cid, name in ((first, "orig-clone"), (second, "orig-clone1")):
        cfg = json.loads(pypod.out("inspect", cid))[0]
        assert cfg["Name"] == name and cfg["State"]["Status"] == "created" and cfg["Config"]["Labels"]["k"] == "v"
        assert cfg["Config"]["Env"].count("X=1") == 1 and [e for e in cfg["Config"]["Env"] if e.startswith("PATH=")] \
            and len([e for e in cfg["Config"]["Env"] if e.startswith("PATH=")]) == 1
        assert cfg["Config"]["StopTimeout"] == 3 and cfg["Config"]["Hostname"] == cid[:12]
    run = pypod.out("container", "clone", "--run", "orig", "named")
    assert _state(pypod, "named") == "running" and pypod.out("exec", "named", "sh", "-c", "echo $X") == "1"
    p = pypod("container", "clone", "--destroy", "orig", check=False)  # running: not without --force
    assert p.returncode == 125 and b"cannot remove container" in p.stderr and _state(pypod, "orig") == "running"
    p = pypod("container", "clone", "-f", "orig", check=False)
    assert p.returncode == 125 and b"--force can only be used with --destroy" in p.stderr
    last = pypod.out("container", "clone", "--destroy", "--force", "--name", "moved", "orig")
    assert _state(pypod, "orig") == "" and _state(pypod, "moved") == "created"
    assert len({orig, first, second, run, last}) == 5
