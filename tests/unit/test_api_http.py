"""The REST service's pure parts: routing, body reading, request mapping."""

import pytest

from pypod.api.docker import config_from_docker
from pypod.api.http import Router
from pypod.api.libpod import config_from_spec
from pypod.errors import InvalidArgument, PypodError


def test_router_strips_versions_and_captures():
    r = Router()
    r.add("GET", "/containers/{id}/json", "inspect")
    r.add("POST", "/containers/create", "create")
    assert r.match("GET", "/v1.41/containers/abc/json") == ("inspect", {"id": "abc"})
    assert r.match("GET", "/containers/a%2Fb/json") == ("inspect", {"id": "a/b"})
    assert r.match("HEAD", "/containers/x/json")[0] == "inspect"
    with pytest.raises(PypodError) as e:
        r.match("DELETE", "/containers/create")
    assert e.value.http_status == 405
    with pytest.raises(PypodError) as e:
        r.match("GET", "/nope")
    assert e.value.http_status == 404


def test_docker_create_body_maps_to_config():
    cfg = config_from_docker({"Image": "busybox", "Cmd": ["echo", "hi"], "Env": ["A=1"], "Tty": True, "OpenStdin": True,
                              "Labels": {"k": "v"}, "StopSignal": "SIGINT", "WorkingDir": "/w",
                              "HostConfig": {"Binds": ["/tmp:/data:ro"], "AutoRemove": True, "NetworkMode": "none",
                                             "CapAdd": ["NET_ADMIN"], "Ulimits": [{"Name": "nofile", "Soft": 10, "Hard": 20}]}}, "n1")
    assert (cfg.name, cfg.image, cfg.command, cfg.env, cfg.tty, cfg.stdin) == ("n1", "busybox", ["echo", "hi"], ["A=1"], True, True)
    assert cfg.stop_signal == 2 and cfg.auto_remove and cfg.network == "none" and cfg.cap_add == ["NET_ADMIN"]
    assert cfg.mounts[0].destination == "/data" and cfg.mounts[0].options == ["ro"]
    assert cfg.ulimits == [("nofile", 10, 20)] and cfg.workdir == "/w"


@pytest.mark.parametrize("body", [
    {}, {"Image": 5}, {"Image": "b", "Cmd": {"a": 1}}, {"Image": "b", "Cmd": [1]}, {"Image": "b", "HostConfig": []},
    {"Image": "b", "Labels": []}, {"Image": "b", "HostConfig": {"NetworkMode": 5}}, {"Image": "b", "StopTimeout": "x"},
])
def test_bad_docker_bodies_are_400s(body):
    with pytest.raises(InvalidArgument):
        config_from_docker(body, "")


def test_libpod_spec_maps_to_config():
    cfg = config_from_spec({"image": "busybox", "command": ["true"], "env": {"A": "1"}, "terminal": True, "remove": True,
                            "netns": {"nsmode": "host"}, "mounts": [{"destination": "/d", "source": "/tmp", "options": ["ro"]}]})
    assert cfg.command == ["true"] and cfg.env == ["A=1"] and cfg.tty and cfg.auto_remove and cfg.network == "host"
    assert cfg.mounts[0].options == ["ro"]
    with pytest.raises(InvalidArgument):
        config_from_spec({"image": "busybox", "env": []})


@pytest.mark.parametrize("spec", [{"image": "b", "stop_timeout": "x"}, {"image": "b", "labels": ["x"]}, {"image": "b", "env": "A=1"}])
def test_bad_libpod_specs_are_400s(spec):
    with pytest.raises(InvalidArgument):
        config_from_spec(spec)
