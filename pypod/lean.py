"""Two stdlib conveniences without their imports, for the CLI's start-up.

`enum` (with the functools and collections it imports) costs every CLI
call ~3 ms before any work, and `pypod ps` of an empty store needs nothing
else from them: the container and exec statuses are StrEnums, and the
engine's lazily built parts cached_property, both from here.
tests/unit/test_lean.py holds them to the stdlib's behaviour where pypod
relies on it.
"""

from __future__ import annotations


class cached_property:
    """functools.cached_property: computed on first access, then an ordinary
    attribute of the instance (del it to compute again).  Without 3.11's
    per-class lock, as Python 3.12's: two threads may both compute it once."""

    def __init__(self, func):
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.func(instance)
        return value


class _StrEnumType(type):
    """Each upper-case str attribute of the class body becomes a member:
    an instance of the class, equal to (and hashed as) its value."""

    def __new__(mcls, name: str, bases: tuple, body: dict):
        values = {k: v for k, v in body.items() if k.isupper() and isinstance(v, str)}
        cls = super().__new__(mcls, name, bases, {k: v for k, v in body.items() if k not in values})
        members: dict[str, StrEnum] = {}
        for key, value in values.items():
            member = str.__new__(cls, value)
            member._name = key
            type.__setattr__(cls, key, member)
            members[value] = member
        cls._members = members
        return cls

    def __call__(cls, value):
        """The member whose value this is (a member gives itself), as Enum(value)."""
        try:
            return cls._members[value]
        except (KeyError, TypeError):
            raise ValueError(f"{value!r} is not a valid {cls.__name__}") from None

    def __iter__(cls):
        return iter(cls._members.values())

    def __len__(cls) -> int:
        return len(cls._members)


class StrEnum(str, metaclass=_StrEnumType):
    """`class Status(str, enum.Enum)` for what pypod does with one: members
    by attribute and by value (Status("running")), iteration in declaration
    order, .name and .value, str() and JSON as the value, == with plain
    strings.  Members are singletons for `is` as long as they are not
    copied (pickle or copy make an equal str, not the member)."""

    @property
    def name(self) -> str:
        return self._name

    @property
    def value(self) -> str:
        return str.__str__(self)

    def __str__(self) -> str:
        return str.__str__(self)

    def __format__(self, spec: str) -> str:
        return format(str.__str__(self), spec)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}.{self._name}: {str.__repr__(self)}>"

    def __reduce_ex__(self, protocol):
        return type(self), (self.value,)
