"""A rootless user pulls from the local registry and runs what it pulled."""

from __future__ import annotations


def test_rootless_user_pulls_and_runs(registry, rl):
    ref = f"{registry.host}/test/app:latest"
    iid = rl.out("pull", "-q", "--tls-verify=false", ref)
    assert rl.out("images", "--format", "{{.ID}}", "--no-trunc", ref) == f"sha256:{iid}"
    assert rl.out("run", "--rm", "--network", "none", ref) == "hello from the registry"
    rl.pypod("rmi", ref)
