"""The failpoint mechanism itself: arming, counting, discovery, and that the
variable never reaches a process pypod starts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from pypod import failpoints


def _run(code: str, env_value: str) -> subprocess.CompletedProcess:
    env = {**os.environ, failpoints.ENV: env_value}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=30)


def test_armed_step_kills_with_sigkill():
    p = _run("from pypod.failpoints import failpoint\nprint('before', flush=True)\nfailpoint('op.step')\nprint('after')", "op.step")
    assert p.returncode == -signal.SIGKILL
    assert p.stdout == b"before\n"


def test_unarmed_and_other_steps_pass():
    p = _run("from pypod.failpoints import failpoint\nfailpoint('op.other')\nprint('after')", "op.step")
    assert p.returncode == 0 and p.stdout == b"after\n"


def test_nth_hit():
    code = "from pypod.failpoints import failpoint\nfor i in range(5):\n    print(i, flush=True)\n    failpoint('op.loop')"
    p = _run(code, "x.y,op.loop@3")
    assert p.returncode == -signal.SIGKILL
    assert p.stdout.split() == [b"0", b"1", b"2"]


def test_variable_is_taken_out_of_the_environment():
    """conmon's exit command, the runtime: nothing pypod starts inherits it."""
    code = ("import os, subprocess, sys\nimport pypod.failpoints\n"
            "print(os.environ.get('PYPOD_FAILPOINT'))\n"
            "print(subprocess.run([sys.executable, '-c', 'import os; print(os.environ.get(\"PYPOD_FAILPOINT\"))'],"
            " capture_output=True, text=True).stdout.strip())")
    p = _run(code, "op.step")
    assert p.returncode == 0
    assert p.stdout.split() == [b"None", b"None"]


def test_conmon_environment_never_carries_it(tmp_path):
    from pypod.config import load_config
    from pypod.oci.conmon import ConmonOCIRuntime

    rt = ConmonOCIRuntime("runc", "/bin/true", "/bin/true", load_config(root=str(tmp_path / "r"), runroot=str(tmp_path / "rr")))
    os.environ[failpoints.ENV] = "op.step"
    try:
        env, _fds = rt._conmon_env()
    finally:
        del os.environ[failpoints.ENV]
    assert failpoints.ENV not in env


def test_discover_finds_the_engine_steps():
    names = failpoints.discover()
    assert names == sorted(set(names))
    for expected in ("create.after-record", "init.after-mount", "start.after-runtime-start", "rm.after-record-removed",
                     "exec.after-launch", "layer.after-unpack", "import.after-image"):
        assert expected in names
    assert all("." in n for n in names)


def test_discover_reads_literal_calls_only(tmp_path):
    (tmp_path / "m.py").write_text('failpoint("a.b")\nfailpoint( "c.d-e" )\nfailpoint(name)\nfailpoint("nodot")\n')
    assert failpoints.discover(str(tmp_path)) == ["a.b", "c.d-e"]
