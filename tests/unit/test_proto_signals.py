import re

import pytest

from pypod.errors import InvalidArgument
from pypod.proto.signals import parse_signal, signal_name


@pytest.mark.parametrize("spec,want", [
    ("TERM", 15), ("SIGTERM", 15), ("sigterm", 15), ("term", 15), ("15", 15), ("9", 9), ("KILL", 9),
    ("SIGRTMIN", 34), ("RTMIN", 34), ("SIGRTMIN+3", 37), ("rtmin+15", 49), ("RTMAX-1", 63),
    ("SIGRTMAX", 64), ("64", 64), ("SIGHUP", 1), ("CHLD", 17), ("CLD", 17), ("IOT", 6), (15, 15),
    ("SIGWINCH", 28), ("USR1", 10),
])
def test_parse(spec, want):
    assert parse_signal(spec) == want


@pytest.mark.parametrize("spec", ["", "0", "65", "-1", "FOO", "SIG", "SIGRTMIN+31", "RTMAX-31", "RTMIN+", "1.5", 0, 99])
def test_parse_invalid(spec):
    with pytest.raises(InvalidArgument, match=re.escape(f"invalid signal: {spec}")):
        parse_signal(spec)


@pytest.mark.parametrize("num,name", [(15, "SIGTERM"), (6, "SIGABRT"), (17, "SIGCHLD"), (29, "SIGIO"),
                                      (34, "SIGRTMIN"), (37, "SIGRTMIN+3"), (63, "SIGRTMAX-1"), (64, "SIGRTMAX")])
def test_name(num, name):
    assert signal_name(num) == name
    assert parse_signal(name) == num


def test_name_invalid():
    with pytest.raises(InvalidArgument):
        signal_name(0)


def test_roundtrip_all():
    for n in range(1, 65):
        if n in (32, 33):  # glibc-reserved; no names
            continue
        assert parse_signal(signal_name(n)) == n
