"""Paths resolved inside a root with chroot semantics, and copies and tar
streams that cannot leave it, whatever symlinks and entries they meet."""

from __future__ import annotations

import io
import os
import tarfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pypod.storage import rootfs


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "root"
    (r / "etc").mkdir(parents=True)
    (r / "etc" / "passwd").write_text("root:x:0:0\n")
    (r / "d" / "sub").mkdir(parents=True)
    (r / "d" / "f").write_text("hi\n")
    os.symlink("/etc", r / "abs")
    os.symlink("../../../../../../..", r / "up")
    os.symlink("../f", r / "d" / "sub" / "rel")
    os.symlink("loop2", r / "loop1")
    os.symlink("loop1", r / "loop2")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret").write_text("host secret\n")
    fd = rootfs.open_root(str(r))
    yield fd
    os.close(fd)


def test_symlinks_resolve_inside(root):
    with rootfs.lookup(root, "/abs/passwd") as res:
        assert (res.path, res.name) == ("/etc/passwd", "passwd") and res.exists()
    with rootfs.lookup(root, "/up/etc/passwd") as res:
        assert res.path == "/etc/passwd"
    with rootfs.lookup(root, "/up/../../outside") as res:
        assert res.path == "/outside" and not res.exists()
    with pytest.raises(FileNotFoundError):
        rootfs.lookup(root, "/up/../../outside/secret")
    with rootfs.lookup(root, "/d/sub/rel") as res:
        assert res.path == "/d/f"
    with rootfs.lookup(root, "/d/sub/rel", follow_last=False) as res:
        assert res.path == "/d/sub/rel"
    with rootfs.lookup(root, "/abs/") as res:
        assert res.name == "" and res.path == "/etc"
    with pytest.raises(OSError):
        rootfs.lookup(root, "/loop1/x")
    with pytest.raises(NotADirectoryError):
        rootfs.lookup(root, "/d/f/x")


def _tar(*members) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, kind, data in members:
            info = tarfile.TarInfo(name)
            if kind == "link":
                info.type, info.linkname = tarfile.SYMTYPE, data
                t.addfile(info)
            elif kind == "hard":
                info.type, info.linkname = tarfile.LNKTYPE, data
                t.addfile(info)
            else:
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf


def _host_tree(path) -> dict:
    out = {}
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            p = os.path.join(dirpath, f)
            out[p] = open(p, "rb").read() if not os.path.islink(p) else None
    return out


@pytest.mark.parametrize("members", [
    [("../evil", "file", b"x")],
    [("/../../evil", "file", b"x")],
    [("a/../../evil", "file", b"x")],
    [("esc", "link", "/"), ("esc/outside/evil", "file", b"x")],
    [("esc", "link", "../../../.."), ("esc/evil", "file", b"x")],
    [("hl", "hard", "../outside/secret")],
    [("hl", "hard", "/../../outside/secret")],
])
def test_hostile_archives_write_nothing_outside(root, tmp_path, members):
    before = _host_tree(tmp_path / "outside")
    with pytest.raises(rootfs.UnsafePath):
        with rootfs.TreeWriter(root, scope="/d") as w:
            rootfs.extract_tar(_tar(*members), w, "d")
    assert _host_tree(tmp_path / "outside") == before
    assert not (tmp_path / "evil").exists() and not (tmp_path / "root" / "evil").exists()


def test_archive_into_place(root, tmp_path):
    tar = _tar(("x/y", "file", b"data"), ("x/l", "link", "/etc/passwd"), ("x/h", "hard", "x/y"))
    with rootfs.TreeWriter(root, owner=(1234, 567), scope="/d") as w:
        assert rootfs.extract_tar(tar, w, "d") == 3
    y = tmp_path / "root" / "d" / "x" / "y"
    assert y.read_bytes() == b"data" and os.stat(y).st_uid == 1234 and os.stat(y).st_nlink == 2
    assert os.readlink(tmp_path / "root" / "d" / "x" / "l") == "/etc/passwd"


def test_walk_copy_and_tar_round_trip(root, tmp_path):
    dest = tmp_path / "dest"
    dest.mkdir()
    dfd = rootfs.open_root(str(dest))
    try:
        with rootfs.lookup(root, "/d") as res, rootfs.TreeWriter(dfd) as w:
            rootfs.copy_tree(rootfs.iter_path(res, "d"), w, ("d", "copy"))
    finally:
        os.close(dfd)
    assert (dest / "copy" / "f").read_text() == "hi\n"
    assert os.readlink(dest / "copy" / "sub" / "rel") == "../f"
    out = io.BytesIO()
    with rootfs.lookup(root, "/d") as res:
        rootfs.write_tar(rootfs.iter_path(res, "d"), out)
    out.seek(0)
    names = tarfile.open(fileobj=out).getnames()
    assert names == ["d", "d/f", "d/sub", "d/sub/rel"]


_names = st.lists(st.sampled_from(["a", "b", "..", ".", "", "/", "abs", "up", "etc", "link"]), min_size=1, max_size=6)


@settings(max_examples=200, deadline=None)
@given(parts=_names, follow=st.booleans())
def test_lookup_never_leaves_the_root(tmp_path_factory, parts, follow):
    base = tmp_path_factory.mktemp("prop")
    r = base / "root"
    (r / "etc").mkdir(parents=True)
    os.symlink("/", r / "abs")
    os.symlink("../..", r / "up")
    os.symlink("etc/../../..", r / "link")
    fd = rootfs.open_root(str(r))
    try:
        try:
            res = rootfs.lookup(fd, "/".join(parts), follow_last=follow)
        except OSError:
            return
        with res:
            target = os.readlink(f"/proc/self/fd/{res.dir_fd}")
            assert target == str(r) or target.startswith(str(r) + "/")
    finally:
        os.close(fd)
