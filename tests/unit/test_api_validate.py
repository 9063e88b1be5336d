"""The validation layer: every wrongly shaped query or body is a 400
(InvalidArgument) naming the field, before any handler work."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pypod.api import validate as v
from pypod.errors import InvalidArgument


def test_body_fields_are_named():
    from pypod.api.docker import DOCKER_CREATE

    with pytest.raises(InvalidArgument, match=r"HostConfig\.NetworkMode must be a string, not a list"):
        v.check_body(DOCKER_CREATE, {"Image": "busybox", "HostConfig": {"NetworkMode": ["x"]}})
    with pytest.raises(InvalidArgument, match=r"HostConfig\.Ulimits must be a list, not a number"):
        v.check_body(DOCKER_CREATE, {"Image": "busybox", "HostConfig": {"Ulimits": 5}})
    with pytest.raises(InvalidArgument, match=r"StopTimeout must be an integer from 0 to"):
        v.check_body(DOCKER_CREATE, {"Image": "busybox", "StopTimeout": 2**70})
    with pytest.raises(InvalidArgument, match=r"HostConfig\.Ulimits\[0\]\.Soft"):
        v.check_body(DOCKER_CREATE, {"Image": "busybox", "HostConfig": {"Ulimits": [{"Name": "nofile", "Soft": 2**70, "Hard": 1}]}})
    with pytest.raises(InvalidArgument, match="Image is required"):
        v.check_body(DOCKER_CREATE, {"Cmd": ["true"]})
    ok = v.check_body(DOCKER_CREATE, {"Image": "busybox", "Cmd": "true", "Unknown": {"x": [1]}, "Labels": None})
    assert ok["Cmd"] == "true" and ok["Unknown"] == {"x": [1]}


def test_libpod_spec_fields():
    from pypod.api.libpod import SPEC_GENERATOR

    with pytest.raises(InvalidArgument, match=r"netns must be an object, not a string"):
        v.check_body(SPEC_GENERATOR, {"image": "busybox", "netns": "host"})
    with pytest.raises(InvalidArgument, match=r"mounts\[0\]\.destination must be a string, not a number"):
        v.check_body(SPEC_GENERATOR, {"image": "busybox", "mounts": [{"destination": 5}]})
    assert v.check_body(SPEC_GENERATOR, {"image": "b", "stop_signal": 9})["stop_signal"] == 9


def test_exec_bodies():
    from pypod.api.docker import EXEC_CREATE, EXEC_START

    with pytest.raises(InvalidArgument, match="DetachKeys must be a string, not a number"):
        v.check_body(EXEC_CREATE, {"Cmd": ["true"], "DetachKeys": 5})
    with pytest.raises(InvalidArgument, match="ConsoleSize must hold 2 entries"):
        v.check_body(EXEC_START, {"ConsoleSize": [1, 2, 3]})


def test_query_params():
    spec = {"t": v.Q.int(0, v.UINT64_MAX), "force": v.Q.bool(), "since": v.Q.time(), "filters": v.Q.json(v.FILTERS)}
    v.check_query(spec, {"t": "10", "force": "true", "since": "10m", "filters": '{"name":["a"]}', "other": "x"})
    for bad in ({"t": "-5"}, {"t": str(2**64)}, {"t": "1e3"}, {"t": "٣"}, {"force": "maybe"}, {"since": "abc"},
                {"filters": "[1]"}, {"filters": "{"}, {"filters": "[" * 100000}):
        with pytest.raises(InvalidArgument, match="query parameter"):
            v.check_query(spec, bad)


def test_deep_json_is_a_clean_error():
    with pytest.raises(InvalidArgument, match="nested too deeply"):
        v.parse_json(b"[" * 100_000 + b"]" * 100_000, "request body")
    with pytest.raises(InvalidArgument, match="nested too deeply"):
        v.parse_json(b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "request body")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80) | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["Image", "Cmd", "Env", "HostConfig", "Labels", "StopTimeout", "Tty", "x"]),
                       json_values, max_size=6))
def test_docker_create_body_property(body):
    """Whatever the body, the check and the mapping to a config either
    succeed or raise InvalidArgument: never another exception."""
    from pypod.api.docker import DOCKER_CREATE, config_from_docker

    try:
        doc = v.check_body(DOCKER_CREATE, json.loads(json.dumps(body)))
        config_from_docker(doc, "")
    except InvalidArgument:
        pass
