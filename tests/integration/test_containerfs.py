"""cp, diff, export, mount, unmount and rename through the real CLI."""

from __future__ import annotations

import io
import json
import os
import tarfile

import pytest

SETUP = ("mkdir -p /d/sub && echo hi > /d/f && chown 1234:555 /d/f && ln -s /etc/passwd /d/abs && "
         "ln -s ../f /d/sub/rel && echo v > /vol/x")


def mounts_under(path: str) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(path + "/")]


def _tree(path) -> dict:
    out = {}
    for dirpath, dirs, files in os.walk(path):
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, path)
            if os.path.islink(p):
                out[rel] = ("link", os.readlink(p))
            elif os.path.isdir(p):
                out[rel] = ("dir",)
            else:
                out[rel] = ("file", open(p, "rb").read(), os.stat(p).st_uid)
    return out


@pytest.fixture
def cpc(pypod):
    pypod("run", "-d", "--name", "cpc", "-v", "data:/vol", "busybox", "sh", "-c", SETUP + " && sleep 1000")
    for _ in range(100):
        if pypod("exec", "cpc", "test", "-f", "/vol/x", check=False).returncode == 0:
            break
    return pypod


@pytest.mark.parametrize("running", [True, False])
def test_cp_out_follows_docker_rules(cpc, tmp_path, running):
    pypod = cpc
    if not running:
        pypod("stop", "-t", "0", "cpc")
    pypod("cp", "cpc:/d", str(tmp_path / "new"))  # a new directory named as asked
    t = _tree(tmp_path / "new")
    assert t["f"][:2] == ("file", b"hi\n") and t["f"][2] == os.getuid()  # owned by the caller
    assert t["abs"] == ("link", "/etc/passwd") and t["sub/rel"] == ("link", "../f")
    (tmp_path / "into").mkdir()
    pypod("cp", "cpc:/d", str(tmp_path / "into"))  # into an existing directory: its base name
    pypod("cp", "cpc:/d/.", str(tmp_path / "into"))  # /. : the contents only
    assert {"d", "f", "abs", "sub"} <= set(os.listdir(tmp_path / "into"))
    pypod("cp", "cpc:/d/abs", str(tmp_path / "passwd"))  # the source's symlink is followed, as podman does
    assert (tmp_path / "passwd").read_text().startswith("root:")
    pypod("cp", "cpc:/vol/x", str(tmp_path / "volx"))  # a volume, running or stopped
    assert (tmp_path / "volx").read_text() == "v\n"
    stream = pypod("cp", "cpc:/d", "-").stdout
    assert sorted(tarfile.open(fileobj=io.BytesIO(stream)).getnames()) == ["d", "d/abs", "d/f", "d/sub", "d/sub/rel"]
    for args, words in (
        (["cpc:/nonexist", str(tmp_path / "x")], b'"/nonexist" could not be found on container cpc: no such file or directory'),
        (["cpc:/d", str(tmp_path / "passwd")], b"destination must be a directory when copying a directory"),
        (["cpc:/d/f", str(tmp_path / "nodir") + "/"], b"could not be found on the host"),
        (["cpc:/d/f", str(tmp_path / "no" / "parent")], b"could not be found on the host"),
        (["cpc:/d", "cpc:/e"], b"copying between containers is not supported"),
        (["nosuch:/d", str(tmp_path)], b"no such container"),
    ):
        p = pypod("cp", *args, check=False)
        assert p.returncode == 125 and words in p.stderr, p.stderr
    if not running:
        assert mounts_under(pypod.root) == []  # the copy mounted the rootfs and let go of it


def test_cp_in_ownership_symlinks_and_streams(cpc, tmp_path):
    pypod = cpc
    src = tmp_path / "in"
    src.mkdir()
    (src / "g").write_text("x\n")
    os.chown(src / "g", 42, 42)
    pypod("cp", str(src / "g"), "cpc:/d/")
    pypod("cp", "-a=false", str(src / "g"), "cpc:/d/g2")
    pypod("cp", str(src), "cpc:/d/indir")
    pypod("cp", str(src / "g"), "cpc:/vol/")
    listing = pypod.out("exec", "cpc", "sh", "-c", "stat -c '%n %u' /d/g /d/g2 /d/indir/g /vol/g")
    assert listing.splitlines() == ["/d/g 0", "/d/g2 42", "/d/indir/g 0", "/vol/g 0"]
    # a destination symlink is followed inside the container: /d/abs -> /etc/passwd
    pypod("cp", str(src / "g"), "cpc:/d/abs")
    assert pypod.out("exec", "cpc", "cat", "/etc/passwd") == "x"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo("streamed/h.txt")
        info.size = 6
        t.addfile(info, io.BytesIO(b"hello\n"))
    pypod("cp", "-", "cpc:/d", input=buf.getvalue())
    assert pypod.out("exec", "cpc", "cat", "/d/streamed/h.txt") == "hello"
    p = pypod("cp", "-", "cpc:/d/f", input=buf.getvalue(), check=False)
    assert p.returncode == 125 and b"destination must be a directory" in p.stderr
    for args, words in (([str(tmp_path / "missing"), "cpc:/x"], b"could not be found on the host"),
                        ([str(src), "cpc:/d/f"], b"destination must be a directory when copying a directory"),
                        ([str(src / "g"), "cpc:/nonexist/dir/"], b"could not be found on container cpc")):
        p = pypod("cp", *args, check=False)
        assert p.returncode == 125 and words in p.stderr, p.stderr


