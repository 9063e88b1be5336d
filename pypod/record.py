"""Typed records: the part of `dataclasses` pypod uses, without its import.

`import dataclasses` costs every CLI call about 14 ms on the development
VM (it imports inspect, which imports ast, dis and tokenize), and each
decorated class costs more as dataclasses compiles its methods: together,
more than all the rest of `pypod ps`.  Configs and states are records
instead, written the same way::

    @record
    class ExecState:
        status: str = "created"
        env: list[str] = field(default_factory=list)

Annotated class attributes, in order (a base record's first), make the
constructor's parameters, positional or by keyword; `field(default_factory=)`
gives each instance its own mutable default; instances compare and print by
their fields; `frozen=True` forbids assignment.  `asdict`, `fields` and
`replace` work as dataclasses' do (asdict also converts a stdlib dataclass
found inside a record).  tests/unit/test_record.py holds them to
dataclasses' behaviour.
"""

from __future__ import annotations

_MISSING = object()


class FrozenInstanceError(AttributeError):
    pass


class Field:
    __slots__ = ("name", "default", "default_factory", "repr")

    def __init__(self, default=_MISSING, default_factory=_MISSING, repr: bool = True):
        if default is not _MISSING and default_factory is not _MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.repr = repr

    def __repr__(self) -> str:
        return f"Field(name={self.name!r})"


def field(*, default=_MISSING, default_factory=_MISSING, repr: bool = True) -> Field:
    return Field(default, default_factory, repr)


def record(cls=None, /, *, frozen: bool = False):
    """Make cls a record (usable bare, `@record`, or as `@record(frozen=True)`)."""
    if cls is None:
        return lambda c: _make(c, frozen)
    return _make(cls, frozen)


def _make(cls, frozen: bool):
    found: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        for f in getattr(base, "__record_fields__", ()):
            found[f.name] = f
    for name, ann in cls.__dict__.get("__annotations__", {}).items():
        if isinstance(ann, str) and ann.startswith(("ClassVar", "typing.ClassVar")):
            continue
        value = cls.__dict__.get(name, _MISSING)
        f = value if isinstance(value, Field) else Field(default=value)
        if isinstance(f.default, (list, dict, set)):
            raise ValueError(f"mutable default {type(f.default).__name__} for field {name} is not allowed: use default_factory")
        f.name = name
        found[name] = f
        if isinstance(value, Field):
            # As dataclasses: a plain default stays a class attribute, a factory does not.
            if f.default is _MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, f.default)
    flds = tuple(found.values())
    seen_default = False
    for f in flds:
        has_default = f.default is not _MISSING or f.default_factory is not _MISSING
        if seen_default and not has_default:
            raise TypeError(f"non-default argument '{f.name}' follows default argument")
        seen_default = seen_default or has_default
    cls.__record_fields__ = flds
    cls.__init__ = _init(flds, frozen)
    if "__repr__" not in cls.__dict__:
        cls.__repr__ = _repr
    if "__eq__" not in cls.__dict__:
        cls.__eq__ = _eq
    if frozen:
        cls.__setattr__ = _frozen_setattr
        cls.__delattr__ = _frozen_delattr
        cls.__hash__ = _hash
    elif "__hash__" not in cls.__dict__:
        cls.__hash__ = None  # mutable and compared by value: unhashable, as dataclasses
    return cls


def _init(flds: tuple[Field, ...], frozen: bool):
    set_ = object.__setattr__
    names = frozenset(f.name for f in flds)

    def __init__(self, *args, **kwargs):
        if len(args) > len(flds):
            raise TypeError(f"{type(self).__name__}() takes {len(flds)} positional arguments but {len(args)} were given")
        for f, value in zip(flds, args):
            if f.name in kwargs:
                raise TypeError(f"{type(self).__name__}() got multiple values for argument '{f.name}'")
            set_(self, f.name, value)
        for f in flds[len(args):]:
            value = kwargs.get(f.name, _MISSING)
            if value is _MISSING:
                if f.default is not _MISSING:
                    value = f.default
                elif f.default_factory is not _MISSING:
                    value = f.default_factory()
                else:
                    raise TypeError(f"{type(self).__name__}() missing required argument: '{f.name}'")
            set_(self, f.name, value)
        if len(kwargs) > len(flds) - len(args) or not names.issuperset(kwargs):
            bad = next(k for k in kwargs if k not in names)
            raise TypeError(f"{type(self).__name__}() got an unexpected keyword argument '{bad}'")
        post = getattr(self, "__post_init__", None)
        if post is not None:
            post()

    return __init__


def _values(obj) -> tuple:
    return tuple(getattr(obj, f.name) for f in obj.__record_fields__)


def _repr(self) -> str:
    inner = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in self.__record_fields__ if f.repr)
    return f"{type(self).__qualname__}({inner})"


def _eq(self, other):
    if other.__class__ is not self.__class__:
        return NotImplemented
    return _values(self) == _values(other)


def _hash(self) -> int:
    return hash(_values(self))


def _frozen_setattr(self, name, value):
    raise FrozenInstanceError(f"cannot assign to field '{name}'")


def _frozen_delattr(self, name):
    raise FrozenInstanceError(f"cannot delete field '{name}'")


def is_record(obj) -> bool:
    return hasattr(obj, "__record_fields__")


def fields(obj_or_cls) -> tuple:
    """The fields (each with its .name) of a record, or of a stdlib dataclass."""
    try:
        return obj_or_cls.__record_fields__
    except AttributeError:
        pass
    if hasattr(obj_or_cls, "__dataclass_fields__"):
        import dataclasses  # already imported by whoever defined it

        return dataclasses.fields(obj_or_cls)
    raise TypeError("must be called with a record type or instance")


def asdict(obj) -> dict:
    """The record as a dict, recursively (lists, tuples and dicts copied)."""
    if not is_record(obj) or isinstance(obj, type):
        raise TypeError("asdict() should be called on record instances")
    return _plain(obj)


def _plain(v):
    if hasattr(v, "__record_fields__") and not isinstance(v, type):
        return {f.name: _plain(getattr(v, f.name)) for f in v.__record_fields__}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if isinstance(v, tuple):
        return tuple(_plain(x) for x in v)
    if isinstance(v, dict):
        return {_plain(k): _plain(x) for k, x in v.items()}
    if hasattr(type(v), "__dataclass_fields__"):
        import dataclasses  # already imported by whoever defined it

        return dataclasses.asdict(v)
    return v


def replace(obj, /, **changes):
    """A new record like obj with some fields changed."""
    for f in obj.__record_fields__:
        changes.setdefault(f.name, getattr(obj, f.name))
    return type(obj)(**changes)
