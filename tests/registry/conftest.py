"""Fixtures for the registry tests: registries (see helpers.py) and a
pypod whose registry files are the test's own, never the host's."""

from __future__ import annotations

import os
import shutil

import pytest

from .helpers import PASSWORD, REGISTRY_BIN, USER, Registry, build_test_images, push_layout


@pytest.fixture(scope="session")
def test_layout(tmp_path_factory):
    return build_test_images(str(tmp_path_factory.mktemp("layout")))


@pytest.fixture(scope="session")
def registry(tmp_path_factory, test_layout):
    """A plain-HTTP registry holding test/app:latest, test/multi:latest, test/armonly:latest."""
    if not os.path.exists(REGISTRY_BIN) or not shutil.which("skopeo"):
        pytest.skip("docker-registry and skopeo are needed (scripts/setup.sh installs them)")
    reg = Registry(str(tmp_path_factory.mktemp("registry")))
    push_layout(reg, test_layout, "app", "test/app:latest")
    push_layout(reg, test_layout, "multi", "test/multi:latest", all_=True)
    push_layout(reg, test_layout, "armonly", "test/armonly:latest", all_=True)
    yield reg
    reg.stop()


@pytest.fixture
def fresh_registry(tmp_path):
    """An empty plain-HTTP registry of this test's own."""
    if not os.path.exists(REGISTRY_BIN):
        pytest.skip("docker-registry is needed (scripts/setup.sh installs it)")
    reg = Registry(str(tmp_path / "fresh-registry"))
    yield reg
    reg.stop()


@pytest.fixture
def rp(pypod, tmp_path):
    """pypod with its registries.conf, auth file and certs.d under tmp_path."""
    conf = tmp_path / "registries.conf"
    conf.write_text("")
    toml = tmp_path / "pypod.toml"
    toml.write_text(f'[registries]\nregistries_conf = "{conf}"\nauth_file = "{tmp_path}/auth.json"\n'
                    f'certs_dir = "{tmp_path}/certs.d"\ntimeout = 10.0\n')
    pypod.argv += ["--config", str(toml)]
    pypod.conf = conf
    pypod.tmp = tmp_path
    return pypod


@pytest.fixture
def basic_registry(tmp_path, test_layout):
    reg = Registry(str(tmp_path / "basic-registry"), basic=True)
    try:
        p = reg.skopeo("copy", "--quiet", "--dest-tls-verify=false", f"--dest-creds={USER}:{PASSWORD}",
                       f"oci:{test_layout.dir}:app", f"docker://{reg.host}/sec/app:1", check=False)
        assert p.returncode == 0, p.stderr.decode()
        yield reg
    finally:
        reg.stop()
