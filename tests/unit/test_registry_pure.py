"""The registry code's pure parts: references, manifests, challenges,
registries.conf and short names, credentials files, and the one-pass layer
stream (decompress, hash, unpack) with every compression."""

from __future__ import annotations

import base64
import bz2
import gzip
import hashlib
import io
import json
import lzma
import os
import tarfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pypod.errors import InvalidArgument
from pypod.registry import auth, manifest as mf
from pypod.registry.challenge import parse_challenges
from pypod.registry.reference import Reference, parse
from pypod.registry.shortnames import load, resolve

# -- references -----------------------------------------------------------------------


@pytest.mark.parametrize("text, want", [
    ("busybox", Reference("", "busybox")),
    ("busybox:1.36", Reference("", "busybox", "1.36")),
    ("team/app", Reference("", "team/app")),
    ("docker.io/busybox", Reference("docker.io", "library/busybox")),
    ("index.docker.io/team/app:v1", Reference("docker.io", "team/app", "v1")),
    ("localhost/app", Reference("localhost", "app")),
    ("127.0.0.1:5000/a/b/c:t", Reference("127.0.0.1:5000", "a/b/c", "t")),
    ("quay.io/x@sha256:" + "a" * 64, Reference("quay.io", "x", "", "sha256:" + "a" * 64)),
    ("quay.io/x:t@sha256:" + "b" * 64, Reference("quay.io", "x", "t", "sha256:" + "b" * 64)),
    ("docker://reg:1/x", Reference("reg:1", "x")),
    ("[::1]:5000/x", Reference("[::1]:5000", "x")),
])
def test_parse(text, want):
    assert parse(text) == want


@pytest.mark.parametrize("text, words", [
    ("UPPER", "repository name must be lowercase"),
    ("reg:1/Team/app", "repository name must be lowercase"),
    ("", "invalid reference format"),
    (" busybox", "invalid reference format"),
    ("a b", "invalid reference format"),
    ("x:", "invalid reference format"),
    ("x@sha256:12", "invalid reference format"),
    ("x@sha256:" + "g" * 64, "invalid reference format"),
    ("-x", "invalid reference format"),
    ("reg:1/", "invalid reference format"),
    ("x:" + "t" * 129, "invalid reference format"),
    ("a/" * 130 + "b", "must not be more than 255 characters"),
])
def test_parse_refuses(text, words):
    with pytest.raises(InvalidArgument, match=words):
        parse(text)


def test_reference_helpers():
    r = parse("team/app")
    assert r.short and str(r.tagged()) == "team/app:latest" and r.version == "latest"
    assert str(r.in_domain("docker.io")) == "docker.io/team/app"
    assert str(parse("app").in_domain("docker.io")) == "docker.io/library/app"
    assert str(parse("app").in_domain("reg:1")) == "reg:1/app"
    d = "sha256:" + "c" * 64
    assert parse("r.io/x:t").with_digest(d).version == d


_component = st.from_regex(r"[a-z0-9]{1,5}(?:[_-][a-z0-9]{1,5}){0,2}", fullmatch=True)  # no ".": that would make a domain


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["", "reg.io/", "localhost:5000/", "127.0.0.1:1/"]),
       st.lists(_component, min_size=1, max_size=3),
       st.one_of(st.just(""), st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,10}", fullmatch=True)))
def test_parse_round_trip(domain, parts, tag):
    text = domain + "/".join(parts) + (f":{tag}" if tag else "")
    r = parse(text)
    assert parse(str(r)) == r
    assert r.tag == tag and r.domain == domain.rstrip("/")


# -- manifests ---------------------------------------------------------------------------


def _desc(data: bytes = b"x", **kw) -> dict:
    return {"mediaType": mf.OCI_MANIFEST, "digest": "sha256:" + hashlib.sha256(data).hexdigest(), "size": len(data), **kw}


