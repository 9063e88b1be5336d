"""LeanParser against argparse, on every command's real flags: whatever
LeanParser returns must be exactly what argparse returns, and where argparse
fails LeanParser must have handed over (returned nothing of its own)."""

from __future__ import annotations

import argparse
import importlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pypod.cli import main as cli_main
from pypod.cli.args import LeanParser


class Refused(Exception):
    pass


def full_parser(prog: str, add_help: bool):
    class Parser(argparse.ArgumentParser):
        def error(self, message):
            raise Refused(message)

        def exit(self, status=0, message=None):
            raise Refused(f"exit {status}")

    return Parser(prog=prog, add_help=add_help)


def both(command: str):
    mod_name, func, _summary = cli_main.COMMANDS[command]
    mod = importlib.import_module(f"pypod.cli.{mod_name}")
    add_help = func not in getattr(mod, "OWN_HELP", ())
    add = getattr(mod, f"add_{func}_args")
    lean = LeanParser(lambda: full_parser(command, add_help), add_help=add_help, prog=command)
    add(lean)
    cli_main.add_global_flags(lean)
    real = full_parser(command, add_help)
    add(real)
    cli_main.add_global_flags(real)
    return lean, real


COMMANDS = sorted(c for c in cli_main.COMMANDS if c not in ("secret", "service"))


def words_for(real: argparse.ArgumentParser) -> list[str]:
    """Each flag, with '=' forms and clusters, plus values and look-alikes."""
    out = ["busybox", "ctr", "sh", "-c", "true", "1", "0", "-1", "x=y", "", "-", "--", "--nope", "-Z", "a b", "json",
           "--no", "-it", "-dit", "-ti", "k8s-file", "none", "42"]
    for action in real._actions:
        for flag in action.option_strings:
            out.append(flag)
            if action.nargs != 0:
                out += [f"{flag}=v", f"{flag}=1", f"{flag}="]
            if len(flag) == 2:
                out += [f"{flag}val", f"{flag}1"]
    return out


def check(command: str, argv: list[str]) -> bool:
    lean, real = both(command)
    try:
        want = vars(real.parse_args(argv))
    except Exception:  # Refused, or a type function's own error (InvalidArgument)
        want = None
    got = lean._parse_plain(list(argv)) if lean._plain else None  # as parse_args decides
    if got is not None:
        assert want is not None, (command, argv, vars(got))
        assert vars(got) == want, (command, argv)
    return got is not None


@pytest.mark.parametrize("command", COMMANDS)
def test_lean_parser_agrees_with_argparse(command):
    lean, real = both(command)
    words = words_for(real)

    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(st.sampled_from(words), max_size=7))
    def agree(argv):
        check(command, argv)

    agree()


def test_the_everyday_command_lines_stay_lean():
    """These must not fall back to argparse: that is the point."""
    for command, argv in [
        ("run", ["--rm", "busybox", "true"]),
        ("run", ["-d", "--name", "web", "-e", "A=1", "-e", "B=2", "-v", "/tmp:/data:ro", "busybox", "sleep", "100"]),
        ("run", ["-it", "--rm", "busybox", "sh", "-c", "echo -n hi --rm"]),
        ("exec", ["ctr", "true"]),
        ("exec", ["-i", "-e", "X=1", "ctr", "sh", "-c", "cat"]),
        ("ps", []),
        ("ps", ["-a", "--format", "{{.Names}}"]),
        ("rm", ["-f", "a", "b"]),
        ("cleanup", ["--rm", "0123"]),
        ("logs", ["-f", "--tail", "5", "ctr"]),
    ]:
        assert check(command, argv), (command, argv)


def test_remainder_and_suppress_are_argparse_s():
    from pypod.cli.args import REMAINDER, SUPPRESS

    assert (REMAINDER, SUPPRESS) == (argparse.REMAINDER, argparse.SUPPRESS)


def test_help_unknown_flags_and_errors_are_argparse_s():
    lean, _real = both("ps")
    with pytest.raises(Refused):
        lean.parse_args(["--nope"])
    lean, _real = both("run")
    with pytest.raises(Refused):
        lean.parse_args(["--help"])
    lean, _real = both("exec")
    assert lean.parse_args(["--detach", "ctr", "true"]).detach is True
    # an abbreviation is argparse's to expand
    lean, _real = both("exec")
    assert lean.parse_args(["--priv", "ctr", "true"]).privileged is True
