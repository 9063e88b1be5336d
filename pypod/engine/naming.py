"""Container and volume names: validation and podman-style random names."""

from __future__ import annotations


from ..errors import InvalidArgument

_ALLOWED_FIRST = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_ALLOWED = _ALLOWED_FIRST | set("_.-")

_ADJECTIVES = (
    "admiring", "brave", "busy", "clever", "compassionate", "eager", "elegant", "festive", "focused",
    "gallant", "gifted", "happy", "hopeful", "jolly", "keen", "kind", "lucid", "modest", "nifty",
    "optimistic", "peaceful", "quirky", "relaxed", "serene", "sharp", "stoic", "tender", "vibrant",
    "wizardly", "zealous",
)
_NAMES = (
    "albattani", "babbage", "bohr", "curie", "darwin", "einstein", "euclid", "fermat", "feynman",
    "galileo", "hopper", "hypatia", "kepler", "lamarr", "lovelace", "meitner", "newton", "noether",
    "pasteur", "ritchie", "shannon", "tesla", "thompson", "turing", "wozniak", "yalow",
)


def validate_name(name: str, what: str = "container") -> None:
    """[a-zA-Z0-9][a-zA-Z0-9_.-]*, as podman: this also keeps names from
    naming paths outside the state directories."""
    if not name or name[0] not in _ALLOWED_FIRST or any(c not in _ALLOWED for c in name) or len(name) > 253:
        raise InvalidArgument(
            "names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: invalid argument" if what == "container"
            else f"invalid {what} name {name!r}: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: invalid argument"
        )


def new_id() -> str:
    """64 hex digits, as container and exec session IDs are.  (os.urandom
    directly: the secrets module costs the CLI milliseconds of imports.)"""
    import os

    return os.urandom(32).hex()


def random_name() -> str:
    import os

    a, b = os.urandom(2)
    return f"{_ADJECTIVES[a % len(_ADJECTIVES)]}_{_NAMES[b % len(_NAMES)]}"
