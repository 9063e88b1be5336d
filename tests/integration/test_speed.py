"""Speed work that has behaviour to test: the step trace, and who cleans up
after a foreground command.  (Timings live in bench/, never here.)"""

from __future__ import annotations


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
                 "exec: attached to conmon", "conmon: runtime exec started", "conmon: exit code 0",
                 "store: exec session removed", "exec: done"):
        assert any(s.startswith(want) for s in steps), (want, steps)
    # off: not one line
    assert pypod("exec", "t", "true").stderr == b""
