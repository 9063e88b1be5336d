"""The registry routes of the REST service with the real clients: docker-py
pulls (Docker's JSON progress), pushes with X-Registry-Auth and logs in;
podman-py pulls through the libpod route; raw streams are checked line by
line."""

from __future__ import annotations

import base64
import json
import os
import subprocess

import pytest

from tests.conftest import wait_for
from tests.integration.test_api import body_of, raw, status_of

from .helpers import PASSWORD, USER


@pytest.fixture
def service(rp, tmp_path):
    sock = str(tmp_path / "api.sock")
    proc = subprocess.Popen([*rp.argv, "system", "service", "--time", "0", f"unix://{sock}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert wait_for(lambda: os.path.exists(sock), timeout=15), proc.stderr.read() if proc.poll() is not None else ""
    yield sock
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def _lines(resp: bytes) -> list[dict]:
    """The JSON objects of a chunked streamed body."""
    assert b"transfer-encoding: chunked" in resp.partition(b"\r\n\r\n")[0].lower(), resp[:300]
    return [json.loads(line) for line in body_of(resp).splitlines() if line.strip()]


def _post(sock: str, path: str, headers: bytes = b"", timeout: float = 60) -> bytes:
    return raw(sock, b"POST " + path.encode() + b" HTTP/1.1\r\nHost: d\r\nConnection: close\r\nContent-Length: 0\r\n"
               + headers + b"\r\n", timeout=timeout)


def _get(sock: str, path: str) -> bytes:
    return raw(sock, f"GET {path} HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n".encode(), timeout=60)


def test_docker_pull_stream_and_errors(service, registry, rp):
    ref = f"{registry.host}/test/app"
    resp = _post(service, f"/v1.41/images/create?fromImage={ref}&tag=latest")
    assert status_of(resp) == 200
    lines = _lines(resp)
    assert lines[0] == {"status": "Pulling from test/app", "id": "latest"}
    statuses = [ln.get("status") for ln in lines]
    assert statuses.count("Pulling fs layer") == 4 and statuses.count("Pull complete") == 4
    assert any(ln.get("status") == "Downloading" and ln["progressDetail"]["total"] > 0 for ln in lines)
    assert lines[-2]["status"].startswith("Digest: sha256:")
    assert lines[-1] == {"status": f"Status: Downloaded newer image for {ref}:latest"}
    again = _lines(_post(service, f"/v1.41/images/create?fromImage={ref}&tag=latest"))
    assert again[-1] == {"status": f"Status: Image is up to date for {ref}:latest"}
    assert [ln["status"] for ln in again if ln.get("id") and ln["id"] != "latest"] == ["Already exists"] * 4
    # errors before the stream are HTTP errors with the registry's words
    resp = _post(service, f"/v1.41/images/create?fromImage={registry.host}/test/nope&tag=latest")
    assert status_of(resp) == 404 and b"manifest unknown" in resp
    resp = _post(service, "/v1.41/images/create?fromImage=127.0.0.1:1/x&tag=1")
    assert status_of(resp) == 500 and b"connection refused" in resp
    resp = _post(service, "/v1.41/images/create?fromImage=BAD//name")
    assert status_of(resp) == 400
    # distribution: the manifest list's digest and its platforms
    resp = _get(service, f"/v1.41/distribution/{registry.host}/test/multi:latest/json")
    d = json.loads(resp.split(b"\r\n\r\n", 1)[1])
    assert d["Descriptor"]["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert {p["architecture"] for p in d["Platforms"]} == {"amd64", "arm64"}


def test_docker_py_pull_push_login(service, basic_registry, rp):
    docker = pytest.importorskip("docker")
    c = docker.DockerClient(base_url=f"unix://{service}", version="1.41")
    host = basic_registry.host
    with pytest.raises(docker.errors.APIError) as e:
        c.images.pull(f"{host}/sec/app", tag="1")
    assert e.value.response.status_code == 500 and "unauthorized" in str(e.value)
    with pytest.raises(docker.errors.APIError) as e:
        c.login(USER, "wrong", registry=host)
    assert e.value.response.status_code == 401
    assert c.login(USER, PASSWORD, registry=host)["Status"] == "Login Succeeded"
    creds = {"username": USER, "password": PASSWORD}
    img = c.images.pull(f"{host}/sec/app", tag="1", auth_config=creds)
    assert img.tags == [f"{host}/sec/app:1"]
    # all_tags: no tag in the request, every tag of the repository
    assert [i.id for i in c.images.pull(f"{host}/sec/app", all_tags=True, auth_config=creds)] == [img.id]
    assert c.containers.run(img.id, remove=True) == b"hello from the registry\n"
    img.tag(f"{host}/sec/pushed", "v2")
    out = [json.loads(x) for x in c.images.push(f"{host}/sec/pushed", tag="v2", auth_config=creds).splitlines()]
    assert out[0] == {"status": f"The push refers to repository [{host}/sec/pushed]"}
    assert out[-1]["aux"]["Tag"] == "v2" and out[-1]["aux"]["Digest"].startswith("sha256:")
    assert [o["status"] for o in out if o.get("id")] == ["Mounted from sec/app"] * 4  # its blobs are in sec/app
    # a client without the login (docker-py keeps it for the next calls): as from Docker's daemon,
    # the refusal comes in the stream
    anon = docker.DockerClient(base_url=f"unix://{service}", version="1.41")
    out = [json.loads(x) for x in anon.images.push(f"{host}/sec/pushed", tag="v2").splitlines()]
    assert "unauthorized" in out[-1]["errorDetail"]["message"] and out[-1]["error"]


def test_podman_py_pull_and_libpod_stream(service, registry, rp):
    podman = pytest.importorskip("podman")
    with podman.PodmanClient(base_url=f"unix://{service}") as client:
        img = client.images.pull(f"{registry.host}/test/app", tag="latest", tls_verify=False)
        assert img.id.removeprefix("sha256:") == rp.out("image", "inspect", "--format", "{{.Id}}", f"{registry.host}/test/app")
        with pytest.raises(podman.errors.APIError):
            client.images.pull(f"{registry.host}/test/nope", tag="latest", tls_verify=False)
    resp = _post(service, f"/v4.3.1/libpod/images/pull?reference={registry.host}/test/multi&tlsVerify=false")
    lines = _lines(resp)
    text = "".join(ln.get("stream", "") for ln in lines)
    assert f"Trying to pull {registry.host}/test/multi:latest...\n" in text and "Writing manifest" in text
    assert len(lines[-1]["images"]) == 1 and lines[-1]["id"] == lines[-1]["images"][0]
    # policy missing: no registry needed for what is here
    resp = _post(service, "/v4.3.1/libpod/images/pull?reference=busybox&policy=missing&quiet=true")
    assert status_of(resp) == 200 and _lines(resp)[-1]["id"]
    resp = _post(service, "/v4.3.1/libpod/images/pull?reference=x&policy=sometimes")
    assert status_of(resp) == 400
    # search, both APIs
    resp = _get(service, f"/v1.41/images/search?term={registry.host}/multi")
    assert json.loads(resp.split(b"\r\n\r\n", 1)[1])[0]["name"] == f"{registry.host}/test/multi"
    resp = _get(service, f"/v4.3.1/libpod/images/search?term={registry.host}/test/app&listTags=true&tlsVerify=false")
    assert json.loads(resp.split(b"\r\n\r\n", 1)[1]) == [{"Name": f"{registry.host}/test/app", "Tag": "latest"}]


def test_libpod_push(service, fresh_registry, rp):
    auth = base64.urlsafe_b64encode(json.dumps({}).encode())
    # podman 5's clients read the digest from the last line; quiet unless told (libpod's default)
    resp = _post(service, f"/v5.0.0/libpod/images/busybox/push?destination={fresh_registry.host}/lp/bb:1&tlsVerify=false",
                 b"X-Registry-Auth: " + auth + b"\r\n")
    lines = _lines(resp)
    assert lines == [{"manifestdigest": lines[-1]["manifestdigest"]}] and lines[-1]["manifestdigest"].startswith("sha256:")
    # podman 4's take any other line for a broken stream: "stream" lines only
    resp = _post(service, f"/v4.3.1/libpod/images/busybox/push?destination={fresh_registry.host}/lp/bb:2&tlsVerify=false"
                          "&quiet=false")
    lines = _lines(resp)
    assert lines and all(list(ln) == ["stream"] for ln in lines)
    assert "Writing manifest" in "".join(ln["stream"] for ln in lines)
    resp = _post(service, f"/v4.3.1/libpod/images/nosuch/push?destination={fresh_registry.host}/lp/x:1")
    assert status_of(resp) == 404
