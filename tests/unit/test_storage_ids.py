"""The checks that replace regular expressions on every run's path hold to those expressions."""

from __future__ import annotations

import glob
import os
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from pypod.storage.overlay import valid_id

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


@settings(max_examples=500)
@given(st.text(alphabet="aZ09_.-/\n é\x00", max_size=140))
def test_valid_id_is_the_id_pattern(cid):
    # the pattern's $ also matches before a final newline: an id never ends in one, and valid_id refuses it
    assert valid_id(cid) == (bool(ID_RE.match(cid)) and not cid.endswith("\n"))


def test_valid_id_at_its_bounds():
    assert valid_id("a" * 128) and not valid_id("a" * 129) and not valid_id("") and valid_id("0")
    assert not valid_id(".") and not valid_id("..") and not valid_id("_x") and valid_id("x_")


def test_containers_conf_drop_ins_are_globs(tmp_path, monkeypatch):
    from pypod import containers_conf

    for name in ("b.conf", "a.conf", ".hidden.conf", "c.conf.bak", ".conf", "x.CONF", "sub.conf"):
        (tmp_path / name).mkdir() if name == "sub.conf" else (tmp_path / name).write_text("")
    monkeypatch.setattr(containers_conf, "DROP_IN_DIR", str(tmp_path))
    monkeypatch.setattr(containers_conf, "SYSTEM_FILES", ())
    monkeypatch.delenv("CONTAINERS_CONF", raising=False)
    assert containers_conf.config_files() == sorted(glob.glob(os.path.join(str(tmp_path), "*.conf")))
    monkeypatch.setattr(containers_conf, "DROP_IN_DIR", str(tmp_path / "missing"))
    assert containers_conf.config_files() == []
