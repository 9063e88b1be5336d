import os

import pytest

from pypod.errors import InvalidArgument
from pypod.proto.passwd import (ExecUser, get_container_groups, get_user_group_info, parse_group, parse_passwd,
                                secure_join)

PASSWD = """\
root:x:0:0:root:/root:/bin/sh
# a comment
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
alice:x:1000:1000:Alice:/home/alice:/bin/sh
bob:x:1001:1001::/home/bob
+nis
weird:x:abc:1::/:
nohome:x:1002:1002:::
"""

GROUP = """\
root:x:0:
wheel:x:10:root,alice
users:x:100:alice, bob
alice:x:1000:
bob:x:1001:
staff:x:50
"""


def write(root, rel, text):
    p = root / rel.lstrip("/")
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


@pytest.fixture
def rootfs(tmp_path):
    r = tmp_path / "rootfs"
    write(r, "/etc/passwd", PASSWD)
    write(r, "/etc/group", GROUP)
    return str(r)


def test_parse_passwd():
    entries = parse_passwd(PASSWD)
    assert [e.name for e in entries] == ["root", "daemon", "alice", "bob", "nohome"]
    assert entries[3].home == "/home/bob" and entries[3].shell == ""
    assert entries[2].uid == 1000 and entries[2].gecos == "Alice"


def test_parse_group():
    groups = parse_group(GROUP)
    assert [(g.name, g.gid, g.members) for g in groups] == [
        ("root", 0, []), ("wheel", 10, ["root", "alice"]), ("users", 100, ["alice", "bob"]),
        ("alice", 1000, []), ("bob", 1001, []), ("staff", 50, [])]


@pytest.mark.parametrize("spec,want", [
    ("", ExecUser(0, 0, [10], "/root")),
    ("root", ExecUser(0, 0, [10], "/root")),
    ("0", ExecUser(0, 0, [10], "/root")),
    ("alice", ExecUser(1000, 1000, [10, 100], "/home/alice")),
    ("1000", ExecUser(1000, 1000, [10, 100], "/home/alice")),
    ("alice:wheel", ExecUser(1000, 10, [], "/home/alice")),
    ("alice:10", ExecUser(1000, 10, [], "/home/alice")),
    ("alice:4242", ExecUser(1000, 4242, [], "/home/alice")),
    ("1000:100", ExecUser(1000, 100, [], "/home/alice")),
    ("bob", ExecUser(1001, 1001, [100], "/home/bob")),
    ("5000", ExecUser(5000, 0, [], "/")),
    ("5000:5000", ExecUser(5000, 5000, [], "/")),
    ("5000:users", ExecUser(5000, 100, [], "/")),
    ("nohome", ExecUser(1002, 1002, [], "/")),
])
def test_lookup(rootfs, spec, want):
    assert get_user_group_info(rootfs, spec) == want


@pytest.mark.parametrize("spec,msg", [
    ("nosuch", "unable to find user nosuch: no matching entries in passwd file"),
    ("alice:nogroup", "unable to find group nogroup: no matching entries in group file"),
    ("4294967296", "uids and gids must be in range"),
])
def test_lookup_errors(rootfs, spec, msg):
    with pytest.raises(InvalidArgument, match=msg):
        get_user_group_info(rootfs, spec)


def test_no_passwd_file(tmp_path):
    r = tmp_path / "empty"
    r.mkdir()
    assert get_user_group_info(str(r), "") == ExecUser(0, 0, [], "/")
    assert get_user_group_info(str(r), "123:456") == ExecUser(123, 456, [], "/")
    with pytest.raises(InvalidArgument, match="unable to find user alice"):
        get_user_group_info(str(r), "alice")


def test_container_groups(rootfs):
    assert get_container_groups(["wheel", "7", "users", "keep-groups"], rootfs) == [10, 7, 100]
    with pytest.raises(InvalidArgument, match="unable to find group nope"):
        get_container_groups(["nope"], rootfs)
    assert get_container_groups([], rootfs) == []


# ---- secure_join and symlink escapes ------------------------------------------------

def test_secure_join_plain(tmp_path):
    r = str(tmp_path)
    assert secure_join(r, "/etc/passwd") == os.path.join(r, "etc/passwd")
    assert secure_join(r, "etc//./passwd") == os.path.join(r, "etc/passwd")
    assert secure_join(r, "/") == r


@pytest.mark.parametrize("path", ["../../../etc/passwd", "/../../etc/passwd", "/etc/../../../../etc/passwd",
                                  "a/b/../../../../../etc/passwd"])
def test_dotdot_clamps(tmp_path, path):
    assert secure_join(str(tmp_path), path) == os.path.join(str(tmp_path), "etc/passwd")


def test_absolute_symlink_stays_inside(tmp_path):
    r = tmp_path / "rootfs"
    write(r, "/etc/shadow", "evil:x:4242:4242::/evil:/bin/sh\n")
    os.symlink("/etc/shadow", r / "etc" / "passwd")
    assert secure_join(str(r), "/etc/passwd") == os.path.join(str(r), "etc/shadow")
    assert get_user_group_info(str(r), "evil").uid == 4242
    # the host's root entry must not be visible
    with pytest.raises(InvalidArgument):
        get_user_group_info(str(r), "root")


def test_relative_symlink_escape_clamped(tmp_path):
    r = tmp_path / "rootfs"
    (r / "etc").mkdir(parents=True)
    write(tmp_path, "/outside", "host:x:7:7::/host:/bin/sh\n")
    os.symlink("../../../../../outside", r / "etc" / "passwd")
    assert secure_join(str(r), "/etc/passwd") == os.path.join(str(r), "outside")
    with pytest.raises(InvalidArgument, match="unable to find user host"):
        get_user_group_info(str(r), "host")


def test_symlinked_directory(tmp_path):
    r = tmp_path / "rootfs"
    write(r, "/real/etc/passwd", "dirlink:x:9:9::/d:/bin/sh\n")
    os.symlink("/real/etc", r / "etc")
    assert get_user_group_info(str(r), "dirlink").uid == 9


def test_symlink_to_host_directory_stays_inside(tmp_path):
    r = tmp_path / "rootfs"
    r.mkdir()
    os.symlink(str(tmp_path), r / "etc")  # absolute host path: re-rooted
    assert secure_join(str(r), "/etc/passwd").startswith(str(r) + os.sep)


def test_symlink_loop(tmp_path):
    r = tmp_path / "rootfs"
    (r / "etc").mkdir(parents=True)
    os.symlink("/etc/b", r / "etc" / "a")
    os.symlink("/etc/a", r / "etc" / "b")
    os.symlink("/etc/a", r / "etc" / "passwd")
    with pytest.raises(OSError):
        secure_join(str(r), "/etc/passwd")


def test_fifo_passwd_does_not_block(tmp_path):
    r = tmp_path / "rootfs"
    (r / "etc").mkdir(parents=True)
    os.mkfifo(r / "etc" / "passwd")
    assert get_user_group_info(str(r), "1:2") == ExecUser(1, 2, [], "/")
