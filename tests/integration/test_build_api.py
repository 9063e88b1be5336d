"""Building through the REST service with the real clients: docker-py's
images.build, the docker CLI's classic builder (DOCKER_BUILDKIT=0),
docker-compose's `build:`, podman-py's images.build and `podman --remote
build`; then /build/prune and a bad context."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.integration.test_api import raw, status_of
from tests.integration.test_api_clients import service  # noqa: F401 - the fixture

pytestmark = pytest.mark.integration

CONTAINERFILE = """FROM busybox
ARG WHO=nobody
COPY hello.txt /hello.txt
RUN echo "built by $WHO" > /by && cat /hello.txt
LABEL via=api
CMD ["cat", "/by"]
"""


def _context(path) -> str:
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "Dockerfile"), "w") as f:
        f.write(CONTAINERFILE)
    with open(os.path.join(path, "hello.txt"), "w") as f:
        f.write("hello from the context\n")
    return str(path)


def test_docker_py_and_docker_cli_and_compose(service, pypod, tmp_path):  # noqa: F811
    docker = pytest.importorskip("docker")
    c = docker.DockerClient(base_url=f"unix://{service}", version="1.41")
    ctx = _context(tmp_path / "ctx")
    img, logs = c.images.build(path=ctx, tag="viapy:1", buildargs={"WHO": "docker-py"}, rm=True)
    streamed = "".join(chunk.get("stream", "") for chunk in logs)
    assert "STEP 4/6: RUN" in streamed and "hello from the context" in streamed, streamed
    assert "localhost/viapy:1" in img.tags and img.labels["via"] == "api"
    assert c.containers.run("viapy:1", remove=True) == b"built by docker-py\n"

    if shutil.which("docker"):
        env = {**os.environ, "DOCKER_HOST": f"unix://{service}", "DOCKER_BUILDKIT": "0", "HOME": str(tmp_path)}
        p = subprocess.run(["docker", "build", "-q", "-t", "viacli", "--build-arg", "WHO=cli", ctx],
                           capture_output=True, env=env, timeout=120)
        assert p.returncode == 0, p.stderr
        assert p.stdout.decode().strip().startswith("sha256:")
        assert pypod.out("run", "--rm", "viacli") == "built by cli"
        bad = subprocess.run(["docker", "build", "-f", "Nope", ctx], capture_output=True, env=env, timeout=60)
        assert bad.returncode != 0

    if shutil.which("docker-compose"):
        proj = tmp_path / "proj"
        _context(proj / "app")
        (proj / "docker-compose.yml").write_text(
            "version: '3'\nservices:\n  app:\n    build:\n      context: ./app\n      args:\n        WHO: compose\n"
            "    image: viacompose:latest\n")
        env = {**os.environ, "DOCKER_HOST": f"unix://{service}", "COMPOSE_DOCKER_CLI_BUILD": "0",
               "DOCKER_BUILDKIT": "0", "HOME": str(tmp_path)}
        p = subprocess.run(["docker-compose", "build"], cwd=proj, capture_output=True, env=env, timeout=120)
        assert p.returncode == 0, p.stderr
        assert pypod.out("run", "--rm", "viacompose") == "built by compose"
    assert pypod.out("ps", "-a", "-q") == ""

    # the cache, then pruned
    assert c.api.prune_builds()["CachesDeleted"]
    # a body that is not a context: a 400 before anything runs
    resp = raw(service, b"POST /build?t=x HTTP/1.1\r\nHost: d\r\nContent-Type: application/x-tar\r\n"
                        b"Content-Length: 16\r\nConnection: close\r\n\r\nnot a tar at all")
    assert status_of(resp) == 400, resp


def test_podman_py_and_podman_remote(service, pypod, tmp_path):  # noqa: F811
    podman = pytest.importorskip("podman")
    ctx = _context(tmp_path / "ctx")
    with podman.PodmanClient(base_url=f"unix://{service}") as p:
        img, logs = p.images.build(path=ctx, dockerfile="Dockerfile", tag="viapodmanpy", buildargs={"WHO": "podman-py"})
        assert b"STEP 1/6: FROM busybox" in b"".join(logs)
        assert "localhost/viapodmanpy:latest" in img.tags
    assert pypod.out("run", "--rm", "viapodmanpy") == "built by podman-py"
    if shutil.which("podman"):
        env = {**os.environ, "CONTAINER_HOST": f"unix://{service}", "HOME": str(tmp_path)}
        r = subprocess.run(["podman", "--remote", "build", "-t", "viaremote", "--build-arg", "WHO=remote", ctx],
                           capture_output=True, env=env, timeout=120, stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stderr
        assert b"COMMIT viaremote" in r.stdout
        iid = r.stdout.decode().strip().splitlines()[-1]
        assert pypod.out("image", "inspect", "--format", "{{.Id}}", "viaremote") == iid
        failing = tmp_path / "failing"
        failing.mkdir()
        (failing / "Containerfile").write_text("FROM busybox\nRUN exit 7\n")
        r = subprocess.run(["podman", "--remote", "build", str(failing)], capture_output=True, env=env, timeout=120,
                           stdin=subprocess.DEVNULL)
        assert r.returncode != 0 and b"exit status 7" in r.stderr, r.stderr
    assert pypod.out("ps", "-a", "-q") == ""
