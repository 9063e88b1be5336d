"""podman's image commands and flags on real images: listing, names,
history and tree, prune, mounts, diffs, and the four save/load formats."""

from __future__ import annotations

import json
import os
import subprocess
import tarfile


def _ids(pypod, *args) -> list[str]:
    return pypod.out("images", "-q", "--no-trunc", *args).split()


def test_listing_names_history_and_prune(pypod, tmp_path):
    bb = pypod.out("inspect", "--type", "image", "-f", "{{.Id}}", "busybox")
    # a second image on top of busybox's layer: its child in the layer tree
    rootfs = tmp_path / "extra.tar"
    with tarfile.open(rootfs, "w") as t:
        info = tarfile.TarInfo("hello.txt")
        data = b"hi\n"
        info.size = len(data)
        import io

        t.addfile(info, io.BytesIO(data))
    child = pypod.out("import", "-q", "--arch", "arm64", "--os", "linux", "--variant", "v8", "-m", "made by a test",
                      "-c", "LABEL tier=web", str(rootfs), "extra:1").removeprefix("sha256:")
    img = json.loads(pypod.out("image", "inspect", child))[0]
    assert img["Architecture"] == "arm64" and img["Os"] == "linux"
    assert pypod.out("images", "--format", "{{.Repository}}:{{.Tag}}", "--sort", "repository").split() == \
        ["localhost/busybox:latest", "localhost/extra:1"]
    assert _ids(pypod, "--filter", "label=tier=web") == ["sha256:" + child]
    assert _ids(pypod, "--filter", "reference=busy*") == ["sha256:" + bb]
    assert _ids(pypod, "--filter", "since=busybox") == ["sha256:" + child]
    assert _ids(pypod, "--filter", "before=extra:1") == ["sha256:" + bb]
    assert _ids(pypod, "--filter", "dangling=true") == []
    assert _ids(pypod, "--filter", f"id={bb}") == ["sha256:" + bb]
    assert _ids(pypod, "extra") == ["sha256:" + child]
    assert pypod.out("images", "-q") .split() == [child[:12], bb[:12]]  # newest first
    p = pypod("images", "--sort", "colour", check=False)
    assert p.returncode == 125 and b'"colour" is not a valid field for sorting' in p.stderr
    p = pypod("images", "--filter", "shape=round", check=False)
    assert p.returncode == 125 and b'unsupported image filter "shape"' in p.stderr
    table = pypod.out("images", "--digests", "--history", "extra").splitlines()
    assert table[0].split() == ["REPOSITORY", "TAG", "DIGEST", "IMAGE", "ID", "CREATED", "SIZE", "HISTORY"]
    assert "sha256:" in table[1] and table[1].endswith("localhost/extra:1")
    listed = json.loads(pypod.out("images", "--format", "json"))
    entry = next(e for e in listed if e["Id"] == child)
    assert entry["Names"] == ["localhost/extra:1"] and entry["Labels"] == {"tier": "web"} and "RepoTags" not in entry
    # names: tag, untag, the history of names
    pypod("tag", "extra:1", "extra:2")
    assert pypod("image", "exists", "extra:2").returncode == 0
    pypod("untag", "extra:1", "extra:2")
    assert pypod("image", "exists", "extra:2", check=False).returncode == 1
    assert pypod.out("images", "--format", "{{.History}}", "--filter", f"id={child}") == "localhost/extra:2, localhost/extra:1"
    pypod("tag", child, "extra:1")
    # history: newest step first, the comment given at import
    rows = pypod.out("history", "--format", "{{.ID}}|{{.CreatedBy}}|{{.Comment}}", "extra:1").splitlines()
    assert rows == [f"{child[:12]}|pypod import|made by a test"]
    assert pypod.out("image", "history", "-q", "--no-trunc", "extra:1") == child
    assert pypod.out("image", "history", "--human=false", "--format", "{{.Size}}", "busybox").isdigit()
    hist = json.loads(pypod.out("history", "--format", "json", "extra:1"))
    assert hist[0]["id"] == child and hist[0]["Comment"] == "made by a test"
    # tree
    tree = pypod.out("image", "tree", "busybox").splitlines()
    assert tree[0] == f"Image ID: {bb[:12]}" and tree[1] == "Tags:     [localhost/busybox:latest]"
    assert tree[4].startswith("└── ID: ") and tree[4].endswith("Top Layer of: [localhost/busybox:latest]")
    # diff of an image: its top layer's files
    assert pypod.out("image", "diff", "extra:1") == "A /hello.txt"
    # prune: nothing dangling yet; untagging the import leaves it dangling; -a takes unused ones too
    assert pypod.out("image", "prune", "-f") == ""
    pypod("untag", "extra:1")
    assert _ids(pypod, "--filter", "dangling=true") == ["sha256:" + child]
    assert pypod.out("image", "prune", "--force") == child
    pypod("create", "--name", "user", "busybox", "true")
    assert pypod.out("image", "prune", "-a", "-f") == ""  # busybox is in use
    p = pypod("rmi", "busybox", check=False)
    assert p.returncode == 2 and b"image is in use by a container" in p.stderr
    assert pypod("rmi", "nosuch", check=False).returncode == 1
    assert pypod("rmi", "--ignore", "nosuch").returncode == 0


