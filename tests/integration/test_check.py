"""`pypod system check [--repair]` on what real crashes leave (made with failpoints)."""

from __future__ import annotations

import os
import subprocess

import pytest

from pypod import failpoints
from tests.integration.test_failpoints import _layer_tar, assert_nothing_left, assert_truth

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="runs real containers: needs root")


def _killed(pypod, step: str, *args: str) -> None:
    p = subprocess.run([*pypod.argv, *args], env={**os.environ, failpoints.ENV: step}, capture_output=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == -9, p.stderr


def test_check_finds_and_repairs_what_crashes_left(pypod, tmp_path):
    pypod("run", "-d", "--name", "a", "busybox", "sleep", "1000")
    _killed(pypod, "rm.after-storage-remove", "rm", "-f", "a")
    layer = str(tmp_path / "l.tar")
    _layer_tar(layer, b"chk")
    other = str(tmp_path / "o.tar")
    _layer_tar(other, b"other")
    pypod("import", other, "other")
    _killed(pypod, "rmi.after-records-removed", "rmi", "other")
    _killed(pypod, "layer.after-unpack", "import", layer, "img")  # last: the next import would sweep it
    os.makedirs(os.path.join(pypod.root, "containers", "f" * 64))

    p = pypod("system", "check", check=False)
    assert p.returncode == 1
    report = p.stdout.decode()
    assert "its removal was interrupted" in report
    assert "left by an interrupted load, import or removal" in report
    assert "no image or layer record names it" in report
    assert "containers/" + "f" * 64 in report
    # a check changes nothing
    assert pypod("system", "check", check=False).stdout.decode() == report

    p = pypod("system", "check", "--repair", check=False)
    assert p.returncode == 0, p.stderr
    assert p.stdout.decode().count("Repaired ") == report.count("\n") - 1
    assert pypod.out("system", "check") == "No problems found."
    assert_truth(pypod)
    pypod("import", layer, "img")  # the interrupted import works now
    pypod("rm", "-af")
    pypod("rmi", "-af")
    assert_nothing_left(pypod, images=True)


def test_check_names_a_damaged_image_and_spares_it_in_use(pypod):
    pypod("create", "--name", "user", "busybox", "true")
    eng = pypod.engine()
    try:
        img = eng.images.lookup("busybox")
        blob, _ = eng.images.layer_blob(img.layers[0])
        with open(eng.images.blob_path(blob), "ab") as f:
            f.write(b"bitrot")
    finally:
        eng.close()
    report = pypod("system", "check", check=False).stdout.decode()
    assert "does not match its digest; used by 1 container(s)" in report
    assert pypod.out("system", "check", "--quick", check=False) == "No problems found."
    p = pypod("system", "check", "--repair", check=False)
    assert p.returncode == 1 and b"--force also removes them" in p.stderr
    p = pypod("system", "check", "--repair", "--force", check=False)
    assert p.returncode == 0, p.stderr
    assert pypod.out("ps", "-a", "-q") == ""
    assert pypod.out("images", "-q") == ""
