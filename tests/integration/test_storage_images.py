"""The storage layer on its own: image store, archives and overlay mounts,
with real files and a real kernel overlay.  Each test has its own storage
dir under tmp_path."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import multiprocessing
import os
import shutil
import stat
import subprocess
import tarfile
import tempfile

import pytest

from pypod.errors import InvalidArgument, NoSuchImage, PypodError
from pypod.storage.images import BUSYBOX_NAME, Image, ImageStore, ensure_default_image
from pypod.storage.overlay import ContainerStorage

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="overlay mounts and chown need root"),
]
needs_busybox = pytest.mark.skipif(not (os.path.isfile("/bin/busybox") or os.path.isfile("/usr/bin/busybox")),
                                   reason="no static busybox on the host (apt-get install busybox-static)")


def tar_bytes(files: dict[str, bytes], compress: bool = False) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    raw = buf.getvalue()
    return gzip.compress(raw, mtime=0) if compress else raw


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def store(tmp_path) -> ImageStore:
    return ImageStore(str(tmp_path / "s"))


# -- the default image ------------------------------------------------------------------


@needs_busybox
def test_default_image_every_spelling(store):
    assert not store.exists("busybox")  # exists() never builds
    img = store.lookup("busybox")
    assert img.names == [BUSYBOX_NAME]
    assert img.config["Cmd"] == ["sh"]
    assert img.config["Env"] == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    for ref in ("busybox", "busybox:latest", "localhost/busybox", "localhost/busybox:latest", "docker.io/library/busybox",
                "docker.io/library/busybox:latest", "docker.io/busybox", "library/busybox", img.id, img.id[:3],
                img.id[:12], f"sha256:{img.id}", f"busybox@{img.digest}"):
        assert store.lookup(ref).id == img.id, ref
    assert len(store.list()) == 1
    for ref in ("busybox:other", "quay.io/busybox", "busybox2", img.id[:2], "", "a b"):
        with pytest.raises(NoSuchImage, match="image not known"):
            store.lookup(ref)
    rootfs = img.layer_dirs[0]
    assert os.path.isfile(os.path.join(rootfs, "bin/busybox"))
    assert os.readlink(os.path.join(rootfs, "bin/sh")) == "busybox"
    assert os.readlink(os.path.join(rootfs, "bin/ls")) == "busybox"
    assert stat.S_IMODE(os.stat(os.path.join(rootfs, "tmp")).st_mode) == 0o1777
    passwd = open(os.path.join(rootfs, "etc/passwd")).read()
    assert "root:x:0:0:root:/root:/bin/sh" in passwd and "nobody:x:65534:65534:" in passwd and ":x:1:1:" in passwd
    for d in ("root", "home", "var", "proc", "sys", "dev"):
        assert os.path.isdir(os.path.join(rootfs, d)), d
    # The same binary gives the same image in another store.
    assert ImageStore(os.path.join(os.path.dirname(store.dir), "other")).lookup("busybox").id == img.id


def _build_default(d: str) -> str:
    img = ensure_default_image(d)
    return img.id


@needs_busybox
def test_concurrent_default_image_builds_make_one_image(tmp_path):
    d = str(tmp_path / "s")
    with multiprocessing.get_context("fork").Pool(6) as pool:
        ids = pool.map(_build_default, [d] * 6)
    assert len(set(ids)) == 1
    store = ImageStore(d)
    assert [i.id for i in store.list()] == [ids[0]]
    assert os.listdir(store.layers_dir) == [store.list()[0].layers[0].split(":")[1]]  # no temp dirs left


# -- names ------------------------------------------------------------------------------


def test_lookup_order_and_normalize(store):
    img = store.import_tarball(io.BytesIO(tar_bytes({"a": b"1"})), "quay.io/team/app:1.0")
    assert store.lookup("quay.io/team/app:1.0").id == img.id
    assert store.lookup("team/app:1.0").id == img.id  # short name under any registry
    assert store.lookup("app:1.0").id == img.id
    with pytest.raises(NoSuchImage):
        store.lookup("app")  # that is app:latest
    assert store.normalize("app") == "docker.io/library/app:latest"
    assert store.normalize("team/app:2") == "docker.io/team/app:2"
    store.tag(img.id, "app")
    assert store.normalize("app") == "localhost/app:latest"
    assert store.lookup("app").id == img.id
    assert store.normalize("registry:5000/x") == "registry:5000/x:latest"
    with pytest.raises(InvalidArgument, match="invalid reference format"):
        store.tag("app", "UPPER")
    with pytest.raises(InvalidArgument):
        store.tag("app", "bad tag")


def test_tag_moves_a_name_between_images(store):
    a = store.import_tarball(io.BytesIO(tar_bytes({"a": b"1"})), "x:1")
    b = store.import_tarball(io.BytesIO(tar_bytes({"b": b"2"})), "y:1")
    store.tag("y:1", "x:1")
    assert store.lookup("x:1").id == b.id
    assert store.lookup(a.id).names == []


# -- import ------------------------------------------------------------------------------


def test_import_from_path_and_stream(store, tmp_path):
    path = tmp_path / "rootfs.tar.gz"
    path.write_bytes(tar_bytes({"hello.txt": b"hello", "etc/os-release": b"ID=test\n"}, compress=True))
    img = store.import_tarball(str(path), "mine:v1", {"Cmd": ["cat", "/hello.txt"], "Env": ["A=1", "PATH=/bin"],
                                                      "WorkingDir": "/etc", "User": "1", "Labels": {"k": "v"}})
    assert img.names == ["localhost/mine:v1"]
    assert img.config == {"Cmd": ["cat", "/hello.txt"], "Env": ["PATH=/bin", "A=1"], "WorkingDir": "/etc",
                          "User": "1", "Labels": {"k": "v"}}
    assert img.size == len(b"hello") + len(b"ID=test\n")
    assert open(os.path.join(img.layer_dirs[0], "hello.txt")).read() == "hello"
    assert img.digest.startswith("sha256:") and img.created.endswith("Z")
    # The same layer through a stream is the same unpacked layer, stored once.
    with open(path, "rb") as f:
        again = store.import_tarball(f)
    assert again.layers == img.layers and again.names == []
    assert len(os.listdir(store.layers_dir)) == 1
    with pytest.raises(InvalidArgument):
        store.import_tarball(str(tmp_path / "missing.tar"))
    with pytest.raises(InvalidArgument):
        store.import_tarball(io.BytesIO(b"this is not a tar file" * 40))
    assert len(store.list()) == 2
    assert len(os.listdir(store.layers_dir)) == 1


def test_inspect_dict_shape(store):
    img = store.import_tarball(io.BytesIO(tar_bytes({"f": b"x"})), "insp", {"Labels": {"a": "b"}, "Cmd": ["sh"]})
    d = store.inspect_dict(img)
    for key in ("Id", "Digest", "RepoTags", "RepoDigests", "Created", "Config", "Architecture", "Os", "Size",
                "VirtualSize", "RootFS", "Labels", "GraphDriver", "History", "NamesHistory", "Author"):
        assert key in d, key
    assert d["Id"] == img.id and d["RepoTags"] == ["localhost/insp:latest"]
    assert d["RepoDigests"] == [f"localhost/insp@{img.digest}"]
    assert d["RootFS"] == {"Type": "layers", "Layers": img.layers}
    assert d["Labels"] == {"a": "b"} and d["Config"]["Cmd"] == ["sh"] and d["Os"] == "linux"
    json.dumps(d)


# -- save and load -----------------------------------------------------------------------


@needs_busybox
@pytest.mark.parametrize("fmt", ["docker-archive", "oci-archive"])
def test_save_load_round_trip(tmp_path, fmt):
    a = ImageStore(str(tmp_path / "a"))
    src = a.lookup("busybox")
    a.tag("busybox", "copy:2")
    archive = str(tmp_path / "img.tar")
    a.save(["busybox"], archive, fmt=fmt)
    b = ImageStore(str(tmp_path / "b"))
    with open(archive, "rb") as f:  # a stream, as from stdin
        assert b.load(f) == ["localhost/busybox:latest"]
    loaded = b.lookup("busybox")
    assert (loaded.id, loaded.layers, loaded.config, loaded.size) == (src.id, src.layers, src.config, src.size)
    assert loaded.names == ["localhost/busybox:latest"]  # only the name asked for
    if fmt == "oci-archive":
        assert loaded.digest == src.digest
    assert os.path.isfile(os.path.join(loaded.layer_dirs[0], "bin", "busybox"))
    # Loading again changes nothing; saving by id carries every name.
    assert b.load(archive) == ["localhost/busybox:latest"]
    buf = io.BytesIO()
    a.save([src.id], buf, fmt=fmt)
    c = ImageStore(str(tmp_path / "c"))
    assert sorted(c.load(io.BytesIO(buf.getvalue()))) == ["localhost/busybox:latest", "localhost/copy:2"]


def test_save_docker_archive_layout(store, tmp_path):
    img = store.import_tarball(io.BytesIO(tar_bytes({"f": b"x"}, compress=True)), "lay:1")
    out = tmp_path / "x.tar"
    store.save(["lay:1"], str(out))
    with tarfile.open(out) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        repos = json.load(tar.extractfile("repositories"))
        assert manifest == [{"Config": f"{img.id}.json", "RepoTags": ["localhost/lay:1"],
                             "Layers": [f"{img.layers[0][7:]}/layer.tar"]}]
        layer = tar.extractfile(manifest[0]["Layers"][0]).read()
        assert f"sha256:{sha(layer)}" == img.layers[0]  # uncompressed, as docker-archive wants
        assert sha(tar.extractfile(f"{img.id}.json").read()) == img.id
    assert repos == {"localhost/lay": {"1": img.layers[0][7:]}}


GZ = bytes([0x1F, 0x8B])


def _docker_archive(path, layers: list[bytes], repo_tags, symlink_dupe=False) -> str:
    diff_ids = ["sha256:" + sha(gzip.decompress(layer) if layer[:2] == GZ else layer) for layer in layers]
    config = json.dumps({"architecture": "amd64", "os": "linux", "created": "2023-01-02T03:04:05Z",
                         "config": {"Cmd": ["/bin/true"]}, "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    entries = {f"{sha(config)}.json": config}
    paths = []
    for i, layer in enumerate(layers):
        entries[f"l{i}/layer.tar"] = layer
        paths.append(f"l{i}/layer.tar")
    with tarfile.open(path, "w") as tar:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if symlink_dupe:
            info = tarfile.TarInfo("dupe/layer.tar")
            info.type = tarfile.SYMTYPE
            info.linkname = "../l0/layer.tar"
            tar.addfile(info)
            paths.append("dupe/layer.tar")
            diff_ids.append(diff_ids[0])
            config = json.dumps({**json.loads(config), "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
            info = tarfile.TarInfo(f"{sha(config)}.json")
            info.size = len(config)
            tar.addfile(info, io.BytesIO(config))
        manifest = json.dumps([{"Config": f"{sha(config)}.json", "RepoTags": repo_tags, "Layers": paths}]).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
    return sha(config)


def test_load_docker_saved_archive(store, tmp_path):
    """As `docker save` writes them: short names, <id>/layer.tar, a repeated layer as a symlink, gzip layers accepted."""
    path = str(tmp_path / "d.tar")
    iid = _docker_archive(path, [tar_bytes({"a": b"1"}), tar_bytes({"b": b"2"}, compress=True)], ["alpine:3.18"],
                          symlink_dupe=True)
    assert store.load(path) == ["docker.io/library/alpine:3.18"]
    img = store.lookup("alpine:3.18")
    assert img.id == iid and len(img.layers) == 3 and img.created == "2023-01-02T03:04:05Z"
    # Saved back out, a gzip layer is written plain.
    out = tmp_path / "out.tar"
    store.save(["alpine:3.18"], str(out))
    other = ImageStore(str(tmp_path / "o"))
    assert other.load(str(out)) == ["docker.io/library/alpine:3.18"]
    assert other.lookup("alpine:3.18").id == iid


def test_load_refuses_mismatched_layers_and_changes_nothing(store, tmp_path):
    path = str(tmp_path / "d.tar")
    _docker_archive(path, [tar_bytes({"a": b"1"})], ["bad:1"])
    # Swap the layer's bytes for others: the diff id no longer matches.
    with tarfile.open(path) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    members["l0/layer.tar"] = tar_bytes({"evil": b"2"})
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(InvalidArgument, match="does not match"):
        store.load(path)
    assert store.list() == [] and os.listdir(store.blobs) == [] and os.listdir(store.layers_dir) == []
    with pytest.raises(InvalidArgument):
        store.load(io.BytesIO(b"garbage" * 1000))


def _oci_archive(path, layer: bytes, annotation: str | None, tamper: bool = False) -> str:
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [f"sha256:{sha(gzip.decompress(layer))}"]}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": f"sha256:{sha(config)}", "size": len(config)},
                           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": f"sha256:{sha(layer)}", "size": len(layer)}]}).encode()
    desc = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": f"sha256:{sha(manifest)}", "size": len(manifest)}
    if annotation:
        desc["annotations"] = {"org.opencontainers.image.ref.name": annotation}
    files = {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}',
             "index.json": json.dumps({"schemaVersion": 2, "manifests": [desc]}).encode(),
             f"blobs/sha256/{sha(config)}": config, f"blobs/sha256/{sha(manifest)}": manifest,
             f"blobs/sha256/{sha(layer)}": layer + (b"junk" if tamper else b"")}
    with tarfile.open(path, "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return sha(config)


def test_load_oci_archive_names(store, tmp_path):
    layer = tar_bytes({"x": b"y"}, compress=True)
    iid = _oci_archive(str(tmp_path / "a.tar"), layer, "quay.io/org/thing:5")
    assert store.load(str(tmp_path / "a.tar")) == ["quay.io/org/thing:5"]
    img = store.lookup("thing:5")
    assert img.id == iid
    _oci_archive(str(tmp_path / "b.tar"), layer, "latest")  # a bare tag names nothing
    assert store.load(str(tmp_path / "b.tar")) == [f"sha256:{iid}"]
    # Saved as oci-archive, the layer blob is the very one received: same manifest digest.
    out = tmp_path / "c.tar"
    store.save(["thing:5"], str(out), fmt="oci-archive")
    other = ImageStore(str(tmp_path / "o"))
    assert other.load(str(out)) == ["quay.io/org/thing:5"]
    assert other.lookup("quay.io/org/thing:5").digest == img.digest


def test_load_oci_refuses_tampered_blob(store, tmp_path):
    _oci_archive(str(tmp_path / "a.tar"), tar_bytes({"x": b"y"}, compress=True), "quay.io/org/thing:5", tamper=True)
    with pytest.raises(InvalidArgument, match="does not match"):
        store.load(str(tmp_path / "a.tar"))
    assert store.list() == [] and os.listdir(store.layers_dir) == []


# -- removal ------------------------------------------------------------------------------


def test_tag_untag_remove_and_blob_cleanup(store):
    base = tar_bytes({"shared": b"s"})
    a = store.import_tarball(io.BytesIO(base), "a:1")
    b = store.import_tarball(io.BytesIO(base), "b:1", {"Cmd": ["other"]})  # same layer, other config
    assert a.id != b.id and a.layers == b.layers
    store.tag("a:1", "a:2")
    store.tag("a:1", "quay.io/a:3")
    assert store.untag("a:1", "a:2") == ["localhost/a:2"]
    with pytest.raises(NoSuchImage, match="tag not known"):
        store.untag("a:1", "a:2")
    assert store.remove("quay.io/a:3") == ["Untagged: quay.io/a:3"]  # one name of several: only untagged
    assert store.lookup(a.id).names == ["localhost/a:1"]
    assert store.remove("a:1") == ["Untagged: localhost/a:1", f"Deleted: {a.id}"]
    assert not store.exists(a.id)
    assert os.path.isdir(b.layer_dirs[0])  # still b's
    blobs = set(os.listdir(store.blobs))
    assert a.id not in blobs and b.id in blobs
    store.tag("b:1", "b:2")
    assert store.remove(b.id) == ["Untagged: localhost/b:1", "Untagged: localhost/b:2", f"Deleted: {b.id}"]
    assert os.listdir(store.blobs) == [] and os.listdir(store.layers_dir) == []
    with pytest.raises(NoSuchImage):
        store.remove("b:1")


# -- overlay -------------------------------------------------------------------------------


@needs_busybox
def test_overlay_mount(store, tmp_path):
    img = store.lookup("busybox")
    cs = ContainerStorage(store.dir)
    cs.create("c1", img)
    assert not cs.is_mounted("c1")
    merged = cs.mount("c1", img)
    try:
        assert cs.is_mounted("c1")
        assert os.path.isfile(os.path.join(merged, "bin", "busybox"))
        with open(os.path.join(merged, "new.txt"), "w") as f:
            f.write("x")
        os.unlink(os.path.join(merged, "etc", "hostname"))
        upper = os.path.join(store.dir, "overlay-containers", "c1", "upper")
        assert open(os.path.join(upper, "new.txt")).read() == "x"
        assert stat.S_ISCHR(os.lstat(os.path.join(upper, "etc", "hostname")).st_mode)  # a whiteout
        assert not os.path.exists(os.path.join(img.layer_dirs[0], "new.txt"))
        assert os.path.exists(os.path.join(img.layer_dirs[0], "etc", "hostname"))
        assert cs.mount("c1", img) == merged  # idempotent: no second overlay stacked
        assert sum(1 for line in open("/proc/self/mountinfo") if f" {merged} " in line) == 1
        out = subprocess.run([os.path.join(merged, "bin", "busybox"), "cat", os.path.join(merged, "new.txt")],
                             capture_output=True, text=True)
        assert out.stdout == "x"
    finally:
        cs.unmount("c1")
    assert not cs.is_mounted("c1")
    cs.unmount("c1")  # again: fine
    assert os.path.exists(os.path.join(store.dir, "overlay-containers", "c1", "upper", "new.txt"))
    cs.remove("c1")
    cs.remove("c1")
    assert not os.path.exists(os.path.join(store.dir, "overlay-containers", "c1"))


@needs_busybox
def test_remove_while_mounted(store):
    img = store.lookup("busybox")
    cs = ContainerStorage(store.dir)
    cs.create("c2", img)
    merged = cs.mount("c2", img)
    cwd = os.open(merged, os.O_RDONLY | os.O_DIRECTORY)  # keeps it busy: the lazy detach path
    try:
        cs.remove("c2")
    finally:
        os.close(cwd)
    assert not os.path.exists(os.path.join(store.dir, "overlay-containers", "c2"))
    assert os.path.isfile(os.path.join(img.layer_dirs[0], "bin", "busybox"))  # the image is untouched


@pytest.mark.parametrize("depth,base_len", [(60, 10), (200, 150)])
def test_overlay_many_layers(tmp_path, depth, base_len):
    """A lowerdir list over a page: short links, then links relative to the storage dir."""
    storage = str(tmp_path / ("s" * base_len))
    layers_root = os.path.join(storage, "layers")
    diff_ids = []
    for i in range(depth):
        hexd = sha(str(i).encode())
        os.makedirs(os.path.join(layers_root, hexd, "diff"))
        with open(os.path.join(layers_root, hexd, "diff", f"f{i}"), "w") as f:
            f.write(str(i))
        with open(os.path.join(layers_root, hexd, "diff", "top"), "w") as f:
            f.write(str(i))
        diff_ids.append(f"sha256:{hexd}")
    img = Image(id="0" * 64, names=[], digest="", created="", config={}, layers=diff_ids, size=0, layers_root=layers_root)
    assert len(":".join(img.layer_dirs)) > 4096
    cs = ContainerStorage(storage)
    cs.create("deep", img)
    cwd = os.getcwd()
    merged = cs.mount("deep", img)
    try:
        assert os.getcwd() == cwd
        assert sorted(os.listdir(merged)) == sorted(["top", *(f"f{i}" for i in range(depth))])
        assert open(os.path.join(merged, "top")).read() == str(depth - 1)  # the last layer is on top
    finally:
        cs.remove("deep")


def test_container_ids_cannot_escape(tmp_path):
    cs = ContainerStorage(str(tmp_path / "s"))
    for bad in ("../x", "a/b", "", ".."):
        with pytest.raises(InvalidArgument):
            cs.create(bad, None)
    assert not os.path.exists(tmp_path / "x")


def test_missing_layer_is_a_clear_error(tmp_path):
    img = Image(id="1" * 64, names=[], digest="", created="", config={}, layers=[f"sha256:{'2' * 64}"], size=0,
                layers_root=str(tmp_path / "nowhere"))
    cs = ContainerStorage(str(tmp_path / "s"))
    with pytest.raises(PypodError, match="is missing"):
        cs.mount("c", img)
    assert not cs.is_mounted("c")


# -- podman -----------------------------------------------------------------------------------


@needs_busybox
@pytest.mark.skipif(not shutil.which("podman"), reason="podman is not installed")
@pytest.mark.parametrize("fmt", ["docker-archive", "oci-archive"])
def test_podman_loads_our_archive(store, tmp_path, fmt):
    archive = str(tmp_path / "bb.tar")
    iid = store.lookup("busybox").id
    store.save(["busybox"], archive, fmt=fmt)
    short = tempfile.mkdtemp(prefix="pp-", dir="/tmp")  # podman refuses run roots over 50 characters
    try:
        podman = ["podman", "--root", f"{short}/r", "--runroot", f"{short}/rr", "--events-backend", "file",
                  "--cgroup-manager", "cgroupfs", "--storage-driver", "overlay"]
        p = subprocess.run([*podman, "load", "-i", archive], capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        assert "localhost/busybox:latest" in p.stdout
        p = subprocess.run([*podman, "image", "inspect", "localhost/busybox:latest", "--format", "{{.Id}}"],
                           capture_output=True, text=True, timeout=60)
        assert p.stdout.strip() == iid
    finally:
        subprocess.run(["sh", "-c", f"umount -R -l {short}/r/overlay 2>/dev/null; rm -rf {short}"], capture_output=True)