def test_image_mounts(pypod):
    path = pypod.out("image", "mount", "busybox")
    assert os.path.isfile(os.path.join(path, "bin", "busybox"))
    p = subprocess.run(["touch", os.path.join(path, "nope")], capture_output=True)
    assert p.returncode != 0  # read-only
    assert pypod.out("image", "mount").endswith(path) and pypod.out("image", "mount").startswith("localhost/busybox:latest")
    listed = json.loads(pypod.out("image", "mount", "--format", "json"))
    assert listed[0]["mountpoint"] == path
    pypod("image", "umount", "busybox")
    assert not os.path.ismount(path) and pypod.out("image", "mount") == ""


def test_save_and_load_in_every_format(pypod, tmp_path):
    bb = pypod.out("inspect", "--type", "image", "-f", "{{.Id}}", "busybox")
    pypod("tag", "busybox", "other:1")
    out = {}
    for fmt in ("docker-archive", "oci-archive", "oci-dir", "docker-dir"):
        dest = str(tmp_path / fmt)
        pypod("save", "-q", "--format", fmt, "-o", dest, "busybox")
        out[fmt] = dest
    with tarfile.open(out["oci-archive"]) as t:
        index = json.load(t.extractfile("index.json"))
        manifest = json.load(t.extractfile("blobs/sha256/" + index["manifests"][0]["digest"][7:]))
    assert manifest["layers"][0]["mediaType"].endswith("tar+gzip")  # podman gzips OCI layers unless --uncompressed
    pypod("save", "-q", "--uncompressed", "--format", "oci-archive", "-o", str(tmp_path / "plain.tar"), "busybox")
    with tarfile.open(tmp_path / "plain.tar") as t:
        index = json.load(t.extractfile("index.json"))
        manifest = json.load(t.extractfile("blobs/sha256/" + index["manifests"][0]["digest"][7:]))
    assert manifest["layers"][0]["mediaType"].endswith(".tar")
    assert sorted(os.listdir(out["oci-dir"])) == ["blobs", "index.json", "oci-layout"]
    docker_dir = json.load(open(os.path.join(out["docker-dir"], "manifest.json")))
    assert docker_dir["config"]["digest"] == f"sha256:{bb}" and open(os.path.join(out["docker-dir"], "version")).read().startswith("Directory Transport")
    pypod("save", "-q", "--format", "docker-dir", "--compress", "-o", str(tmp_path / "gz-dir"), "busybox")
    gz = json.load(open(tmp_path / "gz-dir" / "manifest.json"))
    assert open(tmp_path / "gz-dir" / gz["layers"][0]["digest"][7:], "rb").read(2) == b"\x1f\x8b"
    # -m: several images in one docker-archive; without it, the other names belong to the one image
    pypod("save", "-q", "-m", "-o", str(tmp_path / "multi.tar"), "busybox", "other:1")
    with tarfile.open(tmp_path / "multi.tar") as t:
        tags = [tag for e in json.load(t.extractfile("manifest.json")) for tag in e["RepoTags"]]
    assert sorted(tags) == ["localhost/busybox:latest", "localhost/other:1"]
    pypod("save", "-q", "-o", str(tmp_path / "named.tar"), "busybox", "alias:7")
    with tarfile.open(tmp_path / "named.tar") as t:
        entries = json.load(t.extractfile("manifest.json"))
    assert len(entries) == 1 and "localhost/alias:7" in entries[0]["RepoTags"]
    assert pypod("image", "exists", "alias:7", check=False).returncode == 1  # not a name here, only in the archive
    for bad, msg in ((("--format", "tarball"), b"format value must be one of"),
                     (("--compress", "--format", "oci-archive"), b"--compress can only be set"),
                     (("-m", "--format", "oci-dir", "-o", str(tmp_path / "x")), b"for saving multiple images")):
        p = pypod("save", *bad, "busybox", "other:1", check=False)
        assert p.returncode == 125 and msg in p.stderr, (bad, p.stderr)
    # every format loads back
    pypod("rmi", "-f", "busybox", "other:1")
    assert pypod.out("load", "-i", out["docker-archive"]) == "Loaded image: localhost/busybox:latest"
    pypod("rmi", "busybox")
    assert pypod.out("load", "-q", "-i", out["oci-dir"]).endswith("localhost/busybox:latest")
    pypod("rmi", "busybox")
    loaded = pypod.out("load", "-i", out["docker-dir"])
    assert loaded == f"Loaded image: sha256:{bb}"  # the dir transport carries no name
    assert pypod("run", "--rm", bb, "true").returncode == 0
    p = pypod("load", "-i", str(tmp_path), check=False)
    assert p.returncode == 125 and b"does not match any of the supported image formats" in p.stderr


