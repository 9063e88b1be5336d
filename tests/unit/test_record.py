"""pypod.record against the stdlib dataclasses it stands in for."""

from __future__ import annotations

import dataclasses
import enum

import pytest

from pypod.record import FrozenInstanceError, asdict, field, fields, record, replace


class Color(str, enum.Enum):
    RED = "red"
    BLUE = "blue"


def twins():
    """The same classes written both ways."""
    out = []
    for deco, fld in ((record, field), (dataclasses.dataclass, dataclasses.field)):
        @deco
        class Inner:
            path: str
            opts: list[str] = fld(default_factory=list)

        @deco
        class Outer:
            name: str
            count: int = 0
            color: Color = Color.RED
            tags: list[str] = fld(default_factory=list)
            inner: list[Inner] = fld(default_factory=list)
            pairs: list[tuple[str, int]] = fld(default_factory=list)
            meta: dict[str, str] = fld(default_factory=dict)

        out.append((Inner, Outer))
    return out


def test_same_construction_equality_repr_and_asdict():
    (ri, ro), (di, do) = twins()
    for args, kw in (((), {"name": "a"}), (("a", 3), {"tags": ["x"]}), (("b",), {"inner": "I", "pairs": [("n", 1)]})):
        r = ro(*args, **{k: ([ri("/p", ["ro"])] if v == "I" else v) for k, v in kw.items()})
        d = do(*args, **{k: ([di("/p", ["ro"])] if v == "I" else v) for k, v in kw.items()})
        assert asdict(r) == dataclasses.asdict(d)
        assert repr(r) == repr(d)
        assert r == ro(*args, **{k: ([ri("/p", ["ro"])] if v == "I" else v) for k, v in kw.items()})
        assert r != replace(r, count=99) and replace(r, count=99).count == 99
    assert [f.name for f in fields(ro)] == [f.name for f in dataclasses.fields(do)]
    # each instance gets its own mutable default
    a, b = ro("a"), ro("b")
    a.tags.append("t")
    assert b.tags == [] and ro.count == 0 and ro.color is Color.RED


def test_same_errors_as_dataclasses():
    (_ri, ro), (_di, do) = twins()
    for cls in (ro, do):
        with pytest.raises(TypeError):
            cls()  # name is required
        with pytest.raises(TypeError):
            cls("a", nope=1)
        with pytest.raises(TypeError):
            cls("a", name="b")
        with pytest.raises(TypeError):
            cls("a", 1, Color.RED, [], [], [], {}, "extra")
        with pytest.raises(TypeError):
            hash(cls("a"))  # mutable records are unhashable
    with pytest.raises(ValueError):
        @record
        class Bad:
            items: list = []  # noqa: RUF012  shared mutable default
    with pytest.raises(TypeError):
        @record
        class Order:
            a: int = 0
            b: int


def test_frozen_inheritance_and_post_init():
    @record(frozen=True)
    class Conf:
        root: str = "/r"
        paths: dict = field(default_factory=dict)

    c = Conf()
    with pytest.raises(FrozenInstanceError):
        c.root = "/x"
    assert replace(c, root="/y").root == "/y" and c.root == "/r"
    assert Conf("/a") == Conf("/a")

    class Base:
        def describe(self):
            return f"{type(self).__name__}:{asdict(self)}"

    @record
    class State(Base):
        status: str = "created"
        pid: int = 0

        def __post_init__(self):
            self.pid = max(self.pid, 0)

    @record
    class More(State):
        extra: int = 1

    assert State(pid=-5).pid == 0
    assert More("running", 3, 4).describe() == "More:{'status': 'running', 'pid': 3, 'extra': 4}"
    assert [f.name for f in fields(More())] == ["status", "pid", "extra"]


def test_a_stdlib_dataclass_inside_a_record_converts():
    @dataclasses.dataclass
    class Net:
        mode: str = "bridge"
        ports: list = dataclasses.field(default_factory=list)

    @record
    class Cfg:
        net: Net = field(default_factory=Net)

    assert asdict(Cfg()) == {"net": {"mode": "bridge", "ports": []}}
