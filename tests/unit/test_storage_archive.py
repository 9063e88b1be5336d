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
