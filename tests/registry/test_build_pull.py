"""FROM an image in a registry: pulled through the engine's pull, under --pull."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def test_build_from_a_registry_image(rp, registry, tmp_path):
    ref = f"{registry.host}/test/app"
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Containerfile").write_text(f"FROM {ref}\nRUN cat /data/hello > /seen\n")
    p = rp("build", "--pull=never", str(ctx), check=False)
    assert p.returncode == 125 and b"image not known" in p.stderr, p.stderr
    rp("build", "--tls-verify=false", "-q", "-t", "frombuild", str(ctx))  # missing: pulled
    assert rp.out("run", "--rm", "frombuild", "cat", "/seen") == "hello from the registry"
    assert f"{ref}:latest" in rp.out("images", "--format", "{{.Repository}}:{{.Tag}}")
    # --pull=always fetches it again (and the build is the same: its steps come from the cache)
    out = rp.out("build", "--pull=always", "--tls-verify=false", str(ctx))
    assert "Using cache" in out
    # an image the registry does not have: the pull's error, named
    (ctx / "Containerfile").write_text(f"FROM {registry.host}/test/nosuch\n")
    p = rp("build", "--tls-verify=false", str(ctx), check=False)
    assert p.returncode == 125 and b"nosuch" in p.stderr, p.stderr
    assert rp.out("ps", "-a", "-q") == ""
