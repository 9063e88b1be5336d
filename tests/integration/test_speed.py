"""Speed work that has behaviour to test: the step trace, and who cleans up
after a foreground command.  (Timings live in bench/, never here.)"""

from __future__ import annotations

import os


def _steps(stderr: bytes) -> list[str]:
    from tests.unit.test_trace import STEP

    return [m.group(3) for m in map(STEP.fullmatch, stderr.decode().splitlines()) if m]


def test_trace_names_every_step_of_run_and_exec(pypod):
    p = pypod("run", "--rm", "busybox", "echo", "hi", env={"PYPOD_TRACE": "1", "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"})
    assert p.stdout == b"hi\n"
    steps = _steps(p.stderr)
    for want in ("imports: pypod.cli.containers", "arguments parsed", "store: opened", "lock:", "spec: written",
                 "conmon: spawned", "conmon: runc create done", "runtime: runc start", "attach: output closed",
                 "wait: exit code 0", "runtime: runc delete", "store: container removed", "run: done"):
        assert any(s.startswith(want) for s in steps), (want, steps)
    assert "start-up:" in p.stderr.decode()

    pypod("run", "-d", "--name", "t", "busybox", "sleep", "1000")
    p = pypod("--log-level", "debug", "exec", "t", "true")
    steps = _steps(p.stderr)
    for want in ("imports: pypod.cli.execs", "store: exec session recorded", "exec: process spec written",
                 "conmon: runtime exec started", "exec: output forwarded", "conmon: exit code 0",
                 "store: exec session removed", "exec: done"):
        assert any(s.startswith(want) for s in steps), (want, steps)
    # off: not one line
    assert pypod("exec", "t", "true").stderr == b""


#: modules that cost a CLI call milliseconds and that ps, run and exec do
#: not need; one of them on these paths is a regression of start-up time
HEAVY = {
    "dataclasses", "inspect", "typing", "ast", "dis", "tokenize", "asyncio", "concurrent", "email", "http",
    "urllib", "uuid", "random", "tarfile", "gzip", "zipfile", "tempfile", "decimal", "logging", "ssl",
    "xml", "pickle", "multiprocessing", "hashlib", "secrets", "platform", "pypod.api", "pypod.storage.archive",
    "pypod.storage.image_archive", "pypod.proto.gotemplate", "pypod.specgen.volumes_plugins",
    "argparse",  # cli/args.py parses these command lines itself
    "shutil", "bz2", "lzma",  # shutil imports both compressors: storage/tree.py removes trees
}
#: run and exec start conmon and the runtime (oci/spawn.py), talk to them
#: over sockets, write JSON and check names, all through the C modules
#: underneath: none of the stdlib wrappers whose imports cost more than the
#: rest of pypod's own work
HEAVY_FOR_RUN_AND_EXEC = HEAVY | {"enum", "functools", "collections", "re", "json", "subprocess", "socket", "signal",
                                  "threading", "contextlib", "selectors", "locale", "glob", "fnmatch"}
#: ps lists from the store: it builds no runtime, mounts nothing, spawns nothing
HEAVY_FOR_PS = HEAVY | {"subprocess", "socket", "ctypes", "threading", "pypod.oci", "pypod.storage.overlay",
                        "pypod.engine.lifecycle", "pypod.engine.attach"}

MODULES_AFTER = """
import sys
sys.path[1:1] = {paths!r}
from pypod.cli.main import main
rc = main(sys.argv[1:])
with open({out!r}, "w") as f:
    f.write("\\n".join(sorted(sys.modules)))
sys.exit(rc)
"""


def _modules_of(pypod, tmp_path, *args) -> set[str]:
    """Every module loaded by one real CLI call (under -S, as the launcher runs it)."""
    import subprocess
    import sys

    import pypod as pkg

    out = str(tmp_path / "modules.txt")
    here = os.path.dirname(os.path.dirname(os.path.abspath(pkg.__file__)))
    site = [p for p in sys.path if p.endswith("site-packages")]
    code = MODULES_AFTER.format(paths=[here, *site], out=out)
    p = subprocess.run([sys.executable, "-S", "-c", code, "--root", pypod.root, "--runroot", pypod.runroot, *args],
                       capture_output=True, stdin=subprocess.DEVNULL, timeout=120)
    assert p.returncode == 0, p.stderr
    with open(out) as f:
        return set(f.read().split())


def _heavy(modules: set[str], heavy: set[str]) -> set[str]:
    return {m for m in modules if m in heavy or m.split(".")[0] in heavy or any(m.startswith(h + ".") for h in heavy)}


HOW_TO_FIX = ("a module on this path imports what start-up cannot afford: import it inside the function that "
              "needs it; for a typed config or state use pypod.record's @record and field, not dataclasses "
              "(PYPOD_TRACE=1 and python -X importtime show the cost)")