def test_manifest_parse_and_platforms():
    index = json.dumps({"schemaVersion": 2, "mediaType": mf.OCI_INDEX, "manifests": [
        _desc(b"a", platform={"os": "linux", "architecture": "amd64"}),
        _desc(b"b", platform={"os": "linux", "architecture": "arm64"}),
        _desc(b"c", platform={"os": "linux", "architecture": "arm", "variant": "v6"}),
        _desc(b"d", platform={"os": "linux", "architecture": "arm", "variant": "v7"}),
        _desc(b"e", platform={"os": "windows", "architecture": "amd64"}),
    ]}).encode()
    parsed = mf.parse(index)
    assert isinstance(parsed, mf.Index) and len(parsed.manifests) == 5
    pick = lambda *p: mf.select_platform(parsed, *p).digest  # noqa: E731
    assert pick("linux", "amd64", "") == parsed.manifests[0].digest
    assert pick("linux", "arm64", "v8") == parsed.manifests[1].digest  # arm64 entries often leave out v8
    assert pick("linux", "arm", "v7") == parsed.manifests[3].digest
    assert pick("windows", "amd64", "") == parsed.manifests[4].digest
    with pytest.raises(InvalidArgument, match="no image found in manifest list for architecture s390x"):
        pick("linux", "s390x", "")
    assert mf.platforms(parsed)[2] == "linux/arm/v6"
    image = json.dumps({"schemaVersion": 2, "mediaType": mf.DOCKER_MANIFEST,
                        "config": _desc(b"cfg", mediaType=mf.DOCKER_CONFIG),
                        "layers": [_desc(b"l", mediaType=mf.DOCKER_LAYER_GZIP)]}).encode()
    m = mf.parse(image)
    assert isinstance(m, mf.ImageManifest) and m.layers[0].media_type == mf.DOCKER_LAYER_GZIP
    # no mediaType field: the server's Content-Type says
    bare = json.dumps({"schemaVersion": 2, "config": _desc(b"c"), "layers": []}).encode()
    assert mf.media_type_of(bare, mf.DOCKER_MANIFEST + "; charset=utf-8") == mf.DOCKER_MANIFEST


@pytest.mark.parametrize("doc, words", [
    ({"schemaVersion": 1, "name": "x", "fsLayers": []}, "Docker schema 1"),
    ({"schemaVersion": 3, "mediaType": mf.OCI_MANIFEST}, "schemaVersion"),
    ({"schemaVersion": 2, "mediaType": mf.OCI_MANIFEST, "config": {"digest": "md5:00", "size": 1}, "layers": []},
     "invalid config descriptor|unsupported digest"),
    ({"schemaVersion": 2, "mediaType": mf.OCI_MANIFEST, "config": _desc(b"c"), "layers": [{"digest": "x"}]},
     "invalid layer descriptor"),
    ({"schemaVersion": 2, "mediaType": "application/x-other"}, "unsupported manifest type"),
    ([], "not a JSON object"),
])
def test_manifest_refusals(doc, words):
    with pytest.raises(InvalidArgument, match=words):
        mf.parse(json.dumps(doc).encode())


def test_parse_platform():
    assert mf.parse_platform("linux/arm64/v8") == ("linux", "arm64", "v8")
    for bad in ("linux", "linux/", "a/b/c/d"):
        with pytest.raises(InvalidArgument):
            mf.parse_platform(bad)


# -- challenges ------------------------------------------------------------------------------


def test_challenges():
    cs = parse_challenges(['Bearer realm="https://auth.io/token",service="registry.io",scope="repository:a/b:pull,push"'])
    assert cs[0].scheme == "bearer" and cs[0].params == {
        "realm": "https://auth.io/token", "service": "registry.io", "scope": "repository:a/b:pull,push"}
    cs = parse_challenges(['Basic realm="Registry Realm", Bearer realm="x",error="invalid_token"', 'Basic realm=plain'])
    assert [c.scheme for c in cs] == ["basic", "bearer", "basic"]
    assert cs[1].params["error"] == "invalid_token" and cs[2].params["realm"] == "plain"
    assert parse_challenges(['Bearer realm="a\\"b"'])[0].params["realm"] == 'a"b'
    assert parse_challenges(["", "  "]) == []


# -- registries.conf ---------------------------------------------------------------------------


def _conf(tmp_path, text: str):
    p = tmp_path / "registries.conf"
    p.write_text(text)
    return load(str(p)), str(p)


