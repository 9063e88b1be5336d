"""Exec sessions with real conmon and runc: the CLI and the library."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time

import pytest

from tests.conftest import conmon_pids_for, wait_for


@pytest.fixture
def ctr(pypod):
    pypod("run", "-d", "--name", "box", "busybox", "sleep", "100000")
    return "box"


def leftover_files(pypod) -> list[str]:
    """Anything exec left in the run dirs (podman's tests look for exactly this)."""
    out = []
    for base in (os.path.join(pypod.runroot, "containers"), os.path.join(pypod.runroot, "socket")):
        for dirpath, dirnames, filenames in os.walk(base):
            for name in filenames + dirnames:
                full = os.path.join(dirpath, name)
                if "/exec" in full.replace(base, "") or name in ("exec_pid",) or name.startswith("exec-process"):
                    out.append(full)
    socket_dir = os.path.join(pypod.runroot, "socket")
    if os.path.isdir(socket_dir):
        eng = pypod.engine()
        try:
            ids = set(eng.store.container_ids())
        finally:
            eng.close()
        out += [os.path.join(socket_dir, n) for n in os.listdir(socket_dir) if n not in ids]
    return out


def test_exec_output_and_exit_code(pypod, ctr):
    p = pypod("exec", ctr, "sh", "-c", "echo out; echo err >&2; exit 7", check=False)
    assert p.returncode == 7
    assert p.stdout == b"out\n" and p.stderr == b"err\n"


def test_three_execs_leave_no_files(pypod, ctr):
    for _ in range(3):
        assert pypod("exec", ctr, "true").returncode == 0
    assert leftover_files(pypod) == []
    eng = pypod.engine()
    try:
        assert eng.container(ctr).exec_sessions() == []
    finally:
        eng.close()
    assert len(conmon_pids_for(pypod.runroot)) == 1


def test_exec_errors_and_codes(pypod, ctr):
    p = pypod("exec", ctr, check=False)
    assert p.returncode == 125
    p = pypod("exec", ctr, "", check=False)
    assert p.returncode == 125 and b"must provide a non-empty command to start an exec session" in p.stderr
    p = pypod("exec", ctr, "/no/such/thing", check=False)
    assert p.returncode == 127, p.stderr
    p = pypod("exec", ctr, "/etc", check=False)
    assert p.returncode == 126, p.stderr
    p = pypod("exec", "nosuch", "true", check=False)
    assert p.returncode == 125 and b"no such container" in p.stderr
    pypod("create", "--name", "idle", "busybox", "true")
    p = pypod("exec", "idle", "true", check=False)
    assert p.returncode == 125 and b"can only create exec sessions on running containers" in p.stderr
    assert leftover_files(pypod) == []


def test_exec_stdin_100mb_digest(pypod, ctr):
    data = os.urandom(100 * 1024 * 1024)
    p = pypod("exec", "-i", ctr, "sha256sum", input=data, timeout=300)
    assert p.stdout.split()[0].decode() == hashlib.sha256(data).hexdigest()
    p = pypod("exec", "-i", ctr, "cat", input=data, timeout=300)
    assert len(p.stdout) == len(data) and hashlib.sha256(p.stdout).digest() == hashlib.sha256(data).digest()


def test_million_one_byte_writes_stay_apart(pypod, ctr):
    # busybox awk flushes every printf when fflush() is called: a flood of tiny writes
    script = 'awk \'BEGIN{for(i=0;i<1000000;i++){printf "o"; fflush(); printf "e" > "/dev/stderr"; fflush("/dev/stderr")}}\''
    p = pypod("exec", ctr, "sh", "-c", script, timeout=600)
    assert p.stdout == b"o" * 1000000
    assert p.stderr == b"e" * 1000000


def test_output_beyond_conmon_buffer(pypod, ctr):
    for size in (8191, 8192, 8193, 65536, 1_000_001):
        p = pypod("exec", ctr, "head", "-c", str(size), "/dev/urandom")
        assert len(p.stdout) == size


def test_env_user_workdir(pypod, ctr):
    out = pypod.out("exec", "-e", "A=1", "-u", "1", "-w", "/tmp", ctr, "sh", "-c", "echo $A $(id -u) $(pwd) $HOME")
    assert out.split()[:3] == ["1", "1", "/tmp"]
    out = pypod.out("exec", "-u", "nobody", ctr, "sh", "-c", "id -u; echo $HOME")
    assert out.splitlines()[0] == "65534"
    p = pypod("exec", "-u", "nosuchuser", ctr, "true", check=False)
    assert p.returncode == 255 and b"nosuchuser" in p.stderr  # podman 4.3.1's code for it


def test_exec_capabilities(pypod, ctr):
    def capeff(*flags):
        out = pypod.out("exec", *flags, ctr, "sh", "-c", "grep CapEff /proc/self/status")
        return int(out.split()[1], 16)

    assert not capeff() & (1 << 21)
    assert capeff("--privileged") & (1 << 21)
    assert capeff("-u", "1") == 0


def test_detached_exec_and_reaping(pypod, ctr):
    sid = pypod.out("exec", "-d", ctr, "sh", "-c", "sleep 0.5; exit 5")
    assert len(sid) == 64
    eng = pypod.engine()
    try:
        c = eng.container(ctr)
        sess = c.exec_session(sid)
        assert sess.state.status.value == "running"

        def stopped():
            s = c.exec_session(sid)
            c.exec_sessions()  # reaps
            s.reload()
            return s.state.status.value == "stopped" and s

        s = wait_for(stopped, timeout=15)
        assert s and s.state.exit_code == 5
    finally:
        eng.close()


def test_fifty_concurrent_execs(pypod, ctr):
    procs = [subprocess.Popen([*pypod.argv, "exec", ctr, "sh", "-c", f"exit {i % 50}"], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(50)]
    codes = [p.wait(timeout=300) for p in procs]
    assert codes == [i % 50 for i in range(50)], [p.stderr.read() for p in procs if p.returncode not in range(50)]
    assert leftover_files(pypod) == []


def test_stopping_container_stops_sessions_and_rm_removes_them(pypod, ctr):
    sid = pypod.out("exec", "-d", ctr, "sleep", "1000")
    pypod("stop", "-t", "0", ctr)
    eng = pypod.engine()
    try:
        s = eng.container(ctr).exec_session(sid)
        assert s.state.status.value == "stopped"
    finally:
        eng.close()
    pypod("rm", ctr)
    eng = pypod.engine()
    try:
        assert eng.store._db.execute("SELECT COUNT(*) FROM exec_sessions").fetchone()[0] == 0
    finally:
        eng.close()


def test_sigkill_pypod_during_exec_reports_real_code(pypod, ctr):
    """The one-shot exec's pypod dies while its process runs: the next look
    records the real exit code and, as the session was the one-shot's,
    removes it and its files (nothing leaks until the container goes)."""
    p = subprocess.Popen([*pypod.argv, "exec", ctr, "sh", "-c", "sleep 1; exit 9"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.5)
    p.send_signal(signal.SIGKILL)
    p.wait()
    time.sleep(1.5)
    eng = pypod.engine()
    try:
        c = eng.container(ctr)
        assert c.exec_sessions() == []
        assert not os.path.exists(os.path.join(c.paths.run_dir, "exec"))
        died = [e for e in eng.events.read(follow=False) if e["action"] == "exec_died"]
        assert [e["attributes"].get("containerExitCode") for e in died] == ["9"]
    finally:
        eng.close()
    assert json.loads(pypod.out("inspect", ctr))[0]["ExecIDs"] == []


def test_library_exec_lifecycle(pypod, ctr):
    from pypod.engine.attach import AttachStreams
    from pypod.engine.execs import ExecConfig
    from pypod.errors import InvalidArgument, InvalidState, NoSuchExecSession

    eng = pypod.engine()
    try:
        c = eng.container(ctr)
        r, w = os.pipe()
        code = c.exec(["sh", "-c", "echo lib; exit 4"], AttachStreams(stdin=None, stdout=w, stderr=w))
        os.close(w)
        assert code == 4 and os.read(r, 100) == b"lib\n"
        os.close(r)
        with pytest.raises(InvalidArgument, match="non-empty command"):
            c.exec_create(ExecConfig(command=[]))
        sess = c.exec_create(ExecConfig(command=["sleep", "1000"]))
        assert sess.inspect()["Running"] is False
        with pytest.raises(InvalidState):
            sess.resize(10, 10)
        sess.start_detached()
        assert sess.inspect()["Running"] is True
        with pytest.raises(InvalidState):
            sess.remove()
        t0 = time.monotonic()
        sess.stop(timeout=1)
        assert time.monotonic() - t0 < 8
        sess.reload()
        assert sess.state.status.value == "stopped" and sess.state.exit_code in (137, 143)
        sess.remove()
        with pytest.raises(NoSuchExecSession):
            c.exec_session(sess.id)
        forced = c.exec_create(ExecConfig(command=["sleep", "1000"]))
        forced.start_detached()
        forced.remove(force=True)
        assert c.exec_sessions() == []
    finally:
        eng.close()
    assert leftover_files(pypod) == []


def test_preserve_fds(pypod, ctr, tmp_path):
    import shlex

    f = tmp_path / "passed.txt"
    f.write_text("through fd 3\n")
    # A shell places the file at fd 3 of pypod (this test's own fd 3 may be in use).
    cmd = f"exec 3< {shlex.quote(str(f))}; exec {shlex.join(pypod.argv)} exec --preserve-fds 1 {ctr} cat /proc/self/fd/3"
    p = subprocess.run(["sh", "-c", cmd], capture_output=True, stdin=subprocess.DEVNULL)
    assert p.stdout == b"through fd 3\n", p.stderr
    p = subprocess.run([*pypod.argv, "exec", "--preserve-fds", "5", ctr, "true"], capture_output=True, stdin=subprocess.DEVNULL)
    assert p.returncode == 125 and b"preserve-fds" in p.stderr


def test_exec_tty_and_detach_keys(pypod, ctr):
    import pty

    pid, master = pty.fork()
    if pid == 0:
        os.execv(pypod.argv[0], [*pypod.argv, "exec", "-it", ctr, "sh", "-c", "tty; stty size; cat"])
    out = b""
    deadline = time.monotonic() + 20
    while b"/dev/pts" not in out and time.monotonic() < deadline:
        out += os.read(master, 4096)
    assert b"/dev/pts/" in out
    os.write(master, b"\x10\x11")  # ctrl-p ctrl-q: detach
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    os.close(master)


def test_run_tty_raw(pypod):
    import pty

    pid, master = pty.fork()
    if pid == 0:
        os.execv(pypod.argv[0], [*pypod.argv, "run", "--rm", "-it", "busybox", "sh", "-c", "tty && exit 3"])
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    assert b"/dev/pts/" in out
    assert os.WEXITSTATUS(status) == 3
