"""`image trust show|set` on a policy file in podman's format (the same
file and shape podman 4.3 reads and writes), and the pure policy edits."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile

import pytest

from pypod.errors import InvalidArgument
from pypod.proto import trust_policy


def test_set_and_show_a_policy(pypod, tmp_path):
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))
    key = tmp_path / "key.gpg"
    key.write_text("not really a key\n")
    pypod("image", "trust", "set", "--policypath", str(policy), "-t", "reject", "docker.io")
    pypod("image", "trust", "set", "--policypath", str(policy), "--type", "accept", "quay.io/foo")
    pypod("image", "trust", "set", "--policypath", str(policy), "-f", str(key), "registry.local")
    pypod("image", "trust", "set", "--policypath", str(policy), "-t", "reject", "default")
    written = json.loads(policy.read_text())
    assert written == {"default": [{"type": "reject"}], "transports": {"docker": {
        "docker.io": [{"type": "reject"}], "quay.io/foo": [{"type": "insecureAcceptAnything"}],
        "registry.local": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": str(key)}]}}}
    table = pypod.out("image", "trust", "show", "--policypath", str(policy)).splitlines()
    assert table[0].split() == ["TRANSPORT", "NAME", "TYPE", "ID", "STORE"]
    assert [r.split() for r in table[1:]] == [["all", "default", "reject"], ["repository", "docker.io", "reject"],
                                             ["repository", "quay.io/foo", "accept"],
                                             ["repository", "registry.local", "signed"]]
    assert pypod.out("image", "trust", "show", "-n", "--policypath", str(policy)).splitlines()[0].split() == [
        "all", "default", "reject"]
    rows = json.loads(pypod.out("image", "trust", "show", "--json", "--policypath", str(policy)))
    assert rows[0] == {"transport": "all", "name": "* (default)", "repo_name": "default", "type": "reject"}
    assert json.loads(pypod.out("image", "trust", "show", "--raw", "--policypath", str(policy))) == written
    # bad input: podman's words, exit 125, the file unchanged
    before = policy.read_text()
    for args, words in ((["-t", "bogus", "x.io"], "invalid choice: bogus"),
                        (["x.io"], "at least one public key must be defined for type 'signedBy'"),
                        (["-t", "accept", "-f", str(key), "y.io"], "1 public keys unexpectedly provided for trust type accept"),
                        (["-t", "accept"], "accepts 1 arg(s), received 0"),
                        (["-t", "accept", "bad name!"], "invalid image uri: bad name!")):
        p = pypod("image", "trust", "set", "--policypath", str(policy), *args, check=False)
        assert p.returncode == 125 and words in p.stderr.decode(), (args, p.stderr)
    assert policy.read_text() == before
    p = pypod("image", "trust", "show", "--policypath", str(tmp_path / "none.json"), check=False)
    assert p.returncode == 125 and "no such file or directory" in p.stderr.decode()
    if shutil.which("podman"):
        # podman reads what pypod wrote as pypod reads it (short roots: podman refuses long run roots)
        short = tempfile.mkdtemp(prefix="pt-", dir="/tmp")
        try:
            out = subprocess.run(["podman", "--root", f"{short}/r", "--runroot", f"{short}/rr", "image", "trust",
                                  "show", "--json", "--policypath", str(policy)],
                                 capture_output=True, text=True, check=True).stdout
        finally:
            shutil.rmtree(short, ignore_errors=True)
        assert json.loads(out) == rows


def test_policy_edits_are_pure():
    p = {"default": [{"type": "insecureAcceptAnything"}], "keep": 1}
    q = trust_policy.with_trust(p, "example.com/a", "sigstoreSigned", ["/k.pub", "/l.pub"])
    assert p == {"default": [{"type": "insecureAcceptAnything"}], "keep": 1}
    assert q["keep"] == 1 and q["transports"]["docker"]["example.com/a"] == [
        {"type": "sigstoreSigned", "keyPath": "/k.pub"}, {"type": "sigstoreSigned", "keyPath": "/l.pub"}]
    assert trust_policy.rows({"transports": {"docker-daemon": {"": [{"type": "insecureAcceptAnything"}]}}}) == [
        {"transport": "docker-daemon", "name": "", "repo_name": "", "type": "accept"}]
    with pytest.raises(InvalidArgument):
        trust_policy.with_trust(p, "", "accept", [])