def test_short_name_resolution(tmp_path):
    conf, path = _conf(tmp_path, "")
    with pytest.raises(InvalidArgument, match=f'no unqualified-search registries are defined in "{path}"'):
        resolve(conf, "app")
    assert [str(r) for r in resolve(conf, "reg.io/app").candidates] == ["reg.io/app:latest"]
    conf, _ = _conf(tmp_path, 'unqualified-search-registries = ["a.io", "docker.io"]\n')
    assert [str(r) for r in resolve(conf, "app:1").candidates] == ["a.io/app:1", "docker.io/library/app:1"]
    conf, _ = _conf(tmp_path, 'unqualified-search-registries = ["a.io", "b.io"]\nshort-name-mode = "enforcing"\n'
                              '[aliases]\n"app" = "c.io/team/app"\n')
    res = resolve(conf, "app:2")
    assert [str(r) for r in res.candidates] == ["c.io/team/app:2"] and "alias" in res.note
    with pytest.raises(InvalidArgument, match="cannot prompt without a TTY"):
        resolve(conf, "other")
    assert [str(r) for r in resolve(conf, "other", True, lambda choices: 1).candidates] == ["b.io/other:latest"]
    conf, _ = _conf(tmp_path, 'unqualified-search-registries = ["a.io"]\nshort-name-mode = "enforcing"\n')
    assert [str(r) for r in resolve(conf, "x").candidates] == ["a.io/x:latest"]  # one: no ambiguity


def test_registry_entries_mirrors_and_blocking(tmp_path):
    conf, _ = _conf(tmp_path, '''
[[registry]]
prefix = "example.com/foo"
location = "internal:5000/bar"
insecure = true
[[registry.mirror]]
location = "mirror-a:1/m"
[[registry.mirror]]
location = "mirror-b:1/m"
pull-from-mirror = "digest-only"
[[registry]]
location = "blocked.io"
blocked = true
[[registry]]
prefix = "*.wild.io"
insecure = true
''')
    eps = conf.endpoints(parse("example.com/foo/app:1"))
    assert [(str(e.ref), e.insecure, e.mirror) for e in eps] == [
        ("mirror-a:1/m/app:1", False, True), ("internal:5000/bar/app:1", True, False)]
    d = "sha256:" + "d" * 64
    assert len(conf.endpoints(parse(f"example.com/foo/app@{d}"))) == 3
    assert conf.endpoints(parse("example.com/foobar/x"))[0].ref.domain == "example.com"  # not under the prefix
    with pytest.raises(InvalidArgument, match="registry blocked.io is blocked"):
        conf.endpoints(parse("blocked.io/x"))
    assert conf.insecure("a.wild.io") and not conf.insecure("wild.io") and not conf.insecure("other.io")


@pytest.mark.parametrize("text, words", [
    ("nope = [", "loading registries configuration"),
    ('unqualified-search-registries = "a.io"', "must be a list of strings"),
    ('short-name-mode = "sometimes"', "invalid short name mode"),
    ('[[registry]]\ninsecure = "yes"\nlocation = "a.io"', "insecure must be true or false"),
    ('[aliases]\n"a:1" = "b.io/a"', "without tag or digest"),
    ('[aliases]\n"a" = "b"', "fully qualified"),
    ('[registries.search]\nregistries = ["a.io"]\n[[registry]]\nlocation = "b.io"', "mixing sysregistry v1/v2"),
])
def test_registries_conf_refusals(tmp_path, text, words):
    with pytest.raises(InvalidArgument, match=words):
        _conf(tmp_path, text)


def test_registries_conf_v1(tmp_path):
    conf, _ = _conf(tmp_path, '[registries.search]\nregistries = ["a.io"]\n[registries.insecure]\nregistries = ["b.io"]\n'
                              '[registries.block]\nregistries = ["c.io"]\n')
    assert conf.search == ["a.io"] and conf.insecure("b.io")
    with pytest.raises(InvalidArgument, match="blocked"):
        conf.endpoints(parse("c.io/x"))


# -- credentials -------------------------------------------------------------------------------


