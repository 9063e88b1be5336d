"""-v, --mount, --tmpfs and --volumes-from as users write them."""

from __future__ import annotations

import pytest

from pypod.errors import InvalidArgument
from pypod.specgen.volumes import docker_mount, parse_mount, parse_tmpfs, parse_volume, parse_volumes_from


def test_volume_forms():
    anon = parse_volume("/data")
    assert (anon.type, anon.source, anon.destination) == ("volume", "", "/data")
    named = parse_volume("cache:/var/cache:ro,nocopy")
    assert (named.type, named.source, named.options) == ("volume", "cache", ["ro", "nocopy"])
    bind = parse_volume("/tmp/../tmp:/x/:rshared,noexec")
    assert (bind.type, bind.source, bind.destination, bind.options) == ("bind", "/tmp", "/x", ["rshared", "noexec"])
    over = parse_volume("/srv:/srv:O")
    assert over.type == "overlay" and over.options == ["O"]
    named_over = parse_volume("vol:/srv:O")
    assert named_over.type == "volume" and "O" in named_over.options


@pytest.mark.parametrize("spec, words", [
    ("/tmp:/x:foo", 'invalid option type "foo"'),
    ("/tmp:/x:ro,rw", "can only specify 1 'rw' or 'ro' option"),
    ("/tmp:/x:shared,slave", "can only specify 1 '[r]shared'"),
    ("/tmp:x", 'invalid container path "x", must be an absolute path'),
    ("/tmp:/x:ro:extra", "incorrect volume format"),
    (":/x", "host directory cannot be empty"),
    ("relative", "must be an absolute path"),
    ("/tmp:/x:upperdir=/a,workdir=/b", "only be used with the O"),
    ("/tmp:/x:idmap", "user namespace"),
])
def test_volume_errors(spec, words):
    with pytest.raises(InvalidArgument) as e:
        parse_volume(spec)
    assert words in str(e.value)


def test_mount_types():
    m = parse_mount("type=bind,src=/tmp,dst=/x,ro=true,bind-propagation=rslave")
    assert (m.type, m.source, m.destination) == ("bind", "/tmp", "/x") and m.options == ["ro", "rslave"]
    m = parse_mount("type=volume,target=/v,volume-opt=type=tmpfs,volume-label=a=b,volume-nocopy")
    assert m.type == "volume" and m.source == "" and "nocopy" in m.options
    assert "volume-opt=type=tmpfs" in m.options and "volume-label=a=b" in m.options
    m = parse_mount("type=tmpfs,destination=/t,tmpfs-size=1m,tmpfs-mode=1777")
    assert m.type == "tmpfs" and "size=1048576" in m.options and "mode=1777" in m.options
    m = parse_mount("type=image,src=busybox,dst=/img,rw=true")
    assert (m.type, m.source, m.options) == ("image", "busybox", ["rw"])
    m = parse_mount("type=devpts,dst=/dev/pts2,uid=5,mode=620")
    assert m.type == "devpts" and m.options == ["uid=5", "mode=620"]


@pytest.mark.parametrize("spec, words", [
    ("type=bind,src=/tmp,dst=/x,foo=bar", "foo: invalid mount option"),
    ("src=/tmp,dst=/x", "incorrect mount format"),
    ("type=weird,dst=/x", 'invalid filesystem type "weird"'),
    ("type=bind,dst=/x", "source must be given"),
    ("type=tmpfs,src=/a,dst=/x", "invalid mount option"),
    ("type=tmpfs,dst=/x,tmpfs-size=-1", "must be greater than 0"),
    ("type=tmpfs,dst=/x,tmpfs-size=abc", "invalid size"),
    ("type=tmpfs,dst=/x,tmpfs-mode=99", "must be octal"),
    ("type=volume,dst=/x,ro=maybe", "must be true or false"),
    ("type=volume,src=v", "destination must be given"),
    ("type=bind,src=/a,dst=/x,bind-propagation=sideways", "invalid bind-propagation"),
])
def test_mount_errors(spec, words):
    with pytest.raises(InvalidArgument) as e:
        parse_mount(spec)
    assert words in str(e.value)


def test_tmpfs_defaults_and_checks():
    m = parse_tmpfs("/x")
    assert m.options[:3] == ["nodev", "nosuid", "rw"] or set(m.options) >= {"rw", "nosuid", "nodev", "tmpcopyup"}
    m = parse_tmpfs("/x:ro,size=2m,notmpcopyup")
    assert "ro" in m.options and "rw" not in m.options and "tmpcopyup" not in m.options
    for bad in ("/x:size=0", "/x:size=-5m", "/x:mode=abc", "/x:bogus", "x"):
        with pytest.raises(InvalidArgument):
            parse_tmpfs(bad)


def test_volumes_from():
    assert parse_volumes_from("web:ro") == ("web", ["ro"])
    for bad in (":ro", "web:ro,rw", "web:nocopy"):
        with pytest.raises(InvalidArgument):
            parse_volumes_from(bad)


def test_docker_mounts():
    m = docker_mount({"Type": "volume", "Source": "v1", "Target": "/v", "ReadOnly": True,
                      "VolumeOptions": {"NoCopy": True, "Labels": {"k": "v"}, "DriverConfig": {"Name": "local", "Options": {"type": "tmpfs"}}}})
    assert (m.type, m.source) == ("volume", "v1") and {"ro", "nocopy", "volume-label=k=v", "volume-opt=type=tmpfs"} <= set(m.options)
    m = docker_mount({"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 4096, "Mode": 0o700}})
    assert "size=4096" in m.options and "mode=700" in m.options
    with pytest.raises(InvalidArgument):
        docker_mount({"Type": "npipe", "Target": "/x"})
    with pytest.raises(InvalidArgument):
        docker_mount({"Type": "bind", "Source": "/a,b", "Target": "/x"})