def test_no_heavy_module_on_the_paths_of_ps_run_and_exec(pypod, tmp_path):
    pypod("run", "-d", "--name", "lean", "busybox", "sleep", "1000")
    assert _heavy(_modules_of(pypod, tmp_path, "ps", "-a"), HEAVY) == set(), HOW_TO_FIX
    assert _heavy(_modules_of(pypod, tmp_path, "run", "--rm", "busybox", "true"), HEAVY_FOR_RUN_AND_EXEC) == set(), \
        HOW_TO_FIX
    assert _heavy(_modules_of(pypod, tmp_path, "exec", "lean", "true"), HEAVY_FOR_RUN_AND_EXEC) == set(), HOW_TO_FIX
    assert _heavy(_modules_of(pypod, tmp_path, "--version"), HEAVY_FOR_PS) == set(), HOW_TO_FIX


LAUNCHED = """
import atexit, sys
sys.path[1:1] = {paths!r}
def record():
    with open({out!r}, "w") as f:
        f.write("\\n".join(sorted(sys.modules)))
atexit.register(record)
from pypod.cli.main import launch
launch()
"""


def test_ps_of_an_empty_store_reads_the_store_and_nothing_more(pypod, tmp_path):
    """No container configuration (engine/container.py and its parts), no
    JSON and none of what functools brings (sqlitedb starts _sqlite3
    without it): the CLI as launched, with no config file to read."""
    import subprocess
    import sys

    import pypod as pkg

    pypod("ps")  # makes the store
    out = str(tmp_path / "modules.txt")
    here = os.path.dirname(os.path.dirname(os.path.abspath(pkg.__file__)))
    env = {k: v for k, v in os.environ.items() if k != "PYPOD_CONFIG"}
    p = subprocess.run([sys.executable, "-S", "-c", LAUNCHED.format(paths=[here], out=out), "--root", pypod.root,
                        "--runroot", pypod.runroot, "ps"], capture_output=True, stdin=subprocess.DEVNULL, env=env,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.decode().startswith("CONTAINER ID")
    with open(out) as f:
        modules = set(f.read().split())
    assert "pypod.engine.store" in modules
    assert {"functools", "collections", "json", "re", "enum", "pypod.engine.container",
            "pypod.engine.lifecycle"} & modules == set(), HOW_TO_FIX


def _left_behind(pypod) -> dict:
    """What a finished --rm container could leave: mounts, run files, locks, listings."""
    def entries(*parts):
        d = os.path.join(pypod.runroot, *parts)
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    with open("/proc/self/mountinfo") as f:
        mounts = [ln.split()[4] for ln in f if pypod.root in ln.split()[4]]
    return {"mounts": mounts, "run dirs": entries("containers"), "sockets": entries("socket"),
            "exit files": entries("exits"), "locks": entries("locks"),
            "listed": pypod.out("ps", "-a", "--format", "{{.Names}}")}


def test_foreground_run_cleans_up_itself_and_the_exit_command_only_when_it_is_gone(pypod, tmp_path):
    """Both paths end in the same state, and the cleanup runs once: in the
    foreground pypod when it is there, in conmon's exit command when not.
    (PYPOD_TRACE=FILE reaches the exit command through conmon: its trace
    says which process did the work.)"""
    import signal
    import subprocess

    from tests.conftest import conmon_pids_for, wait_for

    def traced(name: str) -> tuple[str, dict]:
        path = str(tmp_path / f"{name}.trace")
        return path, {**os.environ, "PYPOD_TRACE": path}

    def by_process(path: str) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        with open(path) as f:
            for line in f:
                out.setdefault(line.split("]", 1)[0], []).append(line.rstrip("\n"))
        return out

    # 1. the foreground pypod does the work; the exit command finds it done
    path, env = traced("fg")
    p = pypod("run", "--rm", "--name", "fg", "busybox", "sh", "-c", "exit 3", check=False, env=env)
    assert p.returncode == 3
    assert wait_for(lambda: not conmon_pids_for(pypod.runroot))
    procs = by_process(path)
    assert len(procs) == 2, procs  # the CLI and the exit command
    cli, exit_cmd = (procs[k] for k in sorted(procs, key=lambda k: " run " not in procs[k][0]))
    assert any("runtime: runc delete" in ln for ln in cli) and any("store: container removed" in ln for ln in cli)
    # the exit command found that out from the claim alone, in the shell: no pypod started
    assert exit_cmd == [exit_cmd[0]] and "exit command: the foreground pypod finished this exit" in exit_cmd[0], exit_cmd
    foreground_state = _left_behind(pypod)

    # 2. the foreground pypod dies while attached: the exit command does the work
    path, env = traced("bg")
    cli = subprocess.Popen([*pypod.argv, "run", "--rm", "--name", "bg", "busybox", "sh", "-c", "sleep 1; exit 3"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    assert wait_for(lambda: "bg" in pypod.out("ps", "--format", "{{.Names}}"))
    cli.send_signal(signal.SIGKILL)
    cli.wait()
    assert wait_for(lambda: "bg" not in pypod.out("ps", "-a", "--format", "{{.Names}}"))
    assert wait_for(lambda: not conmon_pids_for(pypod.runroot))
    procs = by_process(path)
    exit_cmd = next(v for v in procs.values() if " cleanup " in v[0])
    assert any("runtime: runc delete" in ln for ln in exit_cmd) and any("cleanup: done by the exit command" in ln
                                                                       for ln in exit_cmd), exit_cmd
    assert sum("runtime: runc delete" in ln for lines in procs.values() for ln in lines) == 1, procs
    assert _left_behind(pypod) == foreground_state == {
        "mounts": [], "run dirs": [], "sockets": [], "exit files": [], "locks": [], "listed": ""}


def test_exec_output_through_pipes_keeps_every_guarantee(pypod, tmp_path):
    """Without a terminal, an exec's output goes through pypod's pipes
    (engine/execpipe.py): still separate streams, exact bytes, the exit
    code; a file opened for appending (no splice there) still gets it all;
    and a background child that keeps the pipes open does not keep the
    exec attached, through the CLI or the API."""
    import subprocess

    pypod("run", "-d", "--name", "pipes", "busybox", "sleep", "100000")
    p = pypod("exec", "pipes", "sh", "-c", "echo out; echo err >&2; exit 5", check=False)
    assert (p.returncode, p.stdout, p.stderr) == (5, b"out\n", b"err\n")
    data = os.urandom(3 * 1024 * 1024)
    p = pypod("exec", "-i", "pipes", "sh", "-c", "cat; echo done >&2", input=data)
    assert p.stdout == data and p.stderr == b"done\n"
    target = tmp_path / "appended"
    target.write_bytes(b"before\n")
    with open(target, "ab") as f:  # O_APPEND: splice(2) refuses it, pypod copies
        rc = subprocess.run([*pypod.argv, "exec", "pipes", "sh", "-c", "seq 1 20000"], stdout=f, timeout=60).returncode
    assert rc == 0 and target.read_bytes() == b"before\n" + b"".join(b"%d\n" % i for i in range(1, 20001))
    # the exec ends with its process, not with the last holder of its pipes
    p = pypod("exec", "pipes", "sh", "-c", "sleep 1000 & echo started", timeout=60)
    assert p.stdout == b"started\n"

    sock = str(tmp_path / "api.sock")
    svc = subprocess.Popen([*pypod.argv, "system", "service", "--time", "0", f"unix://{sock}"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        from tests.conftest import wait_for

        assert wait_for(lambda: os.path.exists(sock), timeout=15)
        import docker

        ctr = docker.DockerClient(base_url=f"unix://{sock}", version="1.41", timeout=60).containers.get("pipes")
        assert ctr.exec_run(["sh", "-c", "sleep 1000 & echo bg; exit 2"]) == (2, b"bg\n")
        out = ctr.exec_run(["sh", "-c", "head -c 5000000 /dev/urandom | tee /dev/stderr | md5sum >&2"], demux=True)
        import hashlib

        assert out.exit_code == 0 and out.output[0] is None
        stderr = out.output[1]
        assert hashlib.md5(stderr[:5000000]).hexdigest().encode() in stderr[5000000:]
    finally:
        svc.terminate()
        svc.wait(15)


def test_a_rm_container_has_a_volatile_rootfs_and_its_layer_mounts_again(pypod):
    """`run --rm` mounts its rootfs as podman does, with overlayfs'
    `volatile` (no sync of the host filesystem at unmount); others keep
    every sync.  The marker a volatile mount leaves in the work dir would
    make the kernel refuse the layer's next mount: pypod clears it."""
    from pypod.storage.overlay import ContainerStorage

    def root_mount(*run_flags: str) -> str:
        return pypod.out("run", *run_flags, "busybox", "sh", "-c", "grep '^overlay / ' /proc/mounts")

    assert "volatile" in root_mount("--rm")
    assert "volatile" not in root_mount("--name", "kept")

    eng = pypod.engine()
    try:
        image = eng.images.lookup("busybox")
        storage = ContainerStorage(eng.config.storage_dir)
        cid = "v" * 64
        merged = storage.mount(cid, image, volatile=True)
        with open(os.path.join(merged, "written"), "w") as f:
            f.write("kept across mounts")
        storage.unmount(cid)
        assert os.path.isdir(os.path.join(storage.dir, cid, "work", "work", "incompat", "volatile"))
        merged = storage.mount(cid, image)  # the kernel alone would refuse this one
        with open(os.path.join(merged, "written")) as f:
            assert f.read() == "kept across mounts"
        storage.remove(cid)
        assert not os.path.exists(os.path.join(storage.dir, cid))
    finally:
        eng.close()
