"""A layer's changes over the layers below: overlay whiteouts and opaque directories."""

from __future__ import annotations

import os

import pytest

from pypod.storage.changes import layer_changes


@pytest.mark.skipif(os.geteuid() != 0, reason="whiteouts are 0/0 devices and opaque marks trusted xattrs: root makes them")
def test_whiteouts_opaque_and_additions(tmp_path):
    low1, low2, up = tmp_path / "l1", tmp_path / "l2", tmp_path / "up"
    for d in (low1 / "etc", low1 / "var" / "lib", low1 / "opt" / "old", low2 / "etc", up / "etc", up / "opt", up / "new" / "deep"):
        d.mkdir(parents=True)
    (low1 / "etc" / "passwd").write_text("a")
    (low1 / "etc" / "gone").write_text("a")
    (low1 / "opt" / "old" / "f").write_text("a")
    (low1 / "opt" / "keep").write_text("a")
    os.mknod(low2 / "etc" / "hidden-below", 0o020000, os.makedev(0, 0))  # l2 deleted it already
    (low1 / "etc" / "hidden-below").write_text("a")
    (up / "etc" / "passwd").write_text("b")
    os.mknod(up / "etc" / "gone", 0o020000, os.makedev(0, 0))
    (up / "etc" / "hidden-below").write_text("new")  # l2 deleted it: this is an addition
    os.setxattr(up / "opt", "trusted.overlay.opaque", b"y")
    (up / "opt" / "keep").write_text("replaced")
    (up / "new" / "deep" / "f").write_text("x")
    assert layer_changes(str(up), [str(low1), str(low2)]) == [
        ("C", "/etc"), ("D", "/etc/gone"), ("A", "/etc/hidden-below"), ("C", "/etc/passwd"),
        ("A", "/new"), ("A", "/new/deep"), ("A", "/new/deep/f"),
        ("C", "/opt"), ("C", "/opt/keep"), ("D", "/opt/old"),
    ]
