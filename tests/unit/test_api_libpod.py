"""libpod request mapping: SpecGenerator types are checked as podman's
decoder checks them (a wrong type is a 400, never a container)."""

import pytest

from pypod.api.libpod import config_from_spec
from pypod.errors import InvalidArgument


@pytest.mark.parametrize("spec", [
    {"image": "busybox", "command": "true"},
    {"image": "busybox", "entrypoint": "sh"},
    {"image": "busybox", "cap_add": "NET_ADMIN"},
    {"image": "busybox", "labels": {"a": {}}},
    {"image": "busybox", "env": {"A": 1}},
    {"image": "busybox", "name": 5},
    {"image": "busybox", "netns": "host"},
    {"image": "busybox", "netns": {"nsmode": 1}},
    {"image": "busybox", "mounts": {"destination": "/d"}},
    {"image": "busybox", "mounts": [{"destination": 5}]},
    {"image": "busybox", "mounts": [{"destination": "/d", "source": 1}]},
    {"image": "busybox", "mounts": [{"destination": "/d", "options": "ro"}]},
])
def test_wrong_types_are_400s(spec):
    with pytest.raises(InvalidArgument):
        config_from_spec(spec)


def test_spec_fields_map():
    cfg = config_from_spec({"image": "busybox", "command": ["sleep", "1"], "entrypoint": ["/bin/sh", "-c"],
                            "name": "n", "work_dir": "/w", "user": "1000", "labels": {"k": "v"},
                            "privileged": True, "cap_drop": ["ALL"], "read_only_filesystem": True, "stdin": True,
                            "stop_signal": "SIGINT", "stop_timeout": 3, "netns": {"nsmode": "none"},
                            "mounts": [{"destination": "/d", "source": "/tmp", "options": ["ro", "weird"]}]})
    assert (cfg.name, cfg.command, cfg.entrypoint, cfg.workdir, cfg.user) == ("n", ["sleep", "1"], ["/bin/sh", "-c"], "/w", "1000")
    assert cfg.labels == {"k": "v"} and cfg.privileged and cfg.cap_drop == ["ALL"] and cfg.read_only and cfg.stdin
    assert (cfg.stop_signal, cfg.stop_timeout, cfg.network) == (2, 3, "none")
    assert cfg.mounts[0].options == ["ro"]
