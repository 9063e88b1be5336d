"""Layer extraction: escapes refused, whiteouts become overlay markers."""

import io
import os
import stat
import tarfile
import gzip

import pytest

from pypod.storage.archive import UnsafeArchive, extract_layer


def make_tar(entries, compress=False) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, kind, data, link in entries:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = link
            info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
            info.size = len(data) if kind == tarfile.REGTYPE else 0
            tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    raw = buf.getvalue()
    return io.BytesIO(gzip.compress(raw) if compress else raw)


F, D, L, H = tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE


@pytest.mark.parametrize("compress", [False, True])
def test_plain_and_gzip(tmp_path, compress):
    t = make_tar([("etc", D, b"", ""), ("etc/motd", F, b"hi", ""), ("etc/link", L, b"", "motd"), ("etc/hard", H, b"", "etc/motd")], compress)
    size = extract_layer(t, str(tmp_path / "out"))
    assert (tmp_path / "out/etc/motd").read_bytes() == b"hi"
    assert os.readlink(tmp_path / "out/etc/link") == "motd"
    assert os.stat(tmp_path / "out/etc/hard").st_ino == os.stat(tmp_path / "out/etc/motd").st_ino
    assert size == 2


@pytest.mark.parametrize("entries", [
    [("../evil", F, b"x", "")],
    [("a/../../evil", F, b"x", "")],
    [("esc", L, b"", str("/")), ("esc/evil", F, b"x", "")],
    [("up", L, b"", ".."), ("up/evil", F, b"x", "")],
    [("h", H, b"", "../outside")],
])
def test_escapes_are_refused(tmp_path, entries):
    target = tmp_path / "t"
    target.mkdir()
    with pytest.raises(UnsafeArchive):
        extract_layer(make_tar(entries), str(target))
    assert sorted(os.listdir(tmp_path)) == ["t"]
    assert not (tmp_path / "evil").exists()


def test_absolute_names_stay_inside(tmp_path):
    extract_layer(make_tar([("/abs.txt", F, b"in", "")]), str(tmp_path / "t"))
    assert (tmp_path / "t/abs.txt").read_bytes() == b"in"


