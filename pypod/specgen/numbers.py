"""Integers as podman reads them: its flags are Go uint/int/int64, and a
value outside the type is refused with strconv's words, so nothing ever
stores a number that a later stop, rm or runtime call cannot use."""

from __future__ import annotations

from ..errors import InvalidArgument

UINT64_MAX = 2**64 - 1
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
#: an rlimit: -1 (unlimited) or an int64, as podman's ulimit parser takes it
RLIMIT_MAX = INT64_MAX


def parse_int(text: str, what: str, lo: int = INT64_MIN, hi: int = INT64_MAX) -> int:
    """A decimal integer within [lo, hi]; podman's ParseInt/ParseUint words otherwise."""
    t = text.strip()
    fn = "ParseUint" if lo >= 0 else "ParseInt"
    body = t[1:] if t[:1] in "+-" else t
    if not body.isdigit() or not body.isascii() or (lo >= 0 and t.startswith("-")):
        raise InvalidArgument(f'invalid argument "{text}" for "{what}" flag: strconv.{fn}: parsing "{text}": invalid syntax')
    value = int(t)
    if not lo <= value <= hi:
        raise InvalidArgument(f'invalid argument "{text}" for "{what}" flag: strconv.{fn}: parsing "{text}": value out of range')
    return value


def arg_type(flag: str, lo: int = INT64_MIN, hi: int = INT64_MAX):
    """An argparse type: parse_int for one flag (its errors become usage errors).
    argparse is imported only on an error: the CLI parses good values
    without it (cli/args.py), and hands a bad one to argparse, which calls
    this again."""

    def convert(text: str) -> int:
        try:
            return parse_int(text, flag, lo, hi)
        except InvalidArgument as e:
            import argparse

            raise argparse.ArgumentTypeError(str(e)) from None

    convert.__name__ = "integer"
    return convert


def uint_arg(flag: str):
    return arg_type(flag, 0, UINT64_MAX)
