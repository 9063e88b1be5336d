"""`pypod build` with real containers (conmon + runc), against buildah
building the same Containerfile: the two images' file trees and configs
agree.  Then the cache, bad input, and builds that fail or are killed."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import tarfile

import pytest

from tests.conftest import _mounts_under

pytestmark = pytest.mark.integration

CONTAINERFILE = r"""
# a comment
ARG BASE=busybox
FROM $BASE AS tools
RUN mkdir -p /out && echo built > /out/tool && chmod 750 /out/tool

FROM ${BASE}
ARG GREETING=hello
ARG UNSET
ENV APP=/app \
    MODE="two words"
LABEL org.example.name="demo app" version=1
WORKDIR $APP
COPY --chown=33:33 --chmod=640 files/*.txt ./
COPY files/dir /app/dir/
COPY --from=tools /out/tool /usr/local/bin/
ADD files/archive.tar.gz /opt/
SHELL ["/bin/sh", "-e", "-c"]
RUN echo "$GREETING from $MODE" > greeting && rm /etc/shadow && rm -r /var/spool && ln -s greeting link
RUN ["/bin/sh", "-c", "echo json > /app/json"]
USER 33:33
EXPOSE 8080 53/udp
VOLUME /data
SHELL ["/bin/sh", "-c"]
STOPSIGNAL SIGQUIT
ENTRYPOINT ["/bin/sh", "-c"]
CMD echo started
"""


def _context(base) -> str:
    ctx = os.path.join(base, "ctx")
    os.makedirs(os.path.join(ctx, "files", "dir", "sub"))
    for name, text in (("a.txt", "a\n"), ("b.txt", "b\n"), ("skip.txt", "no\n"), ("c.dat", "c\n")):
        with open(os.path.join(ctx, "files", name), "w") as f:
            f.write(text)
    with open(os.path.join(ctx, "files", "dir", "sub", "deep"), "w") as f:
        f.write("deep\n")
    os.symlink("sub/deep", os.path.join(ctx, "files", "dir", "link"))
    with tarfile.open(os.path.join(ctx, "files", "archive.tar.gz"), "w:gz") as tar:
        data = b"from the archive\n"
        info = tarfile.TarInfo("unpacked/file")
        info.size, info.mode = len(data), 0o604
        tar.addfile(info, io.BytesIO(data))
    with open(os.path.join(ctx, "Containerfile"), "w") as f:
        f.write(CONTAINERFILE)
    with open(os.path.join(ctx, ".containerignore"), "w") as f:
        f.write("files/skip.txt\n")
    return ctx


def _tree(root: str) -> dict[str, tuple]:
    """Path -> (kind, mode, uid, gid, content hash or link target); no times."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            if stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    what = hashlib.sha256(f.read()).hexdigest()
            elif stat.S_ISLNK(st.st_mode):
                what = os.readlink(p)
            else:
                what = ""
            out[rel] = (stat.S_IFMT(st.st_mode), oct(stat.S_IMODE(st.st_mode)), st.st_uid, st.st_gid, what)
    return out


class Buildah:
    def __init__(self, base: str):
        self.argv = ["buildah", "--root", os.path.join(base, "broot"), "--runroot", os.path.join(base, "brun"),
                     "--storage-driver", "vfs"]

    def __call__(self, *args: str) -> str:
        proc = subprocess.run([*self.argv, *args], capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip()


@pytest.fixture
def buildah(tmp_path):
    if not shutil.which("buildah"):
        pytest.skip("buildah is not installed (apt-get install buildah)")
    b = Buildah(str(tmp_path))
    yield b
    subprocess.run([*b.argv, "rm", "-a"], capture_output=True)
    subprocess.run([*b.argv, "rmi", "-a", "-f"], capture_output=True)


def _config(cfg: dict) -> dict:
    keep = ("Env", "Entrypoint", "Cmd", "WorkingDir", "User", "ExposedPorts", "Volumes", "StopSignal", "Labels")
    out = {k: cfg.get(k) or None for k in keep}
    if out["Labels"]:
        out["Labels"] = {k: v for k, v in out["Labels"].items() if k != "io.buildah.version"} or None
    return out


def test_build_matches_buildah_and_caches(pypod, buildah, tmp_path):
    ctx = _context(str(tmp_path))
    first = pypod("build", "-t", "demo", "--build-arg", "GREETING=hi there", ctx)
    out = first.stdout.decode()
    assert "[1/2] STEP 1/2: FROM $BASE AS tools" in out and "[2/2] COMMIT demo" in out, out
    assert "Successfully tagged localhost/demo:latest" in out
    iid = out.strip().splitlines()[-1]
    assert len(iid) == 64

    archive = os.path.join(str(tmp_path), "busybox.tar")
    pypod("save", "-o", archive, "busybox")
    buildah("pull", "-q", f"docker-archive:{archive}")
    buildah("bud", "--isolation", "chroot", "--layers", "-t", "demo", "--build-arg", "GREETING=hi there", ctx)

    b_ctr = buildah("from", "demo")
    b_root = buildah("mount", b_ctr)
    p_root = pypod.out("image", "mount", "demo")
    try:
        ours, theirs = _tree(p_root), _tree(b_root)
    finally:
        pypod("image", "unmount", "demo")
        buildah("umount", b_ctr)
    assert ours["app/greeting"] == theirs["app/greeting"]
    assert "etc/shadow" not in ours and "var/spool" not in ours  # whiteouts reached the image
    assert "app/skip.txt" not in ours  # the ignore file
    diff = {k: (ours.get(k), theirs.get(k)) for k in set(ours) | set(theirs) if ours.get(k) != theirs.get(k)}
    assert not diff, diff

    p_cfg = json.loads(pypod.out("image", "inspect", "demo"))[0]["Config"]
    b_cfg = json.loads(buildah("inspect", "--type", "image", "demo"))["OCIv1"]["config"]
    assert _config(p_cfg) == _config(b_cfg)

    # the same build again: every step from the cache, the same image
    again = pypod("build", "-t", "demo", "--build-arg", "GREETING=hi there", ctx).stdout.decode()
    assert again.count("--> Using cache") == 20 and again.strip().splitlines()[-1] == iid, again
    # a copied file's content changed: that COPY and what follows run again, what precedes does not
    with open(os.path.join(ctx, "files", "dir", "sub", "deep"), "w") as f:
        f.write("changed\n")
    third = pypod("build", "-t", "demo", "--build-arg", "GREETING=hi there", ctx).stdout.decode()
    assert third.count("--> Using cache") == 7, third
    assert pypod.out("run", "--rm", "--entrypoint", "cat", "demo", "/app/dir/sub/deep") == "changed"
    assert pypod.out("ps", "-a", "-q") == ""


HEREDOCS = """FROM busybox
ENV APP=/app
RUN <<EOF
mkdir -p /app
echo heredoc > /app/heredoc
id -u >> /app/heredoc
EOF
COPY <<-NOTE <<'RAW' /app/
\tnote for $APP
\tNOTE
raw $APP
RAW
RUN cat <<EOF > /app/shell
in $APP
EOF
HEALTHCHECK --interval=5s --retries=2 CMD true
"""


def test_heredocs(pypod, tmp_path):
    """buildah 1.28 has no heredocs: these are checked against what Docker's rules say."""
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Containerfile").write_text(HEREDOCS)
    pypod("build", "-q", "-t", "docs", str(ctx))
    out = pypod.out("run", "--rm", "docs", "sh", "-c", "cat /app/heredoc /app/NOTE /app/RAW /app/shell")
    assert out == "heredoc\n0\nnote for /app\nraw $APP\nin /app"
    health = json.loads(pypod.out("image", "inspect", "docs"))[0]["Config"]["Healthcheck"]
    assert health == {"Test": ["CMD-SHELL", "true"], "Interval": 5_000_000_000, "Retries": 2}


def _no_leftovers(pypod) -> None:
    assert pypod.out("ps", "-a", "-q") == ""
    assert not _mounts_under(pypod.root)
    storage = os.path.join(pypod.root, "storage", "overlay-containers")
    assert not [n for n in (os.listdir(storage) if os.path.isdir(storage) else []) if n.startswith("build-")]


@pytest.mark.parametrize("text, words", [
    ("FROM busybox\nRUN echo to-stdout; echo to-stderr >&2; exit 3\n",
     'building at STEP "RUN echo to-stdout; echo to-stderr >&2; exit 3": while running runtime: exit status 3'),
    ("FROM busybox\nFROOM x\n", "Containerfile:2: unknown instruction: FROOM"),
    ("FROM busybox\nCOPY ../outside /x\n", "forbidden path outside the build context: ../outside"),
    ("FROM busybox\nCOPY escape/passwd /x\n", "points outside the build context"),
    ("FROM busybox\nCOPY missing /x\n", "missing: no such file or directory"),
    ("FROM nosuchstage\n", "nosuchstage"),
])
def test_bad_builds_leave_nothing(pypod, tmp_path, text, words):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Containerfile").write_text(text)
    os.symlink("/etc", ctx / "escape")
    proc = pypod("build", "-t", "bad", "--pull=never", str(ctx), check=False)
    assert proc.returncode == 125, proc
    assert words in proc.stderr.decode(), proc.stderr
    if "exit 3" in text:
        assert b"to-stdout\nto-stderr\n" in proc.stdout or b"to-stderr\nto-stdout\n" in proc.stdout
    assert "localhost/bad:latest" not in pypod.out("images", "--format", "{{.Repository}}:{{.Tag}}")
    _no_leftovers(pypod)


@pytest.mark.parametrize("point", ["build.after-run", "build.after-copy", "build.after-commit"])
def test_killed_build_is_swept_by_the_next(pypod, tmp_path, point):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "f").write_text("f\n")
    (ctx / "Containerfile").write_text("FROM busybox\nCOPY f /f\nRUN echo x > /x\n")
    proc = pypod("build", "--layers=false", "-t", "killed", str(ctx), check=False,
                 env={**os.environ, "PYPOD_FAILPOINT": point})
    assert proc.returncode == -9, proc
    assert "localhost/killed:latest" not in pypod.out("images", "--format", "{{.Repository}}:{{.Tag}}")
    (ctx / "Containerfile").write_text("FROM busybox\nENV A=1\n")
    pypod("build", "-q", str(ctx))
    _no_leftovers(pypod)
    # the killed build's intermediate images went with it: busybox and the new one remain
    assert len(pypod.out("images", "-q", "-a").split()) == 2