def test_symlink_replaced_by_file_is_not_followed(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    t = make_tar([("f", L, b"", str(outside)), ("f", F, b"new", "")])
    extract_layer(t, str(tmp_path / "t"))
    assert outside.read_text() == "keep"
    assert (tmp_path / "t/f").read_bytes() == b"new" and not os.path.islink(tmp_path / "t/f")


def test_whiteouts_and_opaque_dirs(tmp_path):
    t = make_tar([("d", D, b"", ""), ("d/.wh.gone", F, b"", ""), ("o", D, b"", ""), ("o/.wh..wh..opq", F, b"", "")])
    extract_layer(t, str(tmp_path / "t"))
    st = os.lstat(tmp_path / "t/d/gone")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(0, 0)
    assert os.getxattr(tmp_path / "t/o", "trusted.overlay.opaque") == b"y"
    assert not (tmp_path / "t/o/.wh..wh..opq").exists()


# -- more of extract_layer ----------------------------------------------------------

import bz2
import lzma

from pypod.errors import InvalidArgument
from pypod.storage.archive import create_tar

S, C, FIFO = tarfile.SYMTYPE, tarfile.CHRTYPE, tarfile.FIFOTYPE


def test_symlink_inside_is_followed(tmp_path):
    t = make_tar([("usr", D, b"", ""), ("usr/lib", D, b"", ""), ("lib", L, b"", "usr/lib"),
                  ("lib/x", F, b"x", ""), ("d", D, b"", ""), ("d/up", L, b"", "../usr"), ("d/up/y", F, b"y", "")])
    extract_layer(t, str(tmp_path / "t"))
    assert (tmp_path / "t/usr/lib/x").read_bytes() == b"x"
    assert (tmp_path / "t/usr/y").read_bytes() == b"y"


@pytest.mark.parametrize("entries", [
    [("d", D, b"", ""), ("d/sneaky", L, b"", "../../"), ("d/sneaky/evil", F, b"x", "")],
    [("a", L, b"", "b/../.."), ("a/evil", F, b"x", "")],
    [("a", L, b"", "b"), ("b", L, b"", "/tmp"), ("a/evil", F, b"x", "")],
    [("out", L, b"", "/"), ("h", H, b"", "out/etc/passwd")],
    [("h", H, b"", "missing")],
    [("loop", L, b"", "loop"), ("loop/x", F, b"x", "")],
    [(".wh...", F, b"", "")],
])
def test_more_escapes_are_refused(tmp_path, entries):
    target = tmp_path / "t"
    target.mkdir()
    with pytest.raises(UnsafeArchive):
        extract_layer(make_tar(entries), str(target))
    assert sorted(os.listdir(tmp_path)) == ["t"]


def test_metadata_is_preserved(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        def add(name, kind, mode, data=b"", uid=0, gid=0, mtime=1000000, **kw):
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.uid, info.gid, info.mtime = kind, mode, uid, gid, mtime
            info.size = len(data) if kind == F else 0
            for k, v in kw.items():
                setattr(info, k, v)
            tar.addfile(info, io.BytesIO(data) if kind == F else None)
        add("dir", D, 0o750, uid=7, gid=8, mtime=1234567)
        add("dir/suid", F, 0o4755, b"#!", uid=1, gid=1)
        add("dir/null", C, 0o666, devmajor=1, devminor=3)
        add("dir/fifo", FIFO, 0o600)
        add("dir/ln", S, 0o777, linkname="suid", uid=5, gid=6)
    buf.seek(0)
    extract_layer(buf, str(tmp_path / "t"))
    d = os.lstat(tmp_path / "t/dir")
    assert (stat.S_IMODE(d.st_mode), d.st_uid, d.st_gid, int(d.st_mtime)) == (0o750, 7, 8, 1234567)
    s = os.lstat(tmp_path / "t/dir/suid")
    assert (stat.S_IMODE(s.st_mode), s.st_uid, int(s.st_mtime)) == (0o4755, 1, 1000000)
    n = os.lstat(tmp_path / "t/dir/null")
    assert stat.S_ISCHR(n.st_mode) and n.st_rdev == os.makedev(1, 3)
    assert stat.S_ISFIFO(os.lstat(tmp_path / "t/dir/fifo").st_mode)
    ln = os.lstat(tmp_path / "t/dir/ln")
    assert stat.S_ISLNK(ln.st_mode) and (ln.st_uid, ln.st_gid) == (5, 6)


@pytest.mark.parametrize("compress", [bz2.compress, lzma.compress])
def test_other_compressions(tmp_path, compress):
    raw = make_tar([("f", F, b"data", "")]).getvalue()
    extract_layer(io.BytesIO(compress(raw)), str(tmp_path / "t"))
    assert (tmp_path / "t/f").read_bytes() == b"data"


def test_garbage_is_an_invalid_argument(tmp_path):
    with pytest.raises(InvalidArgument):
        extract_layer(io.BytesIO(b"\x1f\x8bnot really gzip" * 50), str(tmp_path / "t"))


def test_aufs_metadata_is_skipped_and_whiteout_replaces(tmp_path):
    t = make_tar([("a", F, b"x", ""), (".wh.a", F, b"", ""), (".wh..wh.plnk", D, b"", ""), (".wh..wh.plnk/1", F, b"", "")])
    extract_layer(t, str(tmp_path / "t"))
    assert os.listdir(tmp_path / "t") == ["a"]
    assert stat.S_ISCHR(os.lstat(tmp_path / "t/a").st_mode)


# -- create_tar ----------------------------------------------------------------------


def test_create_tar_round_trip_and_determinism(tmp_path):
    src = tmp_path / "src"
    (src / "d/e").mkdir(parents=True)
    (src / "d/f").write_bytes(b"content")
    os.link(src / "d/f", src / "d/hard")
    os.symlink("f", src / "d/sym")
    os.chmod(src / "d/f", 0o4711)
    outs = []
    for _ in range(2):
        buf = io.BytesIO()
        create_tar(str(src), buf, compress=True)
        outs.append(buf.getvalue())
    assert outs[0] == outs[1]
    extract_layer(io.BytesIO(outs[0]), str(tmp_path / "copy"))
    c = tmp_path / "copy"
    assert (c / "d/f").read_bytes() == b"content"
    assert stat.S_IMODE(os.stat(c / "d/f").st_mode) == 0o4711
    assert os.stat(c / "d/hard").st_ino == os.stat(c / "d/f").st_ino
    assert os.readlink(c / "d/sym") == "f" and (c / "d/e").is_dir()


def test_create_tar_turns_overlay_markers_into_whiteouts(tmp_path):
    layer = make_tar([("gone", F, b"", ""), (".wh.gone", F, b"", ""), ("o", D, b"", ""), ("o/.wh..wh..opq", F, b"", ""), ("o/kept", F, b"k", "")])
    extract_layer(layer, str(tmp_path / "upper"))
    buf = io.BytesIO()
    create_tar(str(tmp_path / "upper"), buf, whiteouts=True)
    buf.seek(0)
    names = tarfile.open(fileobj=buf).getnames()
    assert names == [".wh.gone", "o", "o/.wh..wh..opq", "o/kept"]
