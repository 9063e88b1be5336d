"""PYPOD_TRACE: one line per step on stderr when on, nothing at all when off."""

from __future__ import annotations

import re
import subprocess
import sys

STEP = re.compile(r"pypod\[\d+\] trace +([\d.]+) ms +([+-][\d.]+) ms  (.*)")
CODE = "from pypod import trace; trace.step('lock: taken'); trace.step('store: opened'); print('out')"


def run(env_value: str | None) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin"}
    if env_value is not None:
        env["PYPOD_TRACE"] = env_value
    return subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True, check=True)


def test_steps_printed_with_milliseconds_when_on():
    p = run("1")
    lines = p.stderr.splitlines()
    assert p.stdout == "out\n"  # the command's own output is untouched
    assert "start-up:" in lines[0] and "ms CPU" in lines[0]
    steps = [STEP.fullmatch(ln) for ln in lines[1:]]
    assert all(steps), lines
    assert [m.group(3) for m in steps] == ["lock: taken", "store: opened"]
    assert float(steps[0].group(1)) <= float(steps[1].group(1))  # ms since start, then since the previous step


def test_silent_when_off_or_zero():
    for value in (None, "", "0"):
        p = run(value)
        assert p.stderr == "" and p.stdout == "out\n"
