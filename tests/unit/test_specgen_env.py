"""--env-file as podman reads it, including files that are not text."""

from __future__ import annotations

import pytest

from pypod.errors import InvalidArgument
from pypod.specgen.env import read_env_file


def test_env_file_lines(tmp_path, monkeypatch):
    monkeypatch.setenv("FROM_HOST", "h")
    f = tmp_path / "env"
    f.write_bytes(b"# comment\n\nA=1\nB=two words\nFROM_HOST\nUNSET_HERE\nC=\xc3\xa9\n")
    assert read_env_file(str(f)) == ["A=1", "B=two words", "FROM_HOST=h", "C=\u00e9"]


def test_env_file_of_bytes_that_are_not_text_names_the_line(tmp_path):
    f = tmp_path / "env"
    f.write_bytes(b"A=1\nB=\xff\xfe\n")
    with pytest.raises(InvalidArgument, match=r"contains invalid utf8 bytes at line 2"):
        read_env_file(str(f))
    with pytest.raises(InvalidArgument, match="no such file or directory"):
        read_env_file(str(tmp_path / "missing"))
