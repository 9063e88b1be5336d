"""The registry routes driven by the real command-line clients: the docker
CLI (Docker's API: pull, push, login, search with X-Registry-Auth from its
own config) and podman's remote client (libpod's API, as podman 4.3.1
reads its streams)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from .helpers import PASSWORD, USER
from .test_api import service  # noqa: F401  (the fixture)

pytestmark = pytest.mark.integration


def _client(argv: list[str], env: dict):
    def run(*args: str, input: bytes | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([*argv, *args], capture_output=True, input=input, env=env, timeout=120,
                              stdin=None if input is not None else subprocess.DEVNULL)
    return run


@pytest.mark.skipif(not shutil.which("docker"), reason="the docker CLI is not installed")
def test_docker_cli_pull_push_login_search(service, registry, basic_registry, fresh_registry, rp, tmp_path):  # noqa: F811
    # its own config dir: docker login writes there, never to ~/.docker
    env = {**os.environ, "DOCKER_HOST": f"unix://{service}", "DOCKER_CONFIG": str(tmp_path / "docker-config")}
    docker = _client(["docker"], env)
    ref = f"{registry.host}/test/app"
    p = docker("pull", ref)
    out = p.stdout.decode()
    assert p.returncode == 0, p.stderr.decode()
    assert "latest: Pulling from test/app" in out and out.count("Pull complete") == 4
    assert f"Status: Downloaded newer image for {ref}:latest" in out and "Digest: sha256:" in out
    p = docker("pull", ref)
    assert f"Status: Image is up to date for {ref}:latest" in p.stdout.decode()
    assert docker("run", "--rm", ref).stdout == b"hello from the registry\n"
    p = docker("pull", f"{registry.host}/test/nope")
    assert p.returncode == 1 and "manifest unknown" in p.stderr.decode()

    dest = f"{fresh_registry.host}/dk/app:v1"
    assert docker("tag", ref, dest).returncode == 0
    p = docker("push", dest)
    assert p.returncode == 0, p.stderr.decode()
    out = p.stdout.decode()
    assert f"The push refers to repository [{fresh_registry.host}/dk/app]" in out and out.count("Pushed") == 4
    digest = out.strip().splitlines()[-1].split("digest: ")[1].split()[0]
    raw = fresh_registry.skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{dest}").stdout
    import hashlib

    assert "sha256:" + hashlib.sha256(raw).hexdigest() == digest
    p = docker("search", f"{fresh_registry.host}/app")
    assert f"{fresh_registry.host}/dk/app" in p.stdout.decode(), p.stderr.decode()
    # --all-tags: no tag in the request, every tag of the repository
    assert docker("tag", ref, f"{fresh_registry.host}/dk/app:v2").returncode == 0
    assert docker("push", f"{fresh_registry.host}/dk/app:v2").returncode == 0
    # (the service's engine holds the image store open meanwhile: its writes must stay visible)
    rp("rmi", f"{fresh_registry.host}/dk/app:v1", f"{fresh_registry.host}/dk/app:v2")
    p = docker("pull", "--all-tags", f"{fresh_registry.host}/dk/app")
    assert p.returncode == 0, p.stderr.decode()
    out = p.stdout.decode()
    assert "v1: Pulling from dk/app" in out and "v2: Pulling from dk/app" in out and out.count("Digest: ") == 2
    tags = json.loads(rp.out("image", "inspect", ref))[0]["RepoTags"]
    assert {f"{fresh_registry.host}/dk/app:v1", f"{fresh_registry.host}/dk/app:v2"} <= set(tags)
    # push --all-tags: every local tag of the repository, one digest line each
    for t in ("a", "b"):
        assert docker("tag", ref, f"{fresh_registry.host}/dk/all:{t}").returncode == 0
    p = docker("push", "--all-tags", f"{fresh_registry.host}/dk/all")
    assert p.returncode == 0, p.stderr.decode()
    out = p.stdout.decode()
    assert out.count("The push refers to repository") == 1 and "a: digest: sha256:" in out and "b: digest: sha256:" in out
    for t in ("a", "b"):
        assert fresh_registry.skopeo("inspect", "--raw", "--tls-verify=false",
                                     f"docker://{fresh_registry.host}/dk/all:{t}").returncode == 0
    p = docker("push", "--all-tags", f"{fresh_registry.host}/dk/none")
    assert p.returncode == 1 and "does not exist locally" in p.stderr.decode()

    # credentials: refused without them, a wrong password refused, then the login's
    # credentials go with each request in X-Registry-Auth
    host = basic_registry.host
    p = docker("pull", f"{host}/sec/app:1")
    assert p.returncode == 1 and "unauthorized" in p.stderr.decode().lower()
    p = docker("login", "-u", USER, "--password-stdin", host, input=b"wrong\n")
    assert p.returncode == 1 and "invalid username/password" in p.stderr.decode()
    p = docker("login", "-u", USER, "--password-stdin", host, input=PASSWORD.encode() + b"\n")
    assert p.returncode == 0 and "Login Succeeded" in p.stdout.decode(), p.stderr.decode()
    assert host in json.loads((tmp_path / "docker-config" / "config.json").read_text())["auths"]
    p = docker("pull", f"{host}/sec/app:1")
    assert p.returncode == 0 and "Pull complete" in p.stdout.decode() or "Already exists" in p.stdout.decode(), \
        p.stderr.decode()
    assert docker("tag", f"{host}/sec/app:1", f"{host}/sec/pushed:2").returncode == 0
    p = docker("push", f"{host}/sec/pushed:2")
    assert p.returncode == 0, p.stderr.decode()
    assert basic_registry.skopeo("inspect", "--raw", "--tls-verify=false", f"--creds={USER}:{PASSWORD}",
                                 f"docker://{host}/sec/pushed:2").returncode == 0
    assert docker("logout", host).returncode == 0
    p = docker("push", f"{host}/sec/pushed:2")
    assert p.returncode == 1 and "unauthorized" in p.stderr.decode().lower()


@pytest.mark.skipif(not shutil.which("podman"), reason="podman is not installed")
def test_podman_remote_pull_push_search(service, registry, fresh_registry, basic_registry, rp, tmp_path):  # noqa: F811
    auth = tmp_path / "remote-auth.json"
    auth.write_text("{}")  # podman wants a named auth file to be there
    env = {**os.environ, "CONTAINER_HOST": f"unix://{service}", "HOME": str(tmp_path), "REGISTRY_AUTH_FILE": str(auth)}
    remote = _client(["podman", "--remote"], env)
    ref = f"{registry.host}/test/app"
    p = remote("pull", "--tls-verify=false", ref)
    assert p.returncode == 0, p.stderr.decode()
    iid = p.stdout.decode().strip()
    assert len(iid) == 64 and iid == rp.out("image", "inspect", "--format", "{{.Id}}", ref)
    err = p.stderr.decode()
    assert f"Trying to pull {ref}:latest..." in err and "Writing manifest to image destination" in err
    assert remote("image", "exists", ref).returncode == 0
    assert remote("image", "exists", f"{registry.host}/test/nope").returncode == 1
    p = remote("pull", "--tls-verify=false", f"{registry.host}/test/nope")
    assert p.returncode == 125 and "manifest unknown" in p.stderr.decode()
    p = remote("pull", "-q", "--tls-verify=false", "--platform", "linux/arm64", f"{registry.host}/test/multi")
    assert p.returncode == 0, p.stderr.decode()
    assert json.loads(rp.out("image", "inspect", p.stdout.decode().strip()))[0]["Architecture"] == "arm64"

    p = remote("pull", "-q", "--all-tags", "--tls-verify=false", f"{registry.host}/test/app")  # sent as "alltags"
    assert p.stdout.decode().split() == [iid]

    # podman 4.3.1's client fails a push whose stream holds anything but "stream" and "error" lines
    dest = f"{fresh_registry.host}/remote/app:1"
    p = remote("push", "--tls-verify=false", "--compression-format", "zstd", ref, dest)
    assert p.returncode == 0, p.stderr.decode()
    assert "Writing manifest to image destination" in p.stderr.decode()
    raw = fresh_registry.skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{dest}").stdout
    assert {layer["mediaType"] for layer in json.loads(raw)["layers"]} == {"application/vnd.oci.image.layer.v1.tar+zstd"}
    # manifest inspect: no local list of that name, so the registry's (insecure by registries.conf)
    rp.conf.write_text(f'[[registry]]\nlocation = "{registry.host}"\ninsecure = true\n')
    p = remote("manifest", "inspect", f"{registry.host}/test/multi")
    assert p.returncode == 0, p.stderr.decode()
    assert {m["platform"]["architecture"] for m in json.loads(p.stdout)["manifests"]} == {"amd64", "arm64"}
    p = remote("manifest", "inspect", f"{registry.host}/test/nope")
    assert p.returncode == 125 and "manifest unknown" in p.stderr.decode()
    p = remote("push", "-q", "--tls-verify=false", ref, f"{fresh_registry.host}/remote/app:2")
    assert (p.returncode, p.stderr) == (0, b""), p.stderr.decode()
    p = remote("push", "--tls-verify=false", "nosuchimage", f"{fresh_registry.host}/remote/x:1")
    assert p.returncode == 125
    p = remote("search", "--tls-verify=false", f"{fresh_registry.host}/app")
    assert f"{fresh_registry.host}/remote/app" in p.stdout.decode(), p.stderr.decode()
    p = remote("search", "--tls-verify=false", "--list-tags", f"{fresh_registry.host}/remote/app")
    assert sorted(line.split()[1] for line in p.stdout.decode().splitlines()[1:]) == ["1", "2"]

    # the remote client logs in itself and sends the credentials with each request
    host = basic_registry.host
    p = remote("pull", "--tls-verify=false", f"{host}/sec/app:1")
    assert p.returncode == 125 and "unauthorized" in p.stderr.decode()
    p = remote("login", "--tls-verify=false", "-u", USER, "--password-stdin", host, input=PASSWORD.encode())
    assert p.returncode == 0, p.stderr.decode()
    p = remote("pull", "-q", "--tls-verify=false", f"{host}/sec/app:1")
    assert p.returncode == 0 and p.stdout.decode().strip() == iid, p.stderr.decode()
    p = remote("push", "--tls-verify=false", f"{host}/sec/app:1", f"{host}/sec/remote:1")
    assert p.returncode == 0, p.stderr.decode()
