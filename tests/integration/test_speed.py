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
                 "exec: attached to conmon", "conmon: runtime exec started", "conmon: exit code 0",
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
}
#: ps lists from the store: it builds no runtime, mounts nothing, spawns nothing
HEAVY_FOR_PS = HEAVY | {"subprocess", "socket", "ctypes", "threading", "argparse", "pypod.oci", "pypod.storage.overlay",
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
    assert _heavy(_modules_of(pypod, tmp_path, "run", "--rm", "busybox", "true"), HEAVY) == set(), HOW_TO_FIX
    assert _heavy(_modules_of(pypod, tmp_path, "exec", "lean", "true"), HEAVY) == set(), HOW_TO_FIX
    assert _heavy(_modules_of(pypod, tmp_path, "--version"), HEAVY_FOR_PS) == set(), HOW_TO_FIX
