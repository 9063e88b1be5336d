"""The issue's REST reproductions, each a clean 4xx naming the field (or the truth)."""

from __future__ import annotations

import os
import re

import pytest

from tests import apifuzz

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="runs real containers: needs root")


call = apifuzz.http_call


@pytest.fixture
def svc(pypod, tmp_path):
    s = apifuzz.Service(pypod.argv, str(tmp_path / "api.sock"))
    s.start()
    yield s
    s.stop()
    assert "internal error" not in s.log() and "Traceback" not in s.log(), s.log()


def test_wrong_types_and_ranges_are_400s_naming_the_field(svc, pypod):
    sock = svc.sock
    cases = [
        ("/containers/create", {"Image": "busybox", "HostConfig": {"NetworkMode": ["host"]}}, "HostConfig.NetworkMode"),
        ("/containers/create", {"Image": "busybox", "HostConfig": {"Ulimits": 5}}, "HostConfig.Ulimits"),
        ("/containers/create", {"Image": "busybox", "StopTimeout": 2**70}, "StopTimeout"),
        ("/containers/create", {"Image": "busybox", "HostConfig": {"Ulimits": [{"Name": "nofile", "Soft": 2**70, "Hard": 2**70}]}},
         "Soft"),
        ("/libpod/containers/create", {"image": "busybox", "netns": "host"}, "netns"),
        ("/libpod/containers/create", {"image": "busybox", "mounts": [{"destination": 5}]}, "mounts[0].destination"),
        ("/containers/create", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ]
    for path, body, field in cases:
        status, doc = call(sock, "POST", path, body)
        assert status == 400 and field in doc["message"], (path, status, doc)
    assert pypod.out("ps", "-a", "-q") == ""  # nothing half-made
    pypod("run", "-d", "--name", "c", "busybox", "sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done")
    status, doc = call(sock, "POST", "/containers/c/exec", {"Cmd": ["true"], "DetachKeys": 5})
    assert status == 400 and "DetachKeys" in doc["message"]
    status, doc = call(sock, "GET", "/containers/c/logs?stdout=1&since=abc")
    assert status == 400 and "since" in doc["message"]
    status, doc = call(sock, "POST", f"/containers/c/stop?t={2**64}")
    assert status == 400 and "t=" in doc["message"]
    status, _ = call(sock, "POST", f"/containers/c/stop?t={2**62}")
    assert status == 204  # the process leaves on SIGTERM: no wait of 2**62 seconds
    status, _ = call(sock, "DELETE", "/containers/c?force=1")
    assert status == 204


def test_an_exec_never_started_has_no_exit_code(svc, pypod):
    pypod("run", "-d", "--name", "c", "busybox", "sleep", "1000")
    status, doc = call(svc.sock, "POST", "/containers/c/exec", {"Cmd": ["true"]})
    assert status == 201
    status, info = call(svc.sock, "GET", f"/exec/{doc['Id']}/json")
    assert status == 200 and info["ExitCode"] is None and info["Running"] is False


def test_corrupt_compressed_import_is_a_400(svc):
    for blob in (b"\x1f\x8b\x08\x00" + os.urandom(500), b"\xfd7zXZ\x00" + os.urandom(500)):
        status, doc = call(svc.sock, "POST", "/images/create?fromSrc=-", blob)
        assert status == 400, (status, doc)


def test_registry_routes_check_their_input_before_any_registry(svc):
    """Wrong values are 400s naming the parameter, before a registry is
    looked for (there is none here: a request that got that far would say so)."""
    cases = [
        ("GET", "/images/search?term=x&limit=many", None, "limit"),
        ("GET", "/libpod/images/search?term=x&filters=%7B%22stars%22%3A5%7D", None, "filters"),
        ("POST", "/auth", {"username": 5, "password": "p", "serveraddress": "localhost:1"}, "username"),
        ("POST", "/libpod/images/pull?reference=localhost:1/x&quiet=maybe", None, "quiet"),
        ("POST", "/libpod/images/busybox/push?destination=localhost:1/x&tlsVerify=perhaps", None, "tlsVerify"),
        ("POST", "/images/busybox/push?tag=" + "t" * 200, None, "tag"),
    ]
    for method, path, body, field in cases:
        status, doc = call(svc.sock, method, path, body)
        assert status == 400 and field in doc["message"], (path, status, doc)


def test_archive_of_a_name_no_filesystem_holds_is_a_400(svc, pypod):
    """A component over 255 bytes (ENAMETOOLONG) is a bad request, not a 500."""
    pypod("create", "--name", "fs", "busybox", "true")
    for method in ("GET", "HEAD"):
        status, doc = call(svc.sock, method, "/containers/fs/archive?path=/" + "x" * 300)
        assert status == 400, (method, status, doc)
    status, doc = call(svc.sock, "GET", "/containers/fs/archive?path=/" + "x" * 300)
    assert "file name too long" in doc["message"]
    assert pypod("cp", "fs:/" + "y" * 300, str(svc.sock) + ".out", check=False).returncode == 125


def test_network_routes_check_their_bodies_before_any_work(svc, pypod):
    """A wrongly typed field is a 400 naming it, and no network is made:
    before these were declared, a list Driver became the string "['x']"
    and "Internal": "false" meant true."""
    cases = [
        ("/networks/create", {"Name": "n1", "Driver": ["bridge"]}, "Driver"),
        ("/networks/create", {"Name": "n1", "Internal": "false"}, "Internal"),
        ("/networks/create", {"Name": "n1", "IPAM": {"Config": [{"Subnet": 10}]}}, "IPAM.Config[0].Subnet"),
        ("/networks/create", {"Driver": "bridge"}, "Name is required"),
        ("/libpod/networks/create", {"name": "n1", "subnets": [{"subnet": ["10.0.0.0/24"]}]}, "subnets[0].subnet"),
        ("/libpod/networks/create", {"name": "n1", "dns_enabled": "yes"}, "dns_enabled"),
        ("/networks/podman/connect", {"Container": "c", "EndpointConfig": {"Aliases": [1]}}, "Aliases[0]"),
        ("/libpod/networks/podman/connect", {"container": "c", "static_ips": "10.0.0.9"}, "static_ips"),
        ("/networks/podman/disconnect", {"Container": 7}, "Container"),
    ]
    for path, body, field in cases:
        status, doc = call(svc.sock, "POST", path, body)
        assert status == 400 and field in doc["message"], (path, status, doc)
    for path in ("/networks?filters=[1]", "/libpod/networks/json?filters={", "/networks/prune?filters=5"):
        status, doc = call(svc.sock, "GET" if "prune" not in path else "POST", path)
        assert status == 400 and "filters" in doc["message"], (path, status, doc)
    status, doc = call(svc.sock, "DELETE", "/libpod/networks/podman?timeout=-1")
    assert status == 400 and "timeout" in doc["message"]
    assert len(pypod.out("network", "ls", "--format", "{{.Name}}").split()) == 1  # the default alone


def test_pod_routes_check_their_query_before_any_work(svc, pypod):
    """The pod routes' query parameters are declared: a wrongly typed one is a
    400 naming it, whether or not the pod exists, and nothing changes."""
    pypod("pod", "create", "--name", "vp", "--infra=false")
    for method, path, field in (("GET", "/libpod/pods/json?filters=[1]", "filters"),
                                ("POST", "/libpod/pods/vp/stop?t=soon", "t"),
                                ("POST", "/libpod/pods/vp/kill?signal=" + "X" * 40, "signal"),
                                ("DELETE", "/libpod/pods/vp?force=perhaps", "force"),
                                ("GET", "/libpod/pods/vp/top?delay=-3", "delay"),
                                ("GET", "/libpod/pods/stats?all=maybe", "all")):
        status, doc = call(svc.sock, method, path)
        assert status == 400 and re.search(rf"parameter:? {field}\b", doc["message"]), (path, status, doc)
    assert pypod.out("pod", "ps", "--format", "{{.Name}}") == "vp"
