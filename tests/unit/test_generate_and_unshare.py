"""Pure parts of generate systemd (escaping, the --new command line) and of
unshare (subordinate ID ranges, newuidmap's arguments)."""

from __future__ import annotations

import shlex

import pytest

from pypod.rootless import id_map_args, subid_ranges
from pypod.engine.systemd_units import UnitOptions, _new_start_command, escape_arg, format_options
from pypod.errors import InvalidArgument


@pytest.mark.parametrize("word", ["plain", "a b", 'say "hi"', "back\\slash", "$HOME", "50%", "", "semi;colon"])
def test_escaped_words_read_back_whole(word):
    # systemd reads quotes and backslashes as a shell does, and %% as %
    assert shlex.split(escape_arg(word).replace("%%", "%")) == [word]


def test_options_break_before_flags():
    assert format_options(["/bin/rm", "-f", "%t/x"]) == "/bin/rm \\\n\t-f %t/x"
    assert format_options([]) == ""


def test_new_command_replaces_run_flags_of_its_own():
    cmd = ["pypod", "--root", "/r", "run", "-d", "--rm", "--cidfile", "/c", "--restart=always", "--name", "web",
           "-e", "A=b c", "busybox", "echo", "hi"]
    words = _new_start_command(cmd, 3, UnitOptions(new=True, executable="/usr/bin/pypod"), "container-web")
    assert words[:3] == ["/usr/bin/pypod", "--root", "/r"]
    assert words.count("--rm") == 1 and words.count("-d") == 1 and "/c" not in words and "--restart=always" not in words
    assert "--replace" in words and words[-3:] == ["busybox", "echo", "hi"] and '"A=b c"' in words
    tpl = _new_start_command(cmd, 3, UnitOptions(new=True, template=True, executable="x"), "container-web")
    assert "--name=web-%i" in tpl
    with pytest.raises(InvalidArgument):
        _new_start_command(["pypod", "ps"], 1, UnitOptions(new=True, executable="x"), "s")
    with pytest.raises(InvalidArgument, match="not a valid restart policy"):
        UnitOptions(restart_policy="sometimes")


def test_subid_ranges_and_map(tmp_path):
    f = tmp_path / "subuid"
    f.write_text("alice:100000:65536\nbob:200000:10\n1000:300000:5\nbroken line\n")
    assert subid_ranges(str(f), "alice", 1000) == [(100000, 65536), (300000, 5)]
    assert subid_ranges(str(tmp_path / "none"), "alice", 1000) == []
    assert id_map_args(1000, [(100000, 65536), (300000, 5)]) == ["0", "1000", "1", "1", "100000", "65536",
                                                                 "65537", "300000", "5"]
