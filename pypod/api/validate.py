"""One validation layer for what a request carries: its query and its body.

Each route declares what it reads, next to its handler:

    @validated(query={"t": Q.int(0, UINT64_MAX), "force": Q.bool()},
               body=Obj({"Cmd": StrOrList(), "HostConfig": Obj({...})}))
    @with_engine
    def container_stop(req, eng): ...

and the declaration is checked before the handler (and its engine) runs:
types, ranges (timeouts as podman bounds them: a Go uint), sizes, and the
depth a JSON document may nest to.  A value that does not fit is a 400
naming the field, in one sentence; the handler then reads `req.query` and
`req.json()` knowing their shapes, so no wrongly typed value reaches the
engine as a TypeError (a 500) or a number no later call can use.

JSON null is accepted for every body field and means "not set", as Go's
decoder (podman's) treats it; fields a route does not declare are let
through untouched, as Docker ignores fields it does not know.
"""

from __future__ import annotations

from ..errors import InvalidArgument
from ..proto.jsonshape import (  # noqa: F401 (the shapes route modules declare bodies with)
    MAX_STR, Anything, Bool, Int, List, Map, Obj, OneOf, Schema, Str, StrOrList, Strs, check, parse_json,
)
from ..specgen.numbers import INT64_MAX, INT64_MIN, UINT64_MAX

__all__ = ["Q", "Schema", "Bool", "Int", "Str", "List", "Map", "Obj", "OneOf", "Anything", "StrOrList",
           "Strs", "validated", "check_body", "check_query", "UINT64_MAX", "INT64_MAX", "INT64_MIN"]

# -- query parameters ------------------------------------------------------------------


class QParam:
    """A query parameter: always a string on the wire; checked here, read
    by the handler with req.q/qbool/qint, which then cannot fail."""

    def check(self, name: str, value: str) -> None:
        raise NotImplementedError


def _qbad(name: str, want: str, value: str) -> InvalidArgument:
    shown = value if len(value) <= 64 else value[:61] + "..."
    return InvalidArgument(f"invalid query parameter {name}={shown!r}: must be {want}")


class _QBool(QParam):
    def check(self, name, value):
        if value.lower() not in ("", "1", "0", "true", "false", "yes", "no"):
            raise _qbad(name, "a boolean", value)


class _QInt(QParam):
    def __init__(self, lo: int, hi: int):
        self.lo, self.hi = lo, hi

    def check(self, name, value):
        if value == "":
            return
        body = value[1:] if value[:1] in "+-" else value
        if not (body.isdigit() and body.isascii() and len(body) <= 40) or not self.lo <= int(value) <= self.hi:
            raise _qbad(name, f"an integer from {self.lo} to {self.hi}", value)


class _QStr(QParam):
    def __init__(self, max_len: int, choices: tuple[str, ...] | None):
        self.max_len, self.choices = max_len, choices

    def check(self, name, value):
        if len(value) > self.max_len or "\0" in value:
            raise _qbad(name, f"a string of at most {self.max_len} characters", value)
        if self.choices is not None and value not in self.choices:
            raise _qbad(name, "one of " + ", ".join(map(repr, self.choices)), value)


class _QJSON(QParam):
    """A JSON document in a query string (Docker's filters)."""

    def __init__(self, schema: Schema):
        self.schema = schema

    def check(self, name, value):
        if value == "":
            return
        doc = parse_json(value.encode(errors="surrogateescape"), f"query parameter {name}")
        try:
            self.schema.check(doc, name)
        except InvalidArgument as e:
            raise InvalidArgument(f"invalid query parameter: {e}") from None


class _QTime(QParam):
    """A time as podman reads --since/--until (RFC 3339, unix time, duration)."""

    def check(self, name, value):
        if value == "" or value == "0" or value.startswith("0001-01-01"):
            return  # unset, as podman's remote client sends it
        from ..proto.k8s_log import parse_time

        if len(value) > 64:
            raise _qbad(name, "a time", value)
        try:
            parse_time(value)
        except (InvalidArgument, ValueError, OverflowError):
            raise _qbad(name, "a time (RFC 3339, a unix time or a duration)", value) from None


class _QCustom(QParam):
    def __init__(self, fn, want: str):
        self.fn, self.want = fn, want

    def check(self, name, value):
        if not self.fn(value):
            raise _qbad(name, self.want, value)


class Q:
    """Query parameter kinds."""

    @staticmethod
    def bool() -> QParam:
        return _QBool()

    @staticmethod
    def int(lo: int = INT64_MIN, hi: int = INT64_MAX) -> QParam:
        return _QInt(lo, hi)

    @staticmethod
    def str(max_len: int = 4096, choices: tuple[str, ...] | None = None) -> QParam:
        return _QStr(max_len, choices)

    @staticmethod
    def json(schema: Schema) -> QParam:
        return _QJSON(schema)

    @staticmethod
    def time() -> QParam:
        return _QTime()

    @staticmethod
    def custom(fn, want: str) -> QParam:
        return _QCustom(fn, want)


def check_body(schema: Schema, body):
    return check(schema, body, "request body")


#: Docker's filters: {"key": ["value", ...]} or {"key": {"value": true}}
FILTERS = Map(OneOf(Strs(), Map(Bool())), max_items=64)


def check_query(spec: dict[str, QParam], query: dict[str, str]) -> None:
    for name, param in spec.items():
        if name in query:
            param.check(name, query[name])


# -- routes ----------------------------------------------------------------------------------


def validated(query: dict[str, QParam] | None = None, body: Schema | None = None, body_optional: bool = False):
    """Declare a route's query and JSON body; checked before the handler runs.
    The handler's own req.json() then returns the checked document."""

    def wrap(fn):
        def handler(req):
            if query:
                check_query(query, req.query)
            if body is not None:
                doc = req.json(default={} if body_optional else None)
                req.set_json(check_body(body, doc))
            return fn(req)

        handler.__name__ = fn.__name__
        handler.__doc__ = fn.__doc__
        handler.__wrapped__ = fn
        handler.query_spec = query or {}
        handler.body_spec = body
        return handler

    return wrap
