"""Every command and subcommand of the CLI fuzzed by Hypothesis
(tests/clifuzz.py): no traceback, no death by a signal, no exception nobody
classified, and a 125 always says why.  The suite runs a moderate number of
command lines (PYPOD_CLI_FUZZ_EXAMPLES, default 250)."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings

from tests import apifuzz, clifuzz

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="runs real containers: needs root")

EXAMPLES = int(os.environ.get("PYPOD_CLI_FUZZ_EXAMPLES", "250"))


def test_every_command_fuzzed_never_breaks(pypod, tmp_path):
    world = apifuzz.Service(pypod.argv, str(tmp_path / "unused.sock"))  # its namespace and world, no service
    world.make_netns()
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    clifuzz.populate(str(cwd))
    try:
        world.world()
        tally = clifuzz.Tally()

        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(clifuzz.command_lines(clifuzz.command_parsers()))
        def every_command(argv):
            clifuzz.run_one(world.argv, argv, str(cwd), tally)
            if tally.runs % 60 == 0:
                world.world()  # put back what the command lines stopped or removed

        every_command()
        assert tally.failures == [], "\n".join(f"{why}: pypod {' '.join(map(repr, argv))}: {err}"
                                               for why, argv, err in tally.failures[:10])
        assert tally.runs >= EXAMPLES
        # most were refusals, but not all: some command lines did their work
        assert tally.by_exit.get(0, 0) > 0, tally.by_exit
        # and it still works
        world.world()
        assert world.cli("exec", "fz-run", "echo", "alive") == "alive"
    finally:
        world.clean()
