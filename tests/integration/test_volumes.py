"""Volumes and mounts through the real CLI, conmon and runc."""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile

import pytest


def mounts_under(path: str) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(path + "/")]


def test_volume_commands(pypod):
    assert pypod.out("volume", "create", "--label", "team=a", "-o", "o=uid=5,gid=6", "data") == "data"
    assert pypod.out("volume", "create", "plain") == "plain"
    dup = pypod("volume", "create", "data", check=False)
    assert dup.returncode == 125 and b"volume with name data already exists: volume already exists" in dup.stderr
    assert pypod.out("volume", "create", "--ignore", "data") == "data"
    info = json.loads(pypod.out("volume", "inspect", "data"))[0]
    assert info["Labels"] == {"team": "a"} and info["UID"] == 5 and info["GID"] == 6
    assert info["Mountpoint"] == os.path.join(pypod.root, "volumes", "data", "_data")
    st = os.stat(info["Mountpoint"])
    assert (st.st_uid, st.st_gid) == (5, 6)
    assert pypod.out("volume", "ls", "-q", "--filter", "label=team=a") == "data"
    assert pypod.out("volume", "ls", "--format", "{{.Name}} {{.Driver}}", "--filter", "name=pla") == "plain local"
    assert [v["Name"] for v in json.loads(pypod.out("volume", "ls", "--format", "json"))] == ["data", "plain"]
    assert pypod("volume", "exists", "data", check=False).returncode == 0
    assert pypod("volume", "exists", "nope", check=False).returncode == 1
    for bad, words in ((["volume", "create", "bad/name"], b"names must match"),
                       (["volume", "create", "-o", "foo=bar", "x1"], b"invalid mount option foo for driver 'local'"),
                       (["volume", "create", "-o", "type=tmpfs", "-o", "o=size=-1", "x2"], b"invalid size"),
                       (["volume", "create", "-o", "type=none", "-o", "device=/nonexistent", "x3"], b"no such file"),
                       (["volume", "create", "--driver", "nfsplugin", "x4"], b"no volume plugin with name nfsplugin")):
        p = pypod(*bad, check=False)
        assert p.returncode == 125 and words in p.stderr, p.stderr
    missing = pypod("volume", "rm", "nope", check=False)
    assert missing.returncode == 1 and b'no volume with name "nope" found: no such volume' in missing.stderr
    assert sorted(pypod.out("volume", "ls", "-q").split()) == ["data", "plain"]
    assert pypod.out("volume", "prune", "-f", "--filter", "label=team=a") == "data"
    assert pypod.out("volume", "ls", "-q") == "plain"
    assert pypod("volume", "prune", check=False, input=b"n\n").returncode == 0
    assert pypod.out("volume", "ls", "-q") == "plain"


def test_named_volume_copy_up_in_use_and_anonymous(pypod):
    # a fresh volume over /etc is filled from the image and keeps its data
    out = pypod.out("run", "--name", "first", "-v", "conf:/etc", "-v", "/scratch", "busybox",
                    "sh", "-c", "echo kept > /etc/mine; echo gone > /scratch/x; ls /etc")
    assert "passwd" in out.split() and "group" in out.split()
    vols = pypod.out("volume", "ls", "-q").split()
    anon = [v for v in vols if v != "conf"]
    assert len(anon) == 1 and len(anon[0]) == 64
    assert json.loads(pypod.out("volume", "inspect", anon[0]))[0]["Anonymous"] is True
    assert pypod.out("run", "--rm", "-v", "conf:/data:ro", "busybox", "cat", "/data/mine") == "kept"
    # nocopy: nothing from the image
    assert pypod.out("run", "--rm", "-v", "empty:/etc:nocopy", "busybox", "ls", "-A", "/etc") == ""
    used = pypod("volume", "rm", "conf", check=False)
    assert used.returncode == 2
    assert b"volume conf is being used by the following container(s): " in used.stderr and b"volume is being used" in used.stderr
    inspect = json.loads(pypod.out("inspect", "first"))[0]
    assert {(m["Type"], m["Destination"]) for m in inspect["Mounts"]} == {("volume", "/etc"), ("volume", "/scratch")}
    # rm -f never takes named volumes; -v takes the anonymous ones
    pypod("rm", "-f", "-v", "first")
    assert sorted(pypod.out("volume", "ls", "-q").split()) == ["conf", "empty"]
    # run --rm drops its anonymous volumes, keeps named ones
    pypod("run", "--rm", "-v", "/tmpdata", "-v", "conf:/c", "busybox", "true")
    assert sorted(pypod.out("volume", "ls", "-q").split()) == ["conf", "empty"]
    # volume rm -f removes the containers using it
    pypod("create", "--name", "holder", "-v", "conf:/c", "busybox", "true")
    assert pypod.out("volume", "rm", "-f", "conf") == "conf"
    assert pypod.out("ps", "-a", "-q") == ""


