"""Pull, push, login, search against Debian's docker-registry, with skopeo
and podman as independent clients both ways."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile

import pytest

from .helpers import PASSWORD, USER

pytestmark = pytest.mark.integration


def test_pull_and_run(rp, registry):
    ref = f"{registry.host}/test/app"
    p = rp("pull", "--tls-verify=false", ref)
    iid = p.stdout.decode().strip()
    assert len(iid) == 64 and "\n" not in iid  # stdout: the ID only
    err = p.stderr.decode()
    assert f"Trying to pull {ref}:latest..." in err and "Getting image source signatures" in err
    assert err.count("Copying blob sha256:") == 4 and f"Copying config sha256:{iid}" in err
    assert "Writing manifest to image destination" in err
    # gzip, zstd and plain layers all unpacked
    out = rp.out("run", "--rm", ref, "sh", "-c", "cat /data/hello /data/plain; head -c 11 /data/zstd")
    assert out == "hello from the registry\nplain layer\nzstd layer"
    assert rp.out("run", "--rm", ref) == "hello from the registry"
    info = json.loads(rp.out("image", "inspect", ref))[0]
    assert info["RepoTags"] == [f"{ref}:latest"] and info["Config"]["Labels"]["org.pypod.test"] == "app"
    assert any(d.startswith(f"{ref}@sha256:") for d in info["RepoDigests"])
    assert rp("image", "exists", ref, check=False).returncode == 0
    assert rp("image", "exists", f"{registry.host}/test/other", check=False).returncode == 1
    # again: nothing fetched, same image; -q says only the ID
    p = rp("pull", "-q", "--tls-verify=false", ref)
    assert p.stdout.decode().strip() == iid and p.stderr == b""
    digest = info["Digest"]
    assert rp.out("pull", "-q", "--tls-verify=false", f"{ref}@{digest}") == iid
    assert rp("image", "exists", f"{ref}@{digest}", check=False).returncode == 0


def _images(rp) -> list[str]:
    return [i["Id"] for i in json.loads(rp.out("images", "--format", "json"))]


def _leftovers(rp) -> list[str]:
    tmp = os.path.join(rp.root, "storage", "tmp")
    return os.listdir(tmp) if os.path.isdir(tmp) else []


def test_pull_platforms(rp, registry):
    app = rp.out("pull", "-q", "--tls-verify=false", f"{registry.host}/test/app")
    # an index: this machine's image, the same as the single-platform one
    assert rp.out("pull", "-q", "--tls-verify=false", f"{registry.host}/test/multi") == app
    arm = rp.out("pull", "-q", "--tls-verify=false", "--platform", "linux/arm64", f"{registry.host}/test/multi")
    assert arm != app
    assert json.loads(rp.out("image", "inspect", arm))[0]["Architecture"] == "arm64"
    assert rp.out("pull", "-q", "--tls-verify=false", "--arch", "arm64", f"{registry.host}/test/multi") == arm
    before = sorted(_images(rp))
    p = rp("pull", "--tls-verify=false", f"{registry.host}/test/armonly", check=False)
    assert p.returncode == 125
    assert "no image found in manifest list for architecture amd64" in p.stderr.decode()
    p = rp("pull", "--tls-verify=false", "--platform", "linux/s390x", f"{registry.host}/test/multi", check=False)
    assert p.returncode == 125 and "architecture s390x" in p.stderr.decode()
    p = rp("pull", "--platform", "linux", f"{registry.host}/test/multi", check=False)
    assert p.returncode == 125 and "invalid platform" in p.stderr.decode()
    assert sorted(_images(rp)) == before


def test_pull_docker_manifest_list(rp, fresh_registry, test_layout):
    import hashlib

    ref = f"{fresh_registry.host}/dl/arm:1"
    p = fresh_registry.skopeo("copy", "--quiet", "--all", "--format", "v2s2", "--dest-tls-verify=false",
                              f"oci:{test_layout.dir}:armonly", f"docker://{ref}")
    raw = fresh_registry.skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{ref}").stdout
    assert json.loads(raw)["mediaType"] == "application/vnd.docker.distribution.manifest.list.v2+json", p.stderr
    p = rp("pull", "--tls-verify=false", "--retry", "0", ref, check=False)
    assert p.returncode == 125 and "no image found in manifest list for architecture amd64" in p.stderr.decode()
    iid = rp.out("pull", "-q", "--tls-verify=false", "--platform", "linux/arm64", ref)
    info = json.loads(rp.out("image", "inspect", iid))[0]
    assert info["Architecture"] == "arm64" and info["RepoTags"] == [ref]
    # pulled by the list's digest and by the image's own
    assert f"{fresh_registry.host}/dl/arm@sha256:{hashlib.sha256(raw).hexdigest()}" in info["RepoDigests"]
    assert len(info["RepoDigests"]) == 2


def test_pull_bad_input_stores_nothing(rp, registry, tmp_path):
    import socket

    cases = [
        (f"{registry.host}/test/nope", "reading manifest latest in " + f"{registry.host}/test/nope: manifest unknown"),
        (f"{registry.host}/test/app:notatag", "reading manifest notatag in"),
        ("127.0.0.1:1/x", "connection refused"),
        ("127.0.0.1:1/UPPER", "invalid reference format: repository name must be lowercase"),
        ("UPPER", "invalid reference format: repository name must be lowercase"),
        ("a b", "invalid reference format"),
        ("127.0.0.1:5000/x@sha256:12", "invalid reference format"),
    ]
    for ref, words in cases:
        p = rp("pull", "--tls-verify=false", "--retry", "0", ref, check=False)
        assert p.returncode == 125, ref
        assert words in p.stderr.decode(), (ref, p.stderr)
        assert p.stdout == b""
    # a plain-HTTP registry without --tls-verify=false
    p = rp("pull", f"{registry.host}/test/app", check=False)
    assert p.returncode == 125 and "server gave HTTP response to HTTPS client" in p.stderr.decode()
    # a server that accepts and never answers: the timeout ends it
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    toml = tmp_path / "pypod.toml"
    toml.write_text(toml.read_text().replace("timeout = 10.0", "timeout = 1.0"))
    p = rp("pull", "--tls-verify=false", "--retry", "0", f"127.0.0.1:{silent.getsockname()[1]}/x", check=False, timeout=60)
    silent.close()
    assert p.returncode == 125 and "timeout" in p.stderr.decode()
    assert _images(rp) == [] and _leftovers(rp) == []


def test_pull_follows_blob_redirects(rp, registry):
    from .helpers import RedirectingFront

    front = RedirectingFront(registry.host)
    try:
        iid = rp.out("pull", "-q", "--tls-verify=false", f"{front.host}/test/app")
        assert front.redirects == 5  # the config and four layers, each fetched from where it was sent
        assert rp.out("run", "--rm", iid) == "hello from the registry"
    finally:
        front.stop()


def test_corrupt_blob_is_refused(rp, fresh_registry, test_layout):
    from .helpers import push_layout

    push_layout(fresh_registry, test_layout, "app", "bad/app:1")
    manifest = json.loads(fresh_registry.skopeo("inspect", "--raw", "--tls-verify=false",
                                                f"docker://{fresh_registry.host}/bad/app:1").stdout)
    layer = manifest["layers"][1]["digest"]
    hexd = layer[7:]
    path = os.path.join(fresh_registry.dir, "data", "docker", "registry", "v2", "blobs", "sha256", hexd[:2], hexd, "data")
    data = bytearray(open(path, "rb").read())
    data[-20] ^= 0xFF
    open(path, "wb").write(bytes(data))
    p = rp("pull", "--tls-verify=false", "--retry", "0", f"{fresh_registry.host}/bad/app:1", check=False)
    assert p.returncode == 125
    assert layer in p.stderr.decode() and ("digest" in p.stderr.decode() or "corrupt" in p.stderr.decode())
    assert _images(rp) == [] and _leftovers(rp) == []
    layers = os.listdir(os.path.join(rp.root, "storage", "layers"))
    # the good layers may stay (shared by diff ID, no image uses them yet); the bad one never lands
    assert len(layers) <= 3


def test_push_roundtrip_with_skopeo_and_podman(rp, registry, fresh_registry, tmp_path):
    src = f"{registry.host}/test/app"
    iid = rp.out("pull", "-q", "--tls-verify=false", src)
    dest = f"{fresh_registry.host}/mine/app:v1"
    p = rp("push", "--tls-verify=false", "--digestfile", str(tmp_path / "digest"), src, dest)
    err = p.stderr.decode()
    assert "Getting image source signatures" in err and "Writing manifest to image destination" in err
    digest = (tmp_path / "digest").read_text()
    raw = fresh_registry.skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{dest}").stdout
    import hashlib

    assert "sha256:" + hashlib.sha256(raw).hexdigest() == digest
    # pulled blobs go unchanged: the manifest is the one pulled
    assert digest == json.loads(rp.out("image", "inspect", src))[0]["Digest"]
    # again, named in that registry, to another repository there: every blob mounted
    rp("tag", src, dest)
    p = rp("push", "--tls-verify=false", dest, f"{fresh_registry.host}/other/app:v2")
    assert p.stderr.decode().count("Copying blob sha256:") == 4
    assert json.loads(fresh_registry.skopeo("inspect", "--raw", "--tls-verify=false",
                                            f"docker://{fresh_registry.host}/other/app:v2").stdout) == json.loads(raw)
    # skopeo copies it back and it is the same image
    fresh_registry.skopeo("copy", "--quiet", "--src-tls-verify=false", f"docker://{dest}", f"oci:{tmp_path}/copied:x")
    # podman pulls and runs it, in its own root
    if shutil.which("podman"):
        short = tempfile.mkdtemp(prefix="pp", dir="/tmp")  # podman wants a runroot under 50 characters
        podman = ["podman", "--root", f"{short}/r", "--runroot", f"{short}/rr", "--tmpdir", f"{short}/t",
                  "--cgroup-manager", "cgroupfs", "--events-backend", "file", "--runtime", "runc", "--log-level=error"]
        pulled = subprocess.run([*podman, "pull", "-q", "--tls-verify=false", dest], capture_output=True, timeout=120)
        assert pulled.returncode == 0, pulled.stderr.decode()
        out = subprocess.run([*podman, "run", "--rm", "--net=none", "--ulimit", "nofile=1024:1024",
                              "--ulimit", "nproc=1024:1024", dest], capture_output=True, timeout=120)
        assert out.stdout.decode().strip() == "hello from the registry", out.stderr.decode()
        subprocess.run([*podman, "rmi", "-a", "-f"], capture_output=True, timeout=120)
        subprocess.run(["umount", "-R", "-l", f"{short}/r/overlay"], capture_output=True)
        shutil.rmtree(short, ignore_errors=True)
    # pypod pulls it back into an empty root: same image id
    other = rp.__class__(str(tmp_path / "second"))
    other.argv += rp.argv[len(other.argv):]
    try:
        assert other.out("pull", "-q", "--tls-verify=false", dest) == iid
    finally:
        other.teardown()


def test_push_local_image_formats_and_compression(rp, fresh_registry, tmp_path):
    # uploads in chunks of 64 KiB: several PATCHes with Content-Range per blob
    toml = tmp_path / "pypod.toml"
    toml.write_text(toml.read_text() + "upload_chunk_size = 65536\n")
    # the embedded busybox has a plain layer: it goes up gzip-compressed
    rp.out("image", "inspect", "busybox")
    dest = f"{fresh_registry.host}/bb/busybox"
    rp("push", "--tls-verify=false", "busybox", f"{dest}:gz")
    m = json.loads(rp.out("manifest", "inspect", "--tls-verify=false", f"{dest}:gz"))
    assert m["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert m["layers"][0]["mediaType"].endswith("tar+gzip")
    rp("push", "--tls-verify=false", "--compression-format", "zstd", "busybox", f"{dest}:zst")
    m = json.loads(rp.out("manifest", "inspect", "--tls-verify=false", f"{dest}:zst"))
    assert m["layers"][0]["mediaType"].endswith("tar+zstd")
    rp("push", "--tls-verify=false", "--format", "v2s2", "busybox", f"{dest}:v2")
    m = json.loads(rp.out("manifest", "inspect", "--tls-verify=false", f"{dest}:v2"))
    assert m["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    p = rp("push", "--tls-verify=false", "--format", "v2s2", "--compression-format", "zstd", "busybox", f"{dest}:no",
           check=False)
    assert p.returncode == 125 and "zstd" in p.stderr.decode()
    # each pulls back and runs, in a root of its own
    for tag in ("gz", "zst", "v2"):
        other = rp.__class__(str(tmp_path / f"back-{tag}"))
        other.argv += rp.argv[len(other.argv):]
        try:
            assert other.out("run", "--rm", "--pull", "missing", "--tls-verify=false", f"{dest}:{tag}",
                             "echo", "ok") == "ok"
        finally:
            other.teardown()
    p = rp("push", "--tls-verify=false", "nosuchimage", f"{dest}:x", check=False)
    assert p.returncode == 125 and "image not known" in p.stderr.decode()
    for flags in (["--sign-by", "me@example.com"], ["--sign-by-sigstore-private-key", str(tmp_path / "k")]):
        p = rp("push", "--tls-verify=false", *flags, "busybox", f"{dest}:signed", check=False)
        assert p.returncode == 125 and "signing images is not supported" in p.stderr.decode()
    p = rp("manifest", "inspect", "--tls-verify=false", f"{dest}:signed", check=False)
    assert p.returncode == 125 and "manifest unknown" in p.stderr.decode()  # nothing went up


# -- credentials -----------------------------------------------------------------------------------


def test_login_basic_auth(rp, basic_registry):
    host = basic_registry.host
    ref = f"{host}/sec/app:1"
    p = rp("pull", "--tls-verify=false", "--retry", "0", ref, check=False)
    assert p.returncode == 125 and "unauthorized" in p.stderr.decode()
    p = rp("login", "--tls-verify=false", "-u", USER, "--password-stdin", host, input=b"wrong\n", check=False)
    assert p.returncode == 125 and "invalid username/password" in p.stderr.decode()
    assert not (rp.tmp / "auth.json").exists()
    # --creds works without a login
    iid = rp.out("pull", "-q", "--tls-verify=false", "--creds", f"{USER}:{PASSWORD}", ref)
    rp("rmi", iid)
    p = rp("login", "--tls-verify=false", "-u", USER, "--password-stdin", host, input=f"{PASSWORD}\n".encode())
    assert p.stdout.decode().strip() == "Login Succeeded!"
    doc = json.loads((rp.tmp / "auth.json").read_text())
    import base64

    assert base64.b64decode(doc["auths"][host]["auth"]).decode() == f"{USER}:{PASSWORD}"
    assert oct(os.stat(rp.tmp / "auth.json").st_mode & 0o777) == "0o600"
    assert rp.out("login", "--get-login", host) == USER
    assert rp.out("pull", "-q", "--tls-verify=false", ref) == iid
    # push with the stored login, then logout
    rp("push", "--tls-verify=false", ref, f"{host}/sec/copy:2")
    assert basic_registry.skopeo("inspect", "--raw", "--tls-verify=false", f"--creds={USER}:{PASSWORD}",
                                 f"docker://{host}/sec/copy:2").returncode == 0
    assert rp.out("logout", host) == f"Removed login credentials for {host}"
    p = rp("logout", host, check=False)
    assert p.returncode == 125 and f"not logged into {host}" in p.stderr.decode()
    p = rp("login", "--get-login", host, check=False)
    assert p.returncode == 125 and "not logged into" in p.stderr.decode()
    rp("rmi", iid)
    p = rp("pull", "--tls-verify=false", "--retry", "0", ref, check=False)
    assert p.returncode == 125 and "unauthorized" in p.stderr.decode()
    rp("login", "--tls-verify=false", "-u", USER, "-p", PASSWORD, host)
    assert rp.out("logout", "--all") == "Removed login credentials for all registries"
    # a named auth file: made by a login, required by everything else (podman's words)
    other = rp.tmp / "other-auth.json"
    for cmd in (["pull", "--tls-verify=false", ref], ["push", "--tls-verify=false", "busybox", f"{host}/sec/x:1"],
                ["search", "--tls-verify=false", f"{host}/sec"], ["logout", host]):
        p = rp(cmd[0], "--authfile", str(other), *cmd[1:], check=False)
        assert p.returncode == 125 and f"stat {other}: no such file or directory" in p.stderr.decode(), cmd
    rp("login", "--tls-verify=false", "--authfile", str(other), "-u", USER, "-p", PASSWORD, host)
    assert USER in base64.b64decode(json.loads(other.read_text())["auths"][host]["auth"]).decode()
    assert len(rp.out("pull", "-q", "--tls-verify=false", "--authfile", str(other), ref)) == 64
    assert json.loads((rp.tmp / "auth.json").read_text())["auths"] == {}


def test_credential_helper(rp, basic_registry, tmp_path):
    host = basic_registry.host
    store = tmp_path / "helper-store.json"
    bindir = tmp_path / "bin"
    bindir.mkdir()
    helper = bindir / "docker-credential-pypodtest"
    helper.write_text(f"""#!/usr/bin/env python3