def _b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def test_auth_lookup_order_and_keys(tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / ".docker").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    for var in ("REGISTRY_AUTH_FILE", "DOCKER_CONFIG", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(var, raising=False)
    (home / ".docker" / "config.json").write_text(json.dumps({"auths": {
        "https://index.docker.io/v1/": {"auth": _b64("hub:pw")}, "reg.io": {"auth": _b64("docker:pw")}}}))
    assert auth.lookup("docker.io") == auth.Credentials("hub", "pw")
    assert auth.lookup("reg.io") == auth.Credentials("docker", "pw")
    assert auth.lookup("other.io") is None
    # podman's file comes first, and the most specific key wins
    path = auth.store("reg.io", auth.Credentials("podman", "pw2"))
    assert path == str(tmp_path / "run" / "containers" / "auth.json")
    auth.store("reg.io/team", auth.Credentials("team", "pw3"))
    assert auth.lookup("reg.io") == auth.Credentials("podman", "pw2")
    assert auth.lookup("reg.io", "team/app") == auth.Credentials("team", "pw3")
    assert auth.lookup("reg.io", "teamx/app") == auth.Credentials("podman", "pw2")
    # an explicit file is the only one read
    explicit = tmp_path / "only.json"
    explicit.write_text("{}")
    assert auth.lookup("docker.io", authfile=str(explicit)) is None
    assert auth.remove("reg.io") and not auth.remove("reg.io")
    assert auth.found_elsewhere("reg.io") == str(home / ".docker" / "config.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InvalidArgument, match="unmarshaling JSON"):
        auth.lookup("x", authfile=str(tmp_path / "bad.json"))
    (tmp_path / "bad2.json").write_text(json.dumps({"auths": {"x": {"auth": _b64("nocolon")}}}))
    with pytest.raises(InvalidArgument, match="invalid auth entry"):
        auth.lookup("x", authfile=str(tmp_path / "bad2.json"))


def test_parse_creds():
    assert auth.parse_creds("u:p:q") == auth.Credentials("u", "p:q")
    for bad in ("", ":p"):
        with pytest.raises(InvalidArgument):
            auth.parse_creds(bad)


# -- the layer stream ---------------------------------------------------------------------------


def _layer(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _compressors():
    from pypod.storage.layers import zstd_module

    z = zstd_module()
    return {
        "plain": lambda raw: raw,
        "gzip": lambda raw: gzip.compress(raw),
        "gzip-members": lambda raw: gzip.compress(raw[:700]) + gzip.compress(raw[700:]) + b"\0" * 30,
        "zstd": z.compress,
        "zstd-frames": lambda raw: z.compress(raw[:1000]) + z.compress(raw[1000:]),
        "bzip2": bz2.compress,
        "xz": lzma.compress,
    }


@pytest.mark.parametrize("kind", list(_compressors()))
def test_unpack_stream_every_compression(tmp_path, kind):
    from pypod.storage.layers import unpack_stream

    raw = _layer({"a/b": os.urandom(5000), "c": b"hello" * 1000})
    blob = _compressors()[kind](raw)
    out = tmp_path / "blob"
    fd = os.open(out, os.O_WRONLY | os.O_CREAT, 0o600)
    seen = []
    try:
        got = unpack_stream(io.BytesIO(blob), fd, str(tmp_path / "diff"), len(blob), seen.append)
    finally:
        os.close(fd)
    assert got.blob == hashlib.sha256(blob).hexdigest() and got.blob_size == len(blob)
    assert got.diff_id == hashlib.sha256(raw).hexdigest()
    assert out.read_bytes() == blob and seen[-1] == len(blob)
    assert (tmp_path / "diff" / "c").read_bytes() == b"hello" * 1000 and got.size == 10000


def test_unpack_stream_refusals(tmp_path):
    from pypod.storage.layers import BlobTooLarge, CorruptLayer, unpack_stream

    raw = _layer({"x": os.urandom(3000)})
    blob = gzip.compress(raw)
    with pytest.raises(BlobTooLarge):
        unpack_stream(io.BytesIO(blob), None, str(tmp_path / "d1"), len(blob) - 1)
    bad = bytearray(blob)
    bad[len(bad) // 2] ^= 0xFF
    with pytest.raises(CorruptLayer) as e:
        unpack_stream(io.BytesIO(bytes(bad)), None, str(tmp_path / "d2"))
    assert e.value.blob == hashlib.sha256(bytes(bad)).hexdigest()  # read to the end: the caller names the blob
    with pytest.raises(CorruptLayer):
        unpack_stream(io.BytesIO(blob[: len(blob) // 2]), None, str(tmp_path / "d3"))
    with pytest.raises(CorruptLayer, match="trailing garbage"):
        unpack_stream(io.BytesIO(blob + b"junk"), None, str(tmp_path / "d4"))


def test_unpack_stream_output_is_bounded(tmp_path):
    """A layer that inflates a thousandfold is read a bounded piece at a time."""
    import tracemalloc

    from pypod.storage.layers import unpack_stream

    raw = _layer({"zeros": b"\0" * (64 << 20)})
    blob = gzip.compress(raw, 1)
    tracemalloc.start()
    unpack_stream(io.BytesIO(blob), None, str(tmp_path / "d"))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 16 << 20


# -- the progress display ---------------------------------------------------------------------


def _screen(text: str) -> list[str]:
    """What a terminal shows after `text`: the display's escapes (cursor
    up, carriage return, clear line) applied to a grid of lines."""
    import re

    lines, row, col = [""], 0, 0
    for tok in re.findall(r"\x1b\[\d*[AK]|\r|\n|[^\x1b\r\n]+", text):
        if tok == "\n":
            row, col = row + 1, 0
            if row == len(lines):
                lines.append("")
        elif tok == "\r":
            col = 0
        elif tok.endswith("A"):
            row -= int(tok[2:-1] or 1)
            assert row >= 0, "cursor moved above the display"
        elif tok.endswith("K"):
            lines[row] = lines[row][:col]
        else:
            lines[row] = lines[row][:col] + tok + lines[row][col + len(tok):]
            col += len(tok)
    return [ln for ln in lines if ln] if lines[-1] == "" else lines


def _pull_events(Event):
    a, b = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    cfg = "sha256:" + "c" * 64
    return [Event("trying", text="reg:5000/x:latest"), Event("signatures"),
            Event("blob", a, "exists", 10, 10),
            Event("blob", b, "start", 0, 3 << 20), Event("blob", b, "progress", 1 << 20, 3 << 20),
            Event("blob", b, "progress", 3 << 20, 3 << 20), Event("blob", b, "done", 3 << 20, 3 << 20),
            Event("config", cfg, "done", 854, 854), Event("manifest"), Event("storing")]


def test_progress_display_on_a_terminal():
    from pypod.registry.progress import ProgressDisplay
    from pypod.registry.pull import Event

    out = io.StringIO()
    show = ProgressDisplay(out, tty=True)
    events = _pull_events(Event)
    for ev in events[:5]:
        show(ev)
        show.last_draw = 0.0  # no throttling: every step drawn
    mid = _screen(out.getvalue())
    assert mid[:3] == ["Trying to pull reg:5000/x:latest...", "Getting image source signatures",
                       "Copying blob aaaaaaaaaaaa skipped: already exists"]
    assert mid[3].startswith("Copying blob bbbbbbbbbbbb [=========>") and mid[3].endswith("] 1.0MiB / 3.0MiB")
    for ev in events[5:]:
        show(ev)
    assert _screen(out.getvalue()) == [
        "Trying to pull reg:5000/x:latest...", "Getting image source signatures",
        "Copying blob aaaaaaaaaaaa skipped: already exists", "Copying blob bbbbbbbbbbbb done",
        "Copying config cccccccccc done", "Writing manifest to image destination", "Storing signatures"]


def test_progress_display_off_a_terminal():
    from pypod.registry.progress import ProgressDisplay
    from pypod.registry.pull import Event

    out = io.StringIO()
    show = ProgressDisplay(out, tty=False)
    for ev in _pull_events(Event):
        show(ev)
    assert out.getvalue().splitlines() == [
        "Trying to pull reg:5000/x:latest...", "Getting image source signatures",
        "Copying blob sha256:" + "a" * 64, "Copying blob sha256:" + "b" * 64,
        "Copying config sha256:" + "c" * 64, "Writing manifest to image destination", "Storing signatures"]