def test_runlabel(pypod, tmp_path):
    pypod("create", "--name", "src", "busybox", "true")
    pypod("export", "-o", str(tmp_path / "fs.tar"), "src")
    pypod("rm", "src")
    pypod("import", "-q", "-c", 'LABEL run="podman run --rm --name NAME IMAGE echo hi-from-NAME $OPT1"',
          "-c", f'LABEL note="sh -c \'echo IMAGE > {tmp_path}/note\'"', str(tmp_path / "fs.tar"), "tools/lab:1")
    shown = pypod.out("container", "runlabel", "--display", "run", "lab:1", "more")
    assert shown.startswith("command: /") and shown.split()[-8:] == \
        ["run", "--rm", "--name", "lab", "localhost/tools/lab:1", "echo", "hi-from-lab", "more"]
    p = pypod("container", "runlabel", "-n", "mine", "run", "lab:1", env={**os.environ, "OPT1": "opt"})
    assert p.stdout == b"hi-from-mine opt\n"
    pypod("container", "runlabel", "note", "lab:1")  # a label's command need not be an engine's
    assert (tmp_path / "note").read_text() == "localhost/tools/lab:1\n"
    # --replace takes a container of that name out of the way first
    pypod("create", "--name", "lab", "busybox", "true")
    p = pypod("container", "runlabel", "run", "lab:1", check=False)
    assert p.returncode != 0 and b"already in use" in p.stderr
    assert pypod("container", "runlabel", "--replace", "run", "lab:1").stdout == b"hi-from-lab \n"  # $OPT1 unset: an empty word
    p = pypod("container", "runlabel", "install", "lab:1", check=False)
    assert p.returncode == 125 and b"cannot find the value of label: install in image: lab:1" in p.stderr