def test_filesystem_volumes_mount_while_used(pypod, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "f").write_text("bound\n")
    pypod("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=4m,mode=0750", "tvol")
    pypod("volume", "create", "-o", "type=none", "-o", "o=bind", "-o", f"device={src}", "bvol")
    mp = lambda name: os.path.join(pypod.root, "volumes", name, "_data")  # noqa: E731
    pypod("run", "-d", "--name", "a", "-v", "tvol:/t", "-v", "bvol:/b", "busybox", "sleep", "100")
    pypod("run", "-d", "--name", "b", "-v", "tvol:/t", "busybox", "sleep", "100")
    assert "size=4096k" in pypod.out("exec", "a", "grep", " /t ", "/proc/mounts")
    assert pypod.out("exec", "a", "cat", "/b/f") == "bound"
    assert json.loads(pypod.out("volume", "inspect", "tvol"))[0]["MountCount"] == 2
    pypod("exec", "a", "sh", "-c", "echo shared > /t/x")
    pypod("rm", "-f", "a")
    assert mp("tvol") in mounts_under(pypod.root) and mp("bvol") not in mounts_under(pypod.root)
    assert pypod.out("exec", "b", "cat", "/t/x") == "shared"
    pypod("rm", "-f", "b")
    assert mounts_under(pypod.root) == []
    assert (src / "f").read_text() == "bound\n"


def test_mount_kinds_in_one_container(pypod, tmp_path):
    host = tmp_path / "host"
    host.mkdir()
    (host / "f").write_text("orig\n")
    pypod("run", "-d", "--name", "src", "-v", f"{host}:/shared", "-v", "named:/named", "busybox", "sleep", "100")
    script = "; ".join([
        "grep -E ' /(t|tm|img|pts2|shared|named|ov|tmp|run|var/tmp) ' /proc/mounts | cut -d' ' -f2,3,4",
        "echo changed > /ov/f", "cat /ov/f",
        "touch /img/x 2>/dev/null || echo img-ro",
        "touch /shared/y 2>/dev/null || echo shared-ro",
        "touch /tmp/ok && echo tmp-rw",
        "touch /etc/x 2>/dev/null || echo root-ro",
    ])
    out = pypod.out("run", "--rm", "--read-only", "--volumes-from", "src:ro",
                    "--mount", "type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=700",
                    "--tmpfs", "/tm:size=2m", "--mount", "type=image,src=busybox,dst=/img",
                    "--mount", "type=devpts,dst=/pts2", "-v", f"{host}:/ov:O", "busybox", "sh", "-c", script)
    lines = out.splitlines()
    byname = {line.split()[0]: line.split(None, 2)[1:] for line in lines if line.startswith("/")}
    assert byname["/t"][0] == "tmpfs" and "size=1024k" in byname["/t"][1] and "mode=700" in byname["/t"][1]
    assert "size=2048k" in byname["/tm"][1]
    assert byname["/pts2"][0] == "devpts"
    assert byname["/img"][1].startswith("ro")
    assert byname["/shared"][1].startswith("ro") and byname["/named"][1].startswith("ro")
    assert all(byname[d][0] == "tmpfs" for d in ("/tmp", "/run", "/var/tmp"))
    assert {"changed", "img-ro", "shared-ro", "tmp-rw", "root-ro"} <= set(lines)
    assert (host / "f").read_text() == "orig\n"  # :O threw the change away
    pypod("rm", "-f", "src")
    assert mounts_under(pypod.root) == []
    assert not [d for d in os.listdir(os.path.join(pypod.root, "containers"))]


@pytest.mark.parametrize("args, words", [
    (["-v", "/nonexistent/path:/x"], b"statfs /nonexistent/path: no such file or directory"),
    (["-v", "relative-dir:x"], b"must be an absolute path"),
    (["--mount", "type=bind,src=/tmp,dst=/x,foo=bar"], b"foo: invalid mount option"),
    (["--mount", "type=tmpfs,dst=/x,tmpfs-size=-1"], b"must be greater than 0"),
    (["--mount", "type=tmpfs,dst=/x,tmpfs-size=lots"], b"invalid size"),
    (["--tmpfs", "/x:size=-3m"], b"invalid size"),
    (["-v", "bad@name:/x"], b'creating named volume "bad@name"'),
    (["-v", "/tmp:/x", "-v", "/tmp:/x"], b"duplicate mount destination"),
    (["--volumes-from", "nosuchctr"], b"no such container"),
    (["--mount", "type=image,src=nosuchimage,dst=/x"], b"nosuchimage"),
    (["-v", "/tmp:/x:U"], b"chowning host path"),
])
def test_bad_mounts_change_nothing(pypod, args, words):
    p = pypod("run", "--rm", *args, "busybox", "true", check=False)
    assert p.returncode == 125 and words in p.stderr, p.stderr
    assert pypod.out("ps", "-a", "-q") == ""
    assert pypod.out("volume", "ls", "-q") == ""


