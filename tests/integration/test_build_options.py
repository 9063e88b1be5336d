"""`pypod build`'s options and RUN's mounts, on real containers: contexts
as a tar and on stdin, --target, --squash/--squash-all, --format docker,
--label/--env, --iidfile; RUN --mount=type=cache|bind|tmpfs|secret,
--secret, --volume, --network none, --add-host."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

pytestmark = pytest.mark.integration

MOUNTS = """FROM busybox AS data
RUN mkdir /stage && echo from-stage > /stage/file

FROM busybox
RUN --mount=type=cache,target=/cache echo run >> /cache/log && wc -l < /cache/log > /cache-count
RUN --mount=type=bind,source=ctx.txt,target=/in/ctx.txt cp /in/ctx.txt /copied
RUN --mount=type=bind,from=data,source=/stage,target=/stage cp /stage/file /from-stage
RUN --mount=type=tmpfs,target=/scratch echo gone > /scratch/x && mount | grep -q ' /scratch ' && echo ok > /tmpfs-ok
RUN --mount=type=secret,id=tok cat /run/secrets/tok > /secret-seen
RUN cat /vol/host.txt > /volume-seen && (ip addr 2>/dev/null || true) > /net && grep myhost /etc/hosts > /hosts-seen
"""


def test_run_mounts_secrets_volumes_network(pypod, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Containerfile").write_text(MOUNTS)
    (ctx / "ctx.txt").write_text("from the context\n")
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "host.txt").write_text("from the host\n")
    args = ["build", "-t", "mounts", "--secret", f"id=tok,src={secret}", "-v", f"{vol}:/vol:ro",
            "--network", "none", "--add-host", "myhost:10.1.2.3", str(ctx)]
    pypod(*args)
    out = pypod.out("run", "--rm", "mounts", "sh", "-c",
                    "cat /cache-count /copied /from-stage /tmpfs-ok /secret-seen /volume-seen /hosts-seen;"
                    " grep -c 'inet ' /net; ls /cache /in /stage /scratch /run/secrets /vol 2>&1 | grep -c 'No such'")
    lines = out.splitlines()
    assert lines[:6] == ["1", "from the context", "from-stage", "ok", "s3cret", "from the host"], out
    assert "10.1.2.3" in lines[6] and "myhost" in lines[6]
    assert lines[7] == "1"  # --network none: loopback only
    assert lines[8] == "6"  # no mount point of RUN's entered the image
    # the cache mount outlives the build: a new build (no cache) sees what the first wrote
    pypod("build", "--no-cache", "-t", "mounts2", *args[3:])
    assert pypod.out("run", "--rm", "mounts2", "cat", "/cache-count") == "2"
    assert pypod.out("ps", "-a", "-q") == ""


def test_contexts_and_options(pypod, tmp_path):
    # a tar context with its Containerfile inside; --target picks the first stage
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in (("Dockerfile", b"FROM busybox AS one\nRUN echo one > /one\nFROM scratch\nCOPY --from=one /one /\n"),
                           ("x", b"x\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    archive = tmp_path / "ctx.tar.gz"
    archive.write_bytes(buf.getvalue())
    iidfile = tmp_path / "iid"
    pypod("build", "-q", "--target", "one", "--iidfile", str(iidfile), "-t", "first", str(archive))
    iid = iidfile.read_text()
    assert iid.startswith("sha256:") and pypod.out("run", "--rm", "first", "cat", "/one") == "one"
    # the whole file: scratch with one file, no shell
    pypod("build", "-q", "-t", "last", str(archive))
    assert json.loads(pypod.out("image", "inspect", "last"))[0]["RootFS"]["Layers"].__len__() == 1

    # a Containerfile on stdin (no context); --label, --env, --format docker, --squash-all
    cf = b"FROM busybox\nRUN echo a > /a\nRUN echo b > /b && rm /a\nLABEL from=file\n"
    p = pypod("build", "-q", "--label", "extra=yes", "--env", "E=1", "--format", "docker", "--squash-all",
              "-t", "stdin", "-", input=cf)
    info = json.loads(pypod.out("image", "inspect", "stdin"))[0]
    assert info["Id"] == p.stdout.decode().strip()
    assert info["Config"]["Labels"] == {"from": "file", "extra": "yes"} and "E=1" in info["Config"]["Env"]
    assert len(info["RootFS"]["Layers"]) == 1
    assert pypod.out("run", "--rm", "stdin", "sh", "-c", "cat /b; ls /a 2>&1 | grep -c 'No such'") == "b\n1"
    # --squash: this build's layers as one, on busybox's, its whiteout kept
    pypod("build", "-q", "--squash", "-t", "squashed", "-", input=cf)
    layers = json.loads(pypod.out("image", "inspect", "squashed"))[0]["RootFS"]["Layers"]
    base = json.loads(pypod.out("image", "inspect", "busybox"))[0]["RootFS"]["Layers"]
    assert layers[:-1] == base and len(layers) == len(base) + 1
    assert pypod.out("run", "--rm", "squashed", "sh", "-c", "cat /b; ls /a 2>&1 | grep -c 'No such'") == "b\n1"
    # --annotation: on the final image's manifest (OCI); a docker manifest has none, and says so
    pypod("build", "-q", "--annotation", "org.example.a=1", "--annotation", "b=two", "-t", "noted", "-", input=cf)
    info = json.loads(pypod.out("image", "inspect", "noted"))[0]
    assert info["Annotations"] == {"org.example.a": "1", "b": "two"}
    assert info["ManifestType"] == "application/vnd.oci.image.manifest.v1+json"
    assert json.loads(pypod.out("image", "inspect", "squashed"))[0]["Annotations"] == {}  # a cached build stays bare
    p = pypod("build", "--format", "docker", "--annotation", "a=b", "-t", "noted-docker", "-", input=cf)
    assert b"carry no annotations" in p.stdout + p.stderr
    # no cache: every step runs again
    out = pypod.out("build", "--no-cache", "-", input=cf)
    assert "Using cache" not in out
    assert pypod.out("ps", "-a", "-q") == ""


def test_intermediate_images_are_listed_with_all_only(pypod):
    """Each step's image is its next step's parent, also where a step only
    changed metadata (same layers, longer history): plain `images` hides
    them, as podman does, and `images -a` shows them."""
    cf = b"FROM busybox\nENV A=1\nLABEL x=y\nRUN echo hi > /f\nCMD [\"sh\"]\n"
    pypod("build", "-q", "-t", "steps", "-", input=cf)
    assert "<none>" not in pypod.out("images")
    every = pypod.out("images", "-a", "--format", "{{.Repository}}").splitlines()
    assert every.count("<none>") == 3, every  # ENV, LABEL, RUN; CMD is the tagged result
    assert len(pypod.out("images", "-a", "--filter", "intermediate=true", "-q").split()) == 3
    assert pypod.out("image", "prune", "-f") == ""  # intermediate, not dangling