def test_cp_cannot_leave_the_container(pypod, tmp_path):
    """Hostile symlinks planted in the container and hostile tar entries."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("host\n")
    plant = (f"ln -s {outside} /esc; ln -s ../../../../../../../../{str(outside).lstrip('/')} /rel; "
             f"mkdir -p /work; ln -s / /work/root; sleep 1000")
    pypod("run", "-d", "--name", "h", "busybox", "sh", "-c", plant)
    for _ in range(100):
        if pypod("exec", "h", "test", "-L", "/work/root", check=False).returncode == 0:
            break
    src = tmp_path / "payload"
    src.write_text("evil\n")
    for dest in ("h:/esc/planted", "h:/rel/planted", "h:/esc/", "h:/work/root/../../esc/x"):
        pypod("cp", str(src), dest, check=False)
    assert sorted(os.listdir(outside)) == ["secret"] and (outside / "secret").read_text() == "host\n"
    # reading through them reads the container's own files, never the host's
    p = pypod("cp", "h:/esc/secret", str(tmp_path / "got"), check=False)
    assert p.returncode == 125 and not (tmp_path / "got").exists()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        link = tarfile.TarInfo("ln")
        link.type, link.linkname = tarfile.SYMTYPE, "/"
        t.addfile(link)
        for name in ("ln/etc/evil", "../../../../../../tmp/evil-by-test", "ln/../../outside-evil"):
            info = tarfile.TarInfo(name)
            info.size = 4
            t.addfile(info, io.BytesIO(b"evil"))
    p = pypod("cp", "-", "h:/work", input=buf.getvalue(), check=False)
    assert p.returncode == 125
    assert pypod("exec", "h", "test", "-e", "/etc/evil", check=False).returncode == 1
    assert not os.path.exists("/tmp/evil-by-test") and sorted(os.listdir(outside)) == ["secret"]


def test_diff_export_mount_rename(pypod, tmp_path):
    pypod("run", "--name", "c", "-v", "/vol", "busybox", "sh", "-c",
          "rm /bin/ls; mkdir -p /usr/share/x; touch /usr/share/x/y; echo >> /etc/group; echo v > /vol/f")
    changes = pypod.out("diff", "c").splitlines()
    # podman's words for the same script (the volume's mount point is a change of the layer, as there)
    assert changes == ["C /bin", "D /bin/ls", "C /etc", "C /etc/group", "C /usr", "A /usr/share", "A /usr/share/x",
                       "A /usr/share/x/y", "A /vol"]
    as_json = json.loads(pypod.out("diff", "--format", "json", "c"))
    assert as_json == {"changed": ["/bin", "/etc", "/etc/group", "/usr"],
                       "added": ["/usr/share", "/usr/share/x", "/usr/share/x/y", "/vol"], "deleted": ["/bin/ls"]}
    assert "A /bin/busybox" in pypod.out("image", "diff", "busybox").splitlines()
    exported = pypod("export", "c").stdout
    names = set(tarfile.open(fileobj=io.BytesIO(exported)).getnames())
    assert "usr/share/x/y" in names and "bin/ls" not in names and "vol/f" not in names and "bin/sh" in names
    pypod("export", "-o", str(tmp_path / "c.tar"), "c")
    assert (tmp_path / "c.tar").read_bytes() == exported
    assert mounts_under(pypod.root) == []
    path = pypod.out("mount", "c")
    assert os.path.isfile(os.path.join(path, "usr/share/x/y"))
    cid = pypod.out("inspect", "--format", "{{.Id}}", "c")
    assert pypod.out("mount") == f"{cid[:12]}  {path}"
    pypod("start", "c")
    pypod("wait", "c")
    assert os.path.isdir(os.path.join(path, "usr"))  # the container's own cleanup leaves the user's mount
    assert pypod.out("unmount", "c") == "c"
    assert mounts_under(pypod.root) == []
    pypod("rename", "c", "renamed")
    assert pypod.out("ps", "-a", "--format", "{{.Names}}") == "renamed"
    pypod("create", "--name", "other", "busybox", "true")
    p = pypod("rename", "other", "renamed", check=False)
    assert p.returncode == 125 and b"name renamed already in use" in p.stderr
    p = pypod("rename", "other", "bad/name", check=False)
    assert p.returncode == 125 and b"names must match" in p.stderr
    assert sorted(pypod.out("ps", "-a", "--format", "{{.Names}}").split()) == ["other", "renamed"]
