"""runlabel's command line from a label, without running anything."""

from __future__ import annotations

import pytest

from pypod.cli.runlabel import default_name, label_command
from pypod.errors import InvalidArgument


def test_label_command_fills_image_and_name():
    words = label_command("docker run -e IMAGE=IMAGE -e NAME=NAME --name $NAME ${OPT2} $IMAGE 'a b'",
                          "localhost/x:1", "x", ["--flag"], "/bin/pypod", {"OPT2": "-d", "HOME": "/root"})
    assert words == ["/bin/pypod", "run", "-e", "IMAGE=localhost/x:1", "-e", "NAME=x", "--name", "x", "-d",
                     "localhost/x:1", "a b", "--flag"]
    assert label_command("sh -c 'echo $HOME'", "i", "n", [], "/bin/pypod", {"HOME": "/root"}) == ["sh", "-c", "echo "]
    with pytest.raises(InvalidArgument):
        label_command("run 'unclosed", "i", "n", [], "p", {})
    with pytest.raises(InvalidArgument, match="name cannot be empty"):
        label_command("run", "i", "", [], "p", {})


@pytest.mark.parametrize("ref,name", [("quay.io/a/b:1", "b"), ("busybox", "busybox"), ("x@sha256:ab", "x")])
def test_default_name(ref, name):
    assert default_name(ref) == name
