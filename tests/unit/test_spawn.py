"""oci/spawn.py starts a program as subprocess.Popen does (real processes, no conmon)."""

from __future__ import annotations

import os
import sys

import pytest

from pypod.oci import spawn

PROBE = ("import os, sys; print(os.getcwd(), os.environ.get('PROBE'), os.getpgrp() == os.getpid(), "
         "[f for f in sorted(map(int, os.listdir('/proc/self/fd'))) if f > 2 and os.path.exists(f'/proc/self/fd/{f}')]); "
         "sys.stderr.write('to stderr'); sys.stdout.flush()")


@pytest.mark.parametrize("starter", [spawn._fork_exec, spawn._popen], ids=["fork_exec", "popen"])
def test_spawn_runs_the_program_as_popen_would(tmp_path, starter):
    kept_r, kept_w = os.pipe()  # close-on-exec, as every fd pypod opens: only pass_fds makes it through
    other_r, other_w = os.pipe()
    out = tmp_path / "out"
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        child = starter([sys.executable, "-S", "-c", PROBE], str(tmp_path), {"PROBE": "yes"}, spawn.DEVNULL, fd,
                        spawn.PIPE, (kept_w,), 0)
        assert child.wait() == 0 and child.returncode == 0
        assert child.stderr.read() == b"to stderr"
        child.stderr.close()
    finally:
        os.close(fd)
        for f in (kept_r, kept_w, other_r, other_w):
            os.close(f)
    assert out.read_text() == f"{tmp_path} yes True [{kept_w}]\n"


def test_exit_status_and_signals_read_as_popen_reads_them(tmp_path):
    child = spawn.spawn(["/bin/sh", "-c", "exit 7"], cwd=str(tmp_path), env={})
    assert child.wait() == 7 and child.wait() == 7
    child = spawn.spawn(["/bin/sh", "-c", "kill -TERM $$"], cwd=str(tmp_path), env={})
    assert child.wait() == -15
    # no directory in the program name: looked up along PATH, as Popen
    child = spawn.spawn(["sh", "-c", "exit 0"], cwd=str(tmp_path), env={"PATH": "/usr/bin:/bin"}, stdout=spawn.DEVNULL)
    assert child.wait() == 0


def test_what_cannot_start_raises_what_popen_raises(tmp_path):
    import subprocess

    for argv, cwd in (([str(tmp_path / "nope")], str(tmp_path)), (["/bin/true"], str(tmp_path / "gone")),
                      ([str(tmp_path)], str(tmp_path))):
        with pytest.raises(OSError) as ours:
            spawn.spawn(argv, cwd=cwd, env={}, stderr=spawn.PIPE)
        with pytest.raises(OSError) as popen:
            subprocess.Popen(argv, cwd=cwd, env={}, stderr=subprocess.PIPE)
        assert (type(ours.value), ours.value.errno, ours.value.filename) == \
               (type(popen.value), popen.value.errno, popen.value.filename)
    with pytest.raises(ValueError, match="illegal environment variable name"):
        spawn.spawn(["/bin/true"], cwd=str(tmp_path), env={"A=B": "c"})


def test_no_fd_is_left_open_by_a_spawn(tmp_path):
    before = set(os.listdir("/proc/self/fd"))
    for stderr in (spawn.PIPE, spawn.DEVNULL, None):
        child = spawn.spawn(["/bin/true"], cwd=str(tmp_path), env={}, stdin=spawn.DEVNULL, stdout=spawn.DEVNULL,
                            stderr=stderr)
        child.wait()
        if child.stderr is not None:
            child.stderr.close()
    with pytest.raises(OSError):
        spawn.spawn([str(tmp_path / "nope")], cwd=str(tmp_path), env={}, stderr=spawn.PIPE)
    assert set(os.listdir("/proc/self/fd")) == before


THREAD_THEN_EXIT = """
import os, sys, time
sys.path.insert(0, sys.argv[1])
from pypod.lean import start_thread
def work(path):
    time.sleep(0.3)
    with open(path, "w") as f:
        f.write("done")
start_thread(work, sys.argv[2])
import atexit
atexit._run_exitfuncs()  # what cli/main.py's launch() does before os._exit
print("threading" in sys.modules)
os._exit(0)
"""


def test_start_thread_is_waited_for_before_the_process_ends(tmp_path):
    import subprocess

    import pypod

    here = os.path.dirname(os.path.dirname(os.path.abspath(pypod.__file__)))
    out = subprocess.run([sys.executable, "-S", "-c", THREAD_THEN_EXIT, here, str(tmp_path / "f")],
                         capture_output=True, text=True, check=True).stdout
    assert out == "False\n" and (tmp_path / "f").read_text() == "done"


@pytest.mark.parametrize("starter", [spawn._fork_exec, spawn._popen], ids=["fork_exec", "popen"])
def test_communicate_reads_both_pipes_as_they_fill(tmp_path, starter):
    """More than a pipe holds on each stream, interleaved: reading one to its
    end first would deadlock, as it would with Popen."""
    code = ("import os\nfor i in range(64):\n    os.write(1, b'o' * 8192)\n    os.write(2, b'e' * 8192)\n"
            "raise SystemExit(5)")
    child = starter([sys.executable, "-S", "-c", code], str(tmp_path), None, spawn.DEVNULL, spawn.PIPE, spawn.PIPE,
                    (), -1)
    out, err = child.communicate()
    assert (out, err, child.returncode) == (b"o" * 8192 * 64, b"e" * 8192 * 64, 5)
    child = starter(["/bin/sh", "-c", "echo only-out"], None, {"PATH": "/bin"}, None, spawn.PIPE, None, (), -1)
    assert child.communicate() == (b"only-out\n", None) and child.returncode == 0
