"""The image store with real files, real overlayfs and real archives."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile

import pytest

from pypod.errors import NoSuchImage
from pypod.storage.images import ImageStore
from pypod.storage.overlay import ContainerStorage


def test_default_image_every_spelling_and_race(tmp_path):
    import sys

    d = str(tmp_path / "s")
    code = f"from pypod.storage.images import ImageStore; print(ImageStore({d!r}).lookup('busybox').id)"
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE) for _ in range(4)]
    ids = {p.communicate(timeout=120)[0].strip() for p in procs}
    assert [p.returncode for p in procs] == [0] * 4
    assert len(ids) == 1
    store = ImageStore(d)
    assert len(store.list()) == 1
    iid = ids.pop().decode()
    for ref in ("busybox", "busybox:latest", "localhost/busybox", "localhost/busybox:latest", iid[:12], f"sha256:{iid}"):
        assert store.lookup(ref).id == iid
    with pytest.raises(NoSuchImage, match="image not known"):
        store.lookup("busybox:other")


def test_import_tag_untag_remove(tmp_path):
    store = ImageStore(str(tmp_path / "s"))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    buf.seek(0)
    img = store.import_tarball(buf, "mine:v1", {"Cmd": ["cat", "/hello.txt"]})
    assert img.names == ["localhost/mine:v1"] and img.config["Cmd"] == ["cat", "/hello.txt"]
    assert open(os.path.join(img.layer_dirs[0], "hello.txt")).read() == "hello"
    store.tag("mine:v1", "other")
    assert sorted(store.lookup("other").names) == ["localhost/mine:v1", "localhost/other:latest"]
    assert store.remove("other") == ["Untagged: localhost/other:latest"]
    lines = store.remove("mine:v1")
    assert lines[-1] == f"Deleted: {img.id}"
    assert not os.path.exists(os.path.dirname(img.layer_dirs[0]))
    assert os.listdir(store.blobs) == []


@pytest.mark.parametrize("fmt", ["docker-archive", "oci-archive"])
def test_save_load_round_trip(tmp_path, fmt):
    a = ImageStore(str(tmp_path / "a"))
    src = a.lookup("busybox")
    archive = str(tmp_path / "img.tar")
    a.save(["busybox"], archive, fmt=fmt)
    b = ImageStore(str(tmp_path / "b"))
    with open(archive, "rb") as f:  # a stream, as from stdin
        names = b.load(f)
    assert names == ["localhost/busybox:latest"]
    loaded = b.lookup("busybox")
    assert loaded.id == src.id and loaded.layers == src.layers
    assert os.path.exists(os.path.join(loaded.layer_dirs[0], "bin", "busybox"))


def test_load_rejects_garbage(tmp_path):
    from pypod.errors import InvalidArgument

    store = ImageStore(str(tmp_path / "s"))
    with pytest.raises(InvalidArgument):
        store.load(io.BytesIO(b"not a tar at all" * 100))
    assert store.list() == []


def test_overlay_mount(tmp_path):
    store = ImageStore(str(tmp_path / "s"))
    img = store.lookup("busybox")
    cs = ContainerStorage(str(tmp_path / "s"))
    cs.create("c1", img)
    merged = cs.mount("c1", img)
    try:
        assert os.path.exists(os.path.join(merged, "bin", "busybox"))
        with open(os.path.join(merged, "new.txt"), "w") as f:
            f.write("x")
        assert os.path.exists(str(tmp_path / "s/overlay-containers/c1/upper/new.txt"))
        assert not os.path.exists(os.path.join(img.layer_dirs[0], "new.txt"))
        assert cs.mount("c1", img) == merged  # idempotent
    finally:
        cs.remove("c1")
    assert not cs.is_mounted("c1") and not os.path.exists(str(tmp_path / "s/overlay-containers/c1"))


def test_rmi_refuses_image_in_use(pypod):
    pypod("create", "--name", "user", "busybox", "true")
    p = pypod("rmi", "busybox", check=False)
    assert p.returncode == 2 and b"image is in use by a container" in p.stderr
    pypod("rmi", "-f", "busybox")
    assert pypod.out("ps", "-a", "-q") == ""
    assert pypod.out("images", "-q") == ""


def test_cli_save_load_import(pypod, tmp_path):
    pypod("run", "--rm", "busybox", "true")
    archive = str(tmp_path / "bb.tar")
    pypod("save", "-o", archive, "busybox")
    pypod("tag", "busybox", "copy:1")
    assert "localhost/copy" in pypod.out("images")
    rootfs = tmp_path / "rootfs.tar"
    with tarfile.open(rootfs, "w") as tar:
        tar.add("/bin/busybox", arcname="bin/busybox")
        info = tarfile.TarInfo("bin/sh")
        info.type = tarfile.SYMTYPE
        info.linkname = "busybox"
        tar.addfile(info)
    iid = pypod.out("import", "--change", 'CMD ["/bin/sh", "-c", "echo imported"]', str(rootfs), "imp:latest")
    assert pypod.out("run", "--rm", "imp") == "imported"
    data = json.loads(pypod.out("image", "inspect", "imp"))[0]
    assert data["Id"] == iid and data["RepoTags"] == ["localhost/imp:latest"]
    pypod("rmi", "copy:1")
    out = pypod.out("load", "-i", archive)
    assert "localhost/busybox:latest" in out


@pytest.mark.skipif(not shutil.which("podman"), reason="podman is not installed")
def test_podman_loads_our_docker_archive(tmp_path):
    import tempfile

    store = ImageStore(str(tmp_path / "s"))
    archive = str(tmp_path / "bb.tar")
    store.save(["busybox"], archive)
    short = tempfile.mkdtemp(prefix="pp-", dir="/tmp")  # podman refuses run roots over 50 characters
    try:
        p = subprocess.run(["podman", "--root", f"{short}/r", "--runroot", f"{short}/rr", "--events-backend", "file",
                            "--cgroup-manager", "cgroupfs", "load", "-i", archive], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        assert "localhost/busybox:latest" in p.stdout
    finally:
        subprocess.run(["sh", "-c", f"umount -R {short}/r/overlay 2>/dev/null; rm -rf {short}"], capture_output=True)