def test_volume_export_import_refuses_hostile_entries(pypod, tmp_path):
    pypod("volume", "create", "v")
    pypod("run", "--rm", "-v", "v:/v", "busybox", "sh", "-c", "mkdir -p /v/d && echo payload > /v/d/f && ln -s /etc/passwd /v/l")
    exported = pypod("volume", "export", "v").stdout
    names = tarfile.open(fileobj=io.BytesIO(exported)).getnames()
    assert sorted(names) == ["d", "d/f", "l"]
    pypod("volume", "create", "w")
    pypod("volume", "import", "w", "-", input=exported)
    assert pypod.out("run", "--rm", "-v", "w:/w", "busybox", "cat", "/w/d/f") == "payload"
    outside = tmp_path / "outside"
    outside.mkdir()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        link = tarfile.TarInfo("esc")
        link.type, link.linkname = tarfile.SYMTYPE, str(outside)
        t.addfile(link)
        f = tarfile.TarInfo("esc/planted")
        f.size = 4
        t.addfile(f, io.BytesIO(b"evil"))
    # an absolute symlink means the volume's own root, as inside a chroot
    pypod("volume", "import", "w", "-", input=buf.getvalue())
    assert os.listdir(outside) == []
    inside = os.path.join(pypod.root, "volumes", "w", "_data", str(outside).lstrip("/"), "planted")
    assert open(inside, "rb").read() == b"evil"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        f = tarfile.TarInfo("../../../../../../../tmp/planted-by-test")
        f.size = 4
        t.addfile(f, io.BytesIO(b"evil"))
    p = pypod("volume", "import", "w", "-", input=buf.getvalue(), check=False)
    assert p.returncode == 125 and not os.path.exists("/tmp/planted-by-test")


@pytest.mark.parametrize("step", ["volume.create.after-dir", "volume.create.after-record"])
def test_crash_during_volume_create(pypod, step):
    p = subprocess.run([*pypod.argv, "volume", "create", "crashvol"], env={**os.environ, "PYPOD_FAILPOINT": step},
                       capture_output=True, stdin=subprocess.DEVNULL)
    assert p.returncode == -9
    listed = pypod.out("volume", "ls", "-q")
    if step.endswith("after-dir"):
        assert listed == ""  # a directory without a record is nobody's volume
        assert pypod.out("volume", "create", "crashvol") == "crashvol"
    else:
        assert listed == "crashvol"
    assert pypod.out("run", "--rm", "-v", "crashvol:/d", "busybox", "sh", "-c", "echo ok > /d/f; cat /d/f") == "ok"
    assert pypod.out("volume", "rm", "crashvol") == "crashvol"
    assert not os.path.exists(os.path.join(pypod.root, "volumes", "crashvol"))


@pytest.mark.parametrize("step", ["volume.rm.after-unmount", "volume.rm.after-data"])
def test_crash_during_volume_rm(pypod, step):
    pypod("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "crashvol")
    pypod("run", "--rm", "-v", "crashvol:/d", "busybox", "true")
    p = subprocess.run([*pypod.argv, "volume", "rm", "crashvol"], env={**os.environ, "PYPOD_FAILPOINT": step},
                       capture_output=True, stdin=subprocess.DEVNULL)
    assert p.returncode == -9
    # the record is still there: the next rm finishes the job
    assert pypod.out("volume", "ls", "-q") == "crashvol"
    assert pypod.out("volume", "rm", "crashvol") == "crashvol"
    assert pypod.out("volume", "ls", "-q") == "" and mounts_under(pypod.root) == []


def test_library_volumes(pypod):
    eng = pypod.engine()
    try:
        vol = eng.volumes.create("libvol", labels={"k": "v"})
        assert eng.volumes.get("libvol").config.labels == {"k": "v"}
        from pypod.engine.container import Mount

        ctr, code = eng.run("busybox", ["sh", "-c", "echo lib > /d/x"], mounts=[Mount(destination="/d", source="libvol", type="volume")])
        assert code == 0
        with open(os.path.join(vol.mountpoint, "x")) as f:
            assert f.read() == "lib\n"
        ctr.remove()
        eng.volumes.remove("libvol")
        assert not eng.volumes.exists("libvol")
    finally:
        eng.close()
