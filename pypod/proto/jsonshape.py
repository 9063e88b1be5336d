"""JSON documents' expected shapes, checked before anything reads them.

A Schema says what a value must be (Bool, Int in a range, Str of a bounded
length, List, Map, Obj with typed fields, OneOf); check() returns the
value or raises InvalidArgument naming the field (`HostConfig.Ulimits[0].
Soft must be an integer from -1 to ...`).  JSON null is accepted for every
field and means "not set", as Go's decoder (podman's) treats it; fields an
Obj does not declare pass untouched.  Used for request bodies (api/
validate.py) and for the documents inside image archives (storage/).
"""

from __future__ import annotations

from ..errors import InvalidArgument
from ..specgen.numbers import INT64_MAX, INT64_MIN

#: a string field longer than this is refused (names, paths, commands)
MAX_STR = 1 << 20
#: list and map entries
MAX_ITEMS = 1 << 16


def _kind(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int):
        return "a number"
    if isinstance(v, float):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "an object"
    return type(v).__name__


def _bad(path: str, want: str, v) -> InvalidArgument:
    return InvalidArgument(f"{path or 'the document'} must be {want}, not {_kind(v)}")


class Schema:
    """A JSON value's expected shape; check() returns it or raises a 400.
    null passes (it means "not set"); a value of the wrong JSON type is
    refused here; the rest is each shape's _check()."""

    want = "a value"
    #: the Python type(s) the JSON value must have (None: any)
    kind: type | tuple | None = None

    def check(self, v, path: str):
        if v is None:
            return v
        if self.kind is not None and (not isinstance(v, self.kind) or (isinstance(v, bool) and bool not in _kinds(self.kind))):
            raise _bad(path, self.want, v)
        return self._check(v, path)

    def _check(self, v, path: str):
        return v


def _kinds(kind) -> tuple:
    return kind if isinstance(kind, tuple) else (kind,)


class Anything(Schema):
    """Any JSON value (its depth is bounded when the body is parsed)."""


class Bool(Schema):
    want = "a boolean"
    kind = bool


class Int(Schema):
    def __init__(self, lo: int = INT64_MIN, hi: int = INT64_MAX):
        self.lo, self.hi = lo, hi
        self.want = f"an integer from {lo} to {hi}"

    kind = (int, float)

    def _check(self, v, path: str):
        if isinstance(v, float):
            if not (v.is_integer() and abs(v) < 2**53):
                raise _bad(path, self.want, v)
            v = int(v)  # JSON has one number type: 10.0 is 10 to Go's decoder too
        if not self.lo <= v <= self.hi:
            raise InvalidArgument(f"{path} must be {self.want}, not {v}")
        return v


class Str(Schema):
    def __init__(self, max_len: int = MAX_STR, choices: tuple[str, ...] | None = None):
        self.max_len, self.choices = max_len, choices
        self.want = "one of " + ", ".join(map(repr, choices)) if choices else "a string"

    kind = str

    def check(self, v, path: str):
        if v is not None and not isinstance(v, str):
            raise _bad(path, "a string", v)  # not "one of ...": the type is what is wrong
        return super().check(v, path)

    def _check(self, v, path: str):
        if len(v) > self.max_len:
            raise InvalidArgument(f"{path} is longer than {self.max_len} characters")
        if "\0" in v:
            raise InvalidArgument(f"{path} holds a NUL character")
        if self.choices is not None and v not in self.choices:
            raise InvalidArgument(f"{path} must be {self.want}, not {v!r}")
        return v


class List(Schema):
    def __init__(self, item: Schema, max_items: int = MAX_ITEMS, exact: int | None = None):
        self.item, self.max_items, self.exact = item, max_items, exact
        self.want = "a list"

    kind = list

    def _check(self, v, path: str):
        if len(v) > self.max_items or (self.exact is not None and len(v) != self.exact):
            n = self.exact if self.exact is not None else f"at most {self.max_items}"
            raise InvalidArgument(f"{path} must hold {n} entries, not {len(v)}")
        return [self.item.check(x, f"{path}[{i}]") for i, x in enumerate(v)]


class Map(Schema):
    """An object with any keys and values of one shape (labels, env, ...)."""

    def __init__(self, value: Schema, max_items: int = MAX_ITEMS):
        self.value, self.max_items = value, max_items
        self.want = "an object"

    kind = dict

    def _check(self, v, path: str):
        if len(v) > self.max_items:
            raise InvalidArgument(f"{path} holds more than {self.max_items} entries")
        for k in v:
            if len(k) > MAX_STR or "\0" in k:
                raise InvalidArgument(f"a key of {path} is too long or holds a NUL")
        return {k: self.value.check(x, f"{path}.{k}") for k, x in v.items()}


class Obj(Schema):
    """An object whose declared fields have shapes; others pass untouched."""

    def __init__(self, fields: dict[str, Schema], required: tuple[str, ...] = ()):
        self.fields, self.required = fields, required
        self.want = "an object"

    kind = dict

    def _check(self, v, path: str):
        for name in self.required:
            if v.get(name) is None:
                raise InvalidArgument(f"{_join(path, name)} is required")
        out = dict(v)
        for name, schema in self.fields.items():
            if name in v:
                out[name] = schema.check(v[name], _join(path, name))
        return out


class OneOf(Schema):
    """The first of several shapes that fits (Docker's Cmd: a string or a list)."""

    def __init__(self, *options: Schema):
        self.options = options
        self.want = " or ".join(o.want for o in options)

    def _check(self, v, path: str):
        for o in self.options:
            try:
                return o.check(v, path)
            except InvalidArgument:
                continue
        raise _bad(path, self.want, v)


def Strs(max_items: int = MAX_ITEMS) -> List:
    return List(Str(), max_items)


def StrOrList() -> OneOf:
    return OneOf(Str(), Strs())


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def check(schema: Schema, doc, what: str):
    """doc checked against schema; a misfit is a 400 saying where, in what."""
    try:
        return schema.check(doc, "")
    except InvalidArgument as e:
        raise InvalidArgument(f"invalid {what}: {e}") from None


def parse_json(data: bytes, what: str):
    """json.loads that answers a 400 for what it cannot read, however
    deeply the document nests (the decoder's recursion is Python's)."""
    import json

    try:
        return json.loads(data)
    except RecursionError:
        raise InvalidArgument(f"invalid JSON in {what}: nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidArgument(f"invalid JSON in {what}: {e}") from None
