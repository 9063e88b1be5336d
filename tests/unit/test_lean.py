"""pypod.lean's stand-ins behave as the stdlib's do where pypod relies on them."""

from __future__ import annotations

import copy
import enum
import json
import pickle

import pytest

from pypod.lean import StrEnum, cached_property


class Lean(StrEnum):
    CREATED = "created"
    RUNNING = "running"
    STOPPED = "stopped"


class Std(str, enum.Enum):
    CREATED = "created"
    RUNNING = "running"
    STOPPED = "stopped"

    def __str__(self) -> str:
        return self.value


def test_strenum_behaves_as_a_str_enum():
    for lean, std in zip(Lean, Std, strict=True):
        assert (lean.name, lean.value, str(lean), f"{lean}", f"{lean:>9}") == \
               (std.name, std.value, str(std), f"{std}", f"{std:>9}")
        assert lean == std.value and hash(lean) == hash(std.value) and isinstance(lean, str)
        assert Lean(std.value) is lean and Lean(lean) is lean
        assert type(lean.value) is str
        assert json.dumps({"s": lean}) == json.dumps({"s": std})
        assert pickle.loads(pickle.dumps(lean)) is lean and copy.deepcopy(lean) is lean
    assert [m.name for m in Lean] == ["CREATED", "RUNNING", "STOPPED"] and len(Lean) == 3
    assert Lean.RUNNING in ("running", "paused") and {"running": 1}[Lean.RUNNING] == 1
    assert repr(Lean.RUNNING) == "<Lean.RUNNING: 'running'>"
    for bad in ("bogus", "RUNNING", None, ["running"]):
        with pytest.raises(ValueError):
            Lean(bad)


def test_cached_property_computes_once_per_instance():
    calls = []

    class Thing:
        def __init__(self, n):
            self.n = n

        @cached_property
        def double(self):
            """twice n"""
            calls.append(self.n)
            return 2 * self.n

    a, b = Thing(1), Thing(2)
    assert (a.double, a.double, b.double) == (2, 2, 4) and calls == [1, 2]
    assert "double" in a.__dict__ and Thing.double.__doc__ == "twice n"
    del a.double
    assert a.double == 2 and calls == [1, 2, 1]
