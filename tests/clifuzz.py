"""A property-based fuzzer for the command line: every command and
subcommand pypod's own parsers declare, with a few of their flags given
values of every kind (in and out of their choices, numbers out of range,
control characters, templates) and names real and not.

The property: whatever the command line, pypod answers as podman would a
user's mistake, never as a program that broke: no traceback, no death by a
signal, no exception nobody classified (`Error: TypeError: ...`), and an
exit of 125 says why in an `Error: ` line.

What is drawn is kept harmless to the host on purpose: no value holds a
`/` or is `.`/`..` (no path outside the working directory, a temporary
one), no value names a program that would do anything (the commands given
to containers are `true`), and commands that only wait or serve (service,
attach, events, logs, wait, unshare) are left out.  Everything runs in a
loopback-only network namespace (tests/apifuzz.py's Service).
"""

from __future__ import annotations

import argparse
import importlib
import re
import subprocess
from dataclasses import dataclass, field

from hypothesis import strategies as st

from pypod.cli import main as cli_main

#: commands that serve or wait for something that never comes, or run a host program
LEFT_OUT = {"service", "attach", "events", "logs", "wait", "unshare", "system-reset"}
#: flags that make a command wait for ever (ps --watch) or for a terminal
BLOCKING_FLAGS = {"--watch", "-w", "--follow", "-f"}
BLOCKING_FLAGS_OF = {"ps": {"--watch", "-w"}, "rm": set(), "run": set(), "create": set()}

VALUES = ["", "-1", "0", "1", "42", "65536", "99999999999999999999", "-99999999999999999999", "1e23", "0x10",
          "abc", "x" * 300, "a=b", "a=", "=b", "a:b", "a:b:c", "nofile=1:2", "nofile=-5", "nproc=2:1",
          "\x1b[31mred", "line\nbreak", "tab\there", "é", "\u202e", "{{.ID}}", "{{", "}}", "{{json .}}",
          "{{if 1}}" * 50, "json", "table {{.Names}}", "10m", "-5s", "1h30m", "2020-01-01T00:00:00Z",
          "1700000000", "KILL", "SIGTERM", "SIGRTMAX+5", "99", "none", "private", "always", "on-failure:3",
          "1g", "0.5", "-", "$(id)", ";", "fz-run", "fz-new", "busybox", "fz-vol", "label=x", "status=running",
          "since=fz-new", "id=", "key=value,other"]
value = st.sampled_from(VALUES) | st.integers(-(2**70), 2**70).map(str) | st.text(
    st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)), max_size=12).map(lambda t: "ž" + t)
NAMES = ["fz-run", "fz-new", "busybox", "localhost/busybox:latest", "fz-vol", "nosuch", "fz-run:etc", "fz-new:tmp",
         "ž", "", "-"]


def _parser_for(command: str) -> argparse.ArgumentParser:
    mod_name, func, _summary = cli_main.COMMANDS[command]
    mod = importlib.import_module(f"pypod.cli.{mod_name}")
    real = argparse.ArgumentParser(prog=command, add_help=func not in getattr(mod, "OWN_HELP", ()))
    getattr(mod, f"add_{func}_args")(real)
    return real


def _spelling(command: str) -> list[str]:
    """How a user types the command (`system df` for system-df)."""
    if command not in cli_main.GROUP_ONLY:
        return [command]
    for group, members in cli_main.GROUPS.items():
        for word, target in members.items():
            if target == command:
                return [group, word]
    raise AssertionError(f"{command} has no spelling")


def command_parsers() -> list[tuple[list[str], argparse.ArgumentParser]]:
    """[(the words that name it, its parser)] for every command and subcommand."""
    out = []
    for command in sorted(cli_main.COMMANDS):
        if command in LEFT_OUT:
            continue
        parser, words = _parser_for(command), _spelling(command)
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            out.append((words, parser))
            continue
        seen = set()
        for name, sub in subs[0].choices.items():
            if id(sub) not in seen:
                seen.add(id(sub))
                out.append((words + [name], sub))
    return out


@st.composite
def command_lines(draw, parsers) -> list[str]:
    words, parser = draw(st.sampled_from(parsers))
    blocked = BLOCKING_FLAGS
    options = [a for a in parser._actions if a.option_strings and a.dest != "help"
               and not set(a.option_strings) & blocked]
    argv = list(words)
    for action in draw(st.lists(st.sampled_from(options), max_size=4, unique_by=id)) if options else []:
        flag = draw(st.sampled_from(action.option_strings))
        if action.nargs == 0:
            argv.append(flag)
            continue
        v = draw(st.sampled_from([str(c) for c in action.choices]) | value if action.choices else value)
        argv += draw(st.sampled_from([[flag, v], [f"{flag}={v}"]])) if flag.startswith("--") else [flag, v]
    for action in parser._actions:
        if action.option_strings or isinstance(action, argparse._SubParsersAction):
            continue
        if action.nargs == argparse.REMAINDER or action.nargs == "...":
            argv += draw(st.sampled_from([["true"], ["fz-run", "true"]]))
        elif action.nargs in ("*", "+"):
            argv += draw(st.lists(st.sampled_from(NAMES) | value, min_size=action.nargs == "+", max_size=2))
        elif action.nargs == "?":
            argv += draw(st.lists(st.sampled_from(NAMES) | value, max_size=1))
        else:
            argv.append(draw(st.sampled_from(NAMES) | value))
    return argv


#: how an exception nobody classified reaches the user (cli/main.py describe_unexpected)
UNCLASSIFIED = re.compile(r"^Error: [A-Z][A-Za-z]*(Error|Exception)\b", re.M)


@dataclass
class Tally:
    runs: int = 0
    by_exit: dict = field(default_factory=dict)
    timeouts: list = field(default_factory=list)
    failures: list = field(default_factory=list)

    def add(self, argv: list[str], p: subprocess.CompletedProcess | None) -> None:
        self.runs += 1
        if p is None:
            self.timeouts.append(argv)
            return
        self.by_exit[p.returncode] = self.by_exit.get(p.returncode, 0) + 1
        err = p.stderr.decode(errors="replace")
        bad = ("a traceback" if "Traceback" in err else
               f"killed by signal {-p.returncode}" if p.returncode < 0 else
               "an unclassified exception" if UNCLASSIFIED.search(err) else
               "exit 125 without an Error: line" if p.returncode == 125 and "Error: " not in err else "")
        if bad:
            self.failures.append((bad, argv, err[-600:]))


def populate(cwd: str) -> None:
    """Files under some of the values, for the flags that read one (--cidfile,
    --env-file, secrets, archives): bytes that are not text, broken JSON, a
    line too long, an empty file, a damaged tar."""
    import os

    contents = {"1": bytes(range(256)) * 8, "42": b"\xff\xfe\x00A", "json": b'{"a": [1, 2', "abc": b"",
                "a=b": b"K=" + b"v" * 70000 + b"\n", "busybox": b"ustar" + b"\0" * 600, "0": b"KEY=value\n# comment\n"}
    for name, data in contents.items():
        with open(os.path.join(cwd, name), "wb") as f:
            f.write(data)


def run_one(base_argv: list[str], argv: list[str], cwd: str, tally: Tally, timeout: float = 30) -> None:
    try:
        p = subprocess.run([*base_argv, *argv], cwd=cwd, capture_output=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        p = None
    tally.add(argv, p)
