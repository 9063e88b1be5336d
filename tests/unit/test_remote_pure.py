"""The remote client's pure parts: destinations and Info's field names."""

from __future__ import annotations

import pytest

from pypod.engine.sysinfo import as_json, from_json
from pypod.errors import InvalidArgument
from pypod.remote.connections import check_uri, destination


@pytest.mark.parametrize("uri", ["unix:///run/x.sock", "tcp://127.0.0.1:8080", "tcp://[::1]:80"])
def test_good_uris(uri):
    assert check_uri(uri) == uri


@pytest.mark.parametrize("uri,words", [("ssh://u@h/x", "ssh destinations"), ("unix://rel/x", "absolute path"),
                                       ("tcp://host", "host:port"), ("http://x", "not a supported schema"),
                                       ("/run/x.sock", "invalid URL")])
def test_bad_uris(uri, words):
    with pytest.raises(InvalidArgument, match=words):
        check_uri(uri)


def test_destination_order(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("CONTAINER_HOST", raising=False)
    assert destination() == "unix:///run/pypod/pypod.sock"
    monkeypatch.setenv("CONTAINER_HOST", "tcp://127.0.0.1:1")
    assert destination() == "tcp://127.0.0.1:1" and destination(url="unix:///a") == "unix:///a"
    with pytest.raises(InvalidArgument, match='cannot find connection "x"'):
        destination(connection="x")


def test_info_names_round_trip():
    data = {"Host": {"Arch": "amd64", "OCIRuntime": {"Name": "runc"}, "Security": {"SECCOMPEnabled": True}},
            "Store": {"GraphRoot": "/r", "GraphOptions": {"overlay.mountopt": "nodev"}}, "Registries": {"search": ["a"]}}
    assert as_json(data)["host"]["ociRuntime"]["name"] == "runc"
    assert from_json(as_json(data)) == data
