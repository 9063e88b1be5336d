"""A rootless user pulls from the local registry and runs what it pulled;
its own ~/.config/containers/registries.conf replaces the system's."""

from __future__ import annotations

import os


def test_rootless_user_pulls_and_runs(registry, rl):
    ref = f"{registry.host}/test/app:latest"
    iid = rl.out("pull", "-q", "--tls-verify=false", ref)
    assert rl.out("images", "--format", "{{.ID}}", "--no-trunc", ref) == f"sha256:{iid}"
    assert rl.out("run", "--rm", "--network", "none", ref) == "hello from the registry"
    rl.pypod("rmi", ref)
    # a short name found through the user's own registries.conf (search registry, plain HTTP)
    conf_dir = os.path.join(rl.home, ".config", "containers")
    rl.run(["mkdir", "-p", conf_dir], check=True)
    conf = (f'unqualified-search-registries = ["{registry.host}"]\n'
            f'[[registry]]\nlocation = "{registry.host}"\ninsecure = true\n')
    rl.run(["sh", "-c", f"cat > {conf_dir}/registries.conf"], input=conf.encode(), check=True)
    try:
        env = {"CONTAINERS_REGISTRIES_CONF": ""}
        assert rl.out("pull", "-q", "test/app", env=env) == iid
        rl.pypod("rmi", f"{registry.host}/test/app")
    finally:
        rl.run(["rm", "-rf", conf_dir])
