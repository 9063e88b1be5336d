"""Dockerfile instructions as config changes (commit/import --change, the APIs' changes)."""

import pytest

from pypod.errors import InvalidArgument
from pypod.proto.image_changes import apply_changes, parse_changes


def test_each_instruction():
    got = parse_changes(['CMD ["sh", "-c", "x"]', "ENTRYPOINT echo hi", 'ENV A=1 B="two words"', "ENV C 3 4",
                         "EXPOSE 80 53/udp 8000-8010", "VOLUME /data /cache", 'VOLUME ["/j"]', 'LABEL a=b "c d"=e',
                         "USER 1:1", "WORKDIR=/w", "STOPSIGNAL SIGINT", "ONBUILD RUN true", "cmd lower"])
    assert got == {
        "Cmd": ["/bin/sh", "-c", "lower"], "Entrypoint": ["/bin/sh", "-c", "echo hi"],
        "Env": ["A=1", "B=two words", "C=3 4"],
        "ExposedPorts": {"80/tcp": {}, "53/udp": {}, "8000-8010/tcp": {}},
        "Volumes": {"/data": {}, "/cache": {}, "/j": {}}, "Labels": {"a": "b", "c d": "e"},
        "User": "1:1", "WorkingDir": "/w", "StopSignal": "SIGINT", "OnBuild": ["RUN true"],
    }


@pytest.mark.parametrize("change, words", [
    ("RUN x", 'invalid change "RUN x" - invalid instruction RUN'),
    ("FROM busybox", "invalid instruction FROM"),
    ("ENV", "missing value"),
    ('CMD ["sh", 1]', "not a JSON array of strings"),
    ("EXPOSE 70000", "invalid port"),
    ("EXPOSE 80/icmp", "invalid port"),
    ("LABEL =x", "needs a name"),
    ("ENV A", "needs KEY=VALUE"),
    ("LABEL 'unclosed", "No closing quotation"),
])
def test_bad_changes_name_the_change(change, words):
    with pytest.raises(InvalidArgument) as e:
        parse_changes([change])
    assert words in str(e.value)


def test_apply_merges_as_a_dockerfile_does():
    base = {"Env": ["PATH=/bin", "A=0"], "Labels": {"x": "1"}, "ExposedPorts": {"22/tcp": {}}, "Cmd": ["sh"],
            "OnBuild": ["RUN a"]}
    out = apply_changes(base, parse_changes(["ENV A=1 Z=2", "LABEL y=2", "EXPOSE 80", "CMD top", "ONBUILD RUN b"]))
    assert out["Env"] == ["PATH=/bin", "A=1", "Z=2"]
    assert out["Labels"] == {"x": "1", "y": "2"} and out["ExposedPorts"] == {"22/tcp": {}, "80/tcp": {}}
    assert out["Cmd"] == ["/bin/sh", "-c", "top"] and out["OnBuild"] == ["RUN a", "RUN b"]
    assert base["Env"] == ["PATH=/bin", "A=0"]  # the input is left as it was
