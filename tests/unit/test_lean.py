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


JSON_VALUES = [
    {}, [], "", 0, -1, 1.5, 1e300, True, False, None, "é\u2028\x00\"\\/\n", "\U0001f600",
    {"a": [1, 2.25, {"b": None}], "c": "d", "": [[], {}]}, [float("inf"), float("-inf")], 2**70,
    {"status": Lean.RUNNING}, ("a", 1), {1: "int key", 2.5: "float key", None: "n", False: "f"},
]


@pytest.mark.parametrize("value", JSON_VALUES)
def test_json_dumps_and_loads_are_jsons(value):
    from pypod.lean import json_dumps, json_loads

    assert json_dumps(value) == json.dumps(value)
    assert json_dumps(value, separators=(",", ":")) == json.dumps(value, separators=(",", ":"))
    text = json.dumps(value)
    for form in (text, f" \n{text}\t\r ", text.encode()):
        assert json_loads(form) == json.loads(form)


def test_json_nan_and_errors_are_jsons():
    import math

    from pypod.lean import json_dumps, json_loads

    assert json_dumps(float("nan")) == "NaN" and math.isnan(json_loads("NaN"))
    for bad in ("", " ", "{", '{"a": 1} x', "[1,]", '"\x01"', "01", "nul", b"\xff", '{"a" 1}'):
        with pytest.raises(ValueError) as lean_err:
            json_loads(bad)
        with pytest.raises(ValueError) as std_err:
            json.loads(bad)
        assert type(lean_err.value) is type(std_err.value) and str(lean_err.value) == str(std_err.value)
    with pytest.raises(TypeError, match="not JSON serializable"):
        json_dumps({"x": object()})
    with pytest.raises(TypeError):
        json_loads(None)
    loop: list = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference"):
        json_dumps(loop)
    assert json_dumps([1]) == "[1]"  # a failed call leaves nothing behind
    assert json_loads(b'\xef\xbb\xbf{"bom": 1}') == json.loads(b'\xef\xbb\xbf{"bom": 1}') == {"bom": 1}


def test_lazy_pattern_is_re_compile_on_first_use():
    import re

    from pypod.lean import LazyPattern

    for pattern, texts in ((r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$", ["abc", "a.b-c_d", "-x", "", "a" * 129, "abc\n", "é"]),
                           (r"(\d+)(ms|s)", ["10ms", "x10s", "s"])):
        lazy, std = LazyPattern(pattern), re.compile(pattern)
        assert lazy._compiled is None
        for t in texts:
            for method in ("match", "fullmatch", "search"):
                got, want = getattr(lazy, method)(t), getattr(std, method)(t)
                assert (got and got.group(0)) == (want and want.group(0)), (pattern, t, method)
        assert lazy.compiled() is lazy.compiled() and lazy.compiled().pattern == pattern
    assert LazyPattern("a", re.IGNORECASE).match("A")


def test_contextmanager_and_suppress_are_contextlibs():
    from pypod.lean import contextmanager, suppress

    seen = []

    @contextmanager
    def guarded(tag):
        """doc"""
        seen.append(("enter", tag))
        try:
            yield tag * 2
        except KeyError:
            seen.append(("caught", tag))
        finally:
            seen.append(("exit", tag))

    assert guarded.__name__ == "guarded" and guarded.__doc__ == "doc" and guarded.__wrapped__
    with guarded("a") as v:
        assert v == "aa"
    with guarded("b"):
        raise KeyError("swallowed by the generator")
    with pytest.raises(ValueError):
        with guarded("c"):
            raise ValueError("not swallowed")
    assert seen == [("enter", "a"), ("exit", "a"), ("enter", "b"), ("caught", "b"), ("exit", "b"),
                    ("enter", "c"), ("exit", "c")]
    with suppress(FileNotFoundError, KeyError):
        raise FileNotFoundError
    with pytest.raises(ValueError):
        with suppress(KeyError):
            raise ValueError
    with suppress():  # nothing to suppress: contextlib.nullcontext()
        pass


ERROR_WITHOUT_JSON = """
import sys
sys.path.insert(0, sys.argv[1])
from pypod.lean import json_loads
assert "json" not in sys.modules and "json.decoder" not in sys.modules
try:
    json_loads(sys.argv[2])
except ValueError as e:
    print(type(e).__name__, e)
"""


@pytest.mark.parametrize("bad", ['"\x01"', '{"a" 1}', '[1,]', '{"a": "b\\q"}', '{"a": 1} x', ''])
def test_json_loads_errors_before_json_is_imported(bad):
    """The C scanner raises json.decoder's error class, which it finds only
    if json is imported: a lean process must still get json's own error."""
    import os
    import subprocess
    import sys

    import pypod

    here = os.path.dirname(os.path.dirname(os.path.abspath(pypod.__file__)))
    out = subprocess.run([sys.executable, "-S", "-c", ERROR_WITHOUT_JSON, here, bad], capture_output=True,
                         text=True, check=True).stdout
    with pytest.raises(ValueError) as std:
        json.loads(bad)
    assert out == f"{type(std.value).__name__} {std.value}\n"