import json, sys
path = {str(store)!r}
try:
    db = json.load(open(path))
except OSError:
    db = {{}}
action = sys.argv[1]
data = sys.stdin.read()
if action == "store":
    d = json.loads(data)
    db[d["ServerURL"]] = [d["Username"], d["Secret"]]
    json.dump(db, open(path, "w"))
elif action == "get":
    if data.strip() not in db:
        print("credentials not found in native keychain")
        sys.exit(1)
    u, s = db[data.strip()]
    print(json.dumps({{"ServerURL": data.strip(), "Username": u, "Secret": s}}))
elif action == "erase":
    if db.pop(data.strip(), None) is None:
        print("credentials not found in native keychain")
        sys.exit(1)
    json.dump(db, open(path, "w"))
""")
    helper.chmod(0o755)
    (rp.tmp / "auth.json").write_text(json.dumps({"auths": {}, "credHelpers": {host: "pypodtest"}}))
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}"}
    rp("login", "--tls-verify=false", "-u", USER, "--password-stdin", host, input=PASSWORD.encode(), env=env)
    assert json.loads(store.read_text()) == {host: [USER, PASSWORD]}
    assert json.loads((rp.tmp / "auth.json").read_text())["auths"] == {}  # the secret is the helper's
    assert len(rp.out("pull", "-q", "--tls-verify=false", f"{host}/sec/app:1", env=env)) == 64
    assert rp.out("logout", host, env=env) == f"Removed login credentials for {host}"
    assert json.loads(store.read_text()) == {}
    # credsStore: the helper for every registry without one of its own
    (rp.tmp / "auth.json").write_text(json.dumps({"auths": {}, "credsStore": "pypodtest"}))
    rp("login", "--tls-verify=false", "-u", USER, "--password-stdin", host, input=PASSWORD.encode(), env=env)
    assert json.loads(store.read_text()) == {host: [USER, PASSWORD]}
    assert rp.out("login", "--get-login", host, env=env) == USER
    assert len(rp.out("pull", "-q", "--tls-verify=false", f"{host}/sec/app:1", env=env)) == 64
    rp("logout", host, env=env)
    assert json.loads(store.read_text()) == {}
    p = rp("pull", "--tls-verify=false", "--retry", "0", f"{host}/sec/missing:1", env=env, check=False)
    assert p.returncode == 125 and "unauthorized" in p.stderr.decode()


def test_token_auth(rp, tmp_path, test_layout):
    from .helpers import Registry, TokenServer

    tokens = TokenServer(str(tmp_path / "tokens"))
    reg = Registry(str(tmp_path / "token-registry"), token=tokens)
    try:
        p = reg.skopeo("copy", "--quiet", "--dest-tls-verify=false", f"--dest-creds={USER}:{PASSWORD}",
                       f"oci:{test_layout.dir}:app", f"docker://{reg.host}/tok/app:1", check=False)
        assert p.returncode == 0, p.stderr.decode()
        # anonymous: a pull token
        ref = f"{reg.host}/tok/app:1"
        assert len(rp.out("pull", "-q", "--tls-verify=false", ref)) == 64
        anon = [r for r in tokens.requests if r["user"] == ""]
        assert anon and anon[-1]["scope"] == "repository:tok/app:pull" and anon[-1]["service"] == "pypod-test-registry"
        # an anonymous push is refused
        p = rp("push", "--tls-verify=false", "--retry", "0", ref, f"{reg.host}/tok/copy:1", check=False)
        assert p.returncode == 125 and ("unauthorized" in p.stderr.decode() or "denied" in p.stderr.decode())
        # a wrong password fails the login; the right one pushes
        p = rp("login", "--tls-verify=false", "-u", USER, "-p", "nope", reg.host, check=False)
        assert p.returncode == 125 and "invalid username/password" in p.stderr.decode()
        rp("login", "--tls-verify=false", "-u", USER, "-p", PASSWORD, reg.host)
        rp("push", "--tls-verify=false", ref, f"{reg.host}/tok/copy:1")
        assert any(r["user"] == USER and "push" in r.get("scope", "") for r in tokens.requests)
        out = rp.out("search", "--tls-verify=false", f"{reg.host}/tok")
        assert f"{reg.host}/tok/app" in out and f"{reg.host}/tok/copy" in out
    finally:
        reg.stop()
        tokens.stop()


def test_tls_registry(rp, tmp_path, test_layout):
    from .helpers import Registry, push_layout

    reg = Registry(str(tmp_path / "tls-registry"), tls=True)
    try:
        push_layout(reg, test_layout, "app", "tls/app:1")
        ref = f"{reg.host}/tls/app:1"
        p = rp("pull", "--retry", "0", ref, check=False)
        assert p.returncode == 125 and "x509: certificate signed by unknown authority" in p.stderr.decode()
        # --tls-verify=false: no verification (HTTPS still, the registry speaks nothing else)
        iid = rp.out("pull", "-q", "--tls-verify=false", ref)
        rp("rmi", iid)
        # --cert-dir with the CA, then the configured certs.d
        assert rp.out("pull", "-q", "--cert-dir", os.path.join(reg.certs_dir, reg.host), ref) == iid
        rp("rmi", iid)
        shutil.copytree(reg.certs_dir, rp.tmp / "certs.d")
        assert rp.out("pull", "-q", ref) == iid
        rp("push", iid, f"{reg.host}/tls/copy:1")
    finally:
        reg.stop()


def test_tls_client_certificate(rp, tmp_path, test_layout):
    from .helpers import Registry, push_layout

    reg = Registry(str(tmp_path / "mtls-registry"), tls=True, client_certs=True)
    try:
        host_dir = os.path.join(reg.certs_dir, reg.host)
        shutil.copy(reg.client_cert, os.path.join(host_dir, "client.cert"))
        shutil.copy(reg.client_key, os.path.join(host_dir, "client.key"))
        push_layout(reg, test_layout, "app", "mtls/app:1")  # skopeo reads the pair from the same directory
        ref = f"{reg.host}/mtls/app:1"
        certs = rp.tmp / "certs.d" / reg.host
        certs.mkdir(parents=True)
        shutil.copy(os.path.join(host_dir, "ca.crt"), certs / "ca.crt")
        p = rp("pull", "--retry", "0", ref, check=False)  # the CA alone: the registry wants a certificate
        assert p.returncode == 125 and "certificate" in p.stderr.decode(), p.stderr.decode()
        shutil.copy(reg.client_cert, certs / "client.cert")
        p = rp("pull", "--retry", "0", ref, check=False)
        assert p.returncode == 125 and "missing key client.key for client certificate" in p.stderr.decode()
        shutil.copy(reg.client_key, certs / "client.key")
        iid = rp.out("pull", "-q", ref)
        assert rp.out("run", "--rm", iid) == "hello from the registry"
        rp("push", iid, f"{reg.host}/mtls/copy:1")
        assert reg.skopeo("inspect", "--raw", f"--cert-dir={host_dir}", f"docker://{reg.host}/mtls/copy:1").returncode == 0
    finally:
        reg.stop()


# -- names, search, policies ------------------------------------------------------------------------


def test_short_names_and_registries_conf(rp, registry):
    host = registry.host
    rp.conf.write_text("")
    p = rp("pull", "test/app", check=False)
    assert p.returncode == 125
    assert f'short-name "test/app" did not resolve to an alias and no unqualified-search registries are defined in "{rp.conf}"' \
        in p.stderr.decode()
    rp.conf.write_text(f'unqualified-search-registries = ["{host}"]\n[[registry]]\nlocation = "{host}"\ninsecure = true\n')
    iid = rp.out("pull", "-q", "test/app")
    assert f"{host}/test/app:latest" in json.loads(rp.out("image", "inspect", iid))[0]["RepoTags"]
    # two registries, enforcing, no terminal: podman's error, never a guess
    rp.conf.write_text(f'unqualified-search-registries = ["{host}", "127.0.0.1:1"]\nshort-name-mode = "enforcing"\n'
                       f'[[registry]]\nlocation = "{host}"\ninsecure = true\n')
    p = rp("pull", "test/app", check=False)
    assert p.returncode == 125 and "short-name resolution enforced but cannot prompt without a TTY" in p.stderr.decode()
    # permissive: each in turn, said out loud
    rp.conf.write_text(f'unqualified-search-registries = ["127.0.0.1:1", "{host}"]\nshort-name-mode = "permissive"\n'
                       f'[[registry]]\nlocation = "{host}"\ninsecure = true\n'
                       '[[registry]]\nlocation = "127.0.0.1:1"\ninsecure = true\n')
    p = rp("pull", "--retry", "0", "test/app")
    assert p.stdout.decode().strip() == iid
    assert "Trying to pull 127.0.0.1:1/test/app:latest..." in p.stderr.decode()
    assert f"Trying to pull {host}/test/app:latest..." in p.stderr.decode()
    # an alias
    rp.conf.write_text(f'[aliases]\n"myapp" = "{host}/test/app"\n[[registry]]\nlocation = "{host}"\ninsecure = true\n')
    p = rp("pull", "myapp")
    assert p.stdout.decode().strip() == iid and 'Resolved "myapp" as an alias' in p.stderr.decode()
    # blocked
    rp.conf.write_text(f'[[registry]]\nlocation = "{host}"\nblocked = true\n')
    p = rp("pull", f"{host}/test/app", check=False)
    assert p.returncode == 125 and f"registry {host} is blocked" in p.stderr.decode()
    # a mirror serves what its unreachable registry would
    rp.conf.write_text(f'[[registry]]\nprefix = "127.0.0.1:1/team"\nlocation = "127.0.0.1:1/team"\n'
                       f'[[registry.mirror]]\nlocation = "{host}/test"\ninsecure = true\n')
    assert rp.out("pull", "-q", "--retry", "0", "127.0.0.1:1/team/app") == iid
    rp.conf.write_text("this is = not [toml")
    p = rp("pull", "test/app", check=False)
    assert p.returncode == 125 and "loading registries configuration" in p.stderr.decode()


def test_search(rp, registry):
    host = registry.host
    out = rp.out("search", "--tls-verify=false", f"{host}/app")
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "DESCRIPTION"] and f"{host}/test/app" in out and "test/multi" not in out
    rows = json.loads(rp.out("search", "--tls-verify=false", "--format", "json", f"{host}/test"))
    assert {r["Name"] for r in rows} >= {f"{host}/test/app", f"{host}/test/multi", f"{host}/test/armonly"}
    assert len(json.loads(rp.out("search", "--tls-verify=false", "--format", "json", "--limit", "1", f"{host}/test"))) == 1
    out = rp.out("search", "--tls-verify=false", "--list-tags", f"{host}/test/app")
    assert out.splitlines()[1].split() == [f"{host}/test/app", "latest"]
    p = rp("search", "--tls-verify=false", "--list-tags", f"{host}/test/app:latest", check=False)
    assert p.returncode == 125


def test_run_pull_policies(rp, registry, fresh_registry, test_layout):
    from .helpers import push_layout

    ref = f"{fresh_registry.host}/pol/app:1"
    p = rp("run", "--rm", "--pull", "never", ref, check=False)
    assert p.returncode == 125 and "image not known" in p.stderr.decode()
    push_layout(fresh_registry, test_layout, "app", "pol/app:1")
    p = rp("run", "--rm", "--tls-verify=false", ref)  # missing: pulled, with podman's lines on stderr
    assert p.stdout.decode() == "hello from the registry\n" and f"Trying to pull {ref}..." in p.stderr.decode()
    p = rp("run", "--rm", "--tls-verify=false", ref)
    assert "Trying" not in p.stderr.decode()
    p = rp("create", "-q", "--pull", "always", "--tls-verify=false", ref)
    assert p.stderr == b"" and len(p.stdout.decode().strip()) == 64
    p = rp("run", "--rm", "--pull", "newer", "--tls-verify=false", ref)
    assert "Trying" not in p.stderr.decode()
    # a new image under the tag: "newer" pulls it
    rp("push", "--tls-verify=false", "busybox", ref)
    p = rp("run", "--rm", "--pull", "newer", "--tls-verify=false", ref, "echo", "new")
    assert p.stdout.decode() == "new\n" and "Trying to pull" in p.stderr.decode()
    # "newer" with the registry gone: the local image
    assert rp.out("run", "--rm", "--pull", "newer", "--tls-verify=false", f"{registry.host}/test/app") == \
        "hello from the registry"


def test_pull_retries_failed_downloads(rp, registry):
    from .helpers import FlakyFront

    ref_path = "test/app"
    # 503 twice for every blob: the requests are retried (--retry 2), with the delay asked for
    front = FlakyFront(registry.host, failures=2, mode="503")
    try:
        iid = rp.out("pull", "-q", "--tls-verify=false", "--retry", "2", "--retry-delay", "50ms", f"{front.host}/{ref_path}")
        assert len(front.attempts) == 5 and set(front.attempts.values()) == {3}  # config and 4 layers
    finally:
        front.stop()
    rp("rmi", iid)
    # one retry is not enough: the registry's words, nothing stored, nothing left behind
    front = FlakyFront(registry.host, failures=2, mode="503")
    try:
        p = rp("pull", "--tls-verify=false", "--retry", "1", "--retry-delay", "10ms", f"{front.host}/{ref_path}", check=False)
        assert p.returncode == 125 and "try again later" in p.stderr.decode(), p.stderr.decode()
    finally:
        front.stop()
    assert _images(rp) == [] and _leftovers(rp) == []
    # a download cut halfway: the whole blob is fetched again, and what was half unpacked goes
    front = FlakyFront(registry.host, failures=1, mode="cut")
    try:
        assert rp.out("pull", "-q", "--tls-verify=false", "--retry-delay", "10ms", f"{front.host}/{ref_path}") == iid
        assert set(front.attempts.values()) == {2}
    finally:
        front.stop()
    assert _leftovers(rp) == []
    assert rp.out("run", "--rm", iid) == "hello from the registry"
    p = rp("pull", "--tls-verify=false", "--retry", "-1", f"{registry.host}/{ref_path}", check=False)
    assert p.returncode == 125


def test_push_retries_refused_uploads(rp, fresh_registry):
    from .helpers import FlakyFront

    # each blob's commit refused once: the upload starts over and the push succeeds
    front = FlakyFront(fresh_registry.host, failures=1, mode="503")
    try:
        dest = f"{front.host}/flaky/bb:1"
        rp("push", "--tls-verify=false", "--retry-delay", "10ms", "busybox", dest)
        assert front.attempts and set(front.attempts.values()) == {2}  # the layer and the config
        assert fresh_registry.skopeo("inspect", "--raw", "--tls-verify=false",
                                     f"docker://{fresh_registry.host}/flaky/bb:1").returncode == 0
    finally:
        front.stop()
    front = FlakyFront(fresh_registry.host, failures=1, mode="503")
    try:
        p = rp("push", "--tls-verify=false", "--retry", "0", "busybox", f"{front.host}/flaky/again:2", check=False)
        assert p.returncode == 125 and "try again later" in p.stderr.decode()
        assert fresh_registry.skopeo("inspect", "--raw", "--tls-verify=false",
                                     f"docker://{fresh_registry.host}/flaky/again:2", check=False).returncode != 0
    finally:
        front.stop()


def test_pull_progress_on_a_terminal(rp, registry):
    """stderr a terminal: live bars redrawn in place, each ending "done"."""
    import pty
    import select

    from tests.unit.test_registry_pure import _screen

    master, slave = pty.openpty()
    proc = subprocess.Popen([*rp.argv, "pull", "--tls-verify=false", f"{registry.host}/test/app"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    raw = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        assert ready, "no output for 60 s"
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the pulling process closed its side
            break
        if not data:
            break
        raw += data
    os.close(master)
    iid = proc.stdout.read().decode().strip()
    assert proc.wait(60) == 0 and len(iid) == 64
    screen = [ln.rstrip() for ln in _screen(raw.decode().replace("\r\n", "\n"))]
    blobs = [ln for ln in screen if ln.startswith("Copying blob ")]
    assert len(blobs) == 4 and all(ln.endswith(" done") and len(ln.split()[2]) == 12 for ln in blobs), screen
    assert screen[-3:] == [f"Copying config {iid[:10]} done", "Writing manifest to image destination", "Storing signatures"]
    assert "\x1b[" in raw.decode()  # drawn in place, not line after line
