"""Rootless pypod, run for real by an unprivileged user (tests/rootless/user.py):
the user namespace its pause process holds, storage and run root of the
user's own, images unpacked through the subordinate range, native overlay,
the container commands, bind-mount ownership, and one clear line for what
the user may not do."""

from __future__ import annotations

import io
import json
import os
import tarfile

from ..conftest import wait_for
from .user import RootlessUser


def _pause_pid(user) -> int:
    with open(os.path.join(user.runtime_dir, "pypod", "pause.pid")) as f:
        return int(f.read())


def test_user_namespace_paths_and_info(rl):
    info = json.loads(rl.out("info", "--format", "json"))
    host, store = info["host"], info["store"]
    assert host["security"]["rootless"] is True
    assert store["graphRoot"] == os.path.join(rl.home, ".local", "share", "pypod")
    assert store["runRoot"] == os.path.join(rl.runtime_dir, "pypod")
    assert store["graphDriverName"] == "overlay"
    start, count = rl.subuid
    assert host["idMappings"]["uidmap"] == [{"container_id": 0, "host_id": rl.uid, "size": 1},
                                            {"container_id": 1, "host_id": start, "size": count}]
    assert host["cgroupManager"] == "disabled"
    # one pause process holds the namespace: catatonit -P, the user's, mapped as info says
    pid = _pause_pid(rl)
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[:2] == [b"catatonit", b"-P"]
    assert os.stat(f"/proc/{pid}").st_uid == rl.uid
    with open(f"/proc/{pid}/uid_map") as f:
        assert f.read().split() == ["0", str(rl.uid), "1", "1", str(start), str(count)]
    assert oct(os.stat(os.path.join(rl.runtime_dir, "pypod")).st_mode & 0o777) == "0o700"
    # later commands join it: unshare shows the same namespace, as uid 0
    out = rl.out("unshare", "sh", "-c", "id -u; readlink /proc/self/ns/user")
    assert out.split() == ["0", os.readlink(f"/proc/{pid}/ns/user")]
    assert _pause_pid(rl) == pid


def test_container_commands_as_user(rl):
    out = rl.out("run", "--rm", "--network", "none", "busybox", "sh", "-c",
                 "id -u; cat /proc/self/uid_map; echo err >&2")
    lines = out.splitlines()
    assert lines[0] == "0"
    assert lines[1].split() == ["0", str(rl.uid), "1"]  # the container shares the user's namespace
    rl.pypod("run", "-d", "--name", "rl-top", "--network", "none", "busybox",
             "sh", "-c", "echo started; exec sleep 1000")
    assert rl.out("exec", "rl-top", "sh", "-c", "echo in-exec; id -u") == "in-exec\n0"
    assert rl.pypod("exec", "rl-top", "sh", "-c", "exit 7", check=False).returncode == 7
    assert rl.out("logs", "rl-top") == "started"
    # the pause process gone, the next command makes a new one inside the running container's namespace
    old_pause = _pause_pid(rl)
    userns = os.readlink(f"/proc/{old_pause}/ns/user")
    os.kill(old_pause, 9)
    assert wait_for(lambda: not os.path.exists(f"/proc/{old_pause}/ns"))
    assert rl.out("exec", "rl-top", "echo", "still-here") == "still-here"
    assert _pause_pid(rl) != old_pause and os.readlink(f"/proc/{_pause_pid(rl)}/ns/user") == userns
    rl.pypod("run", "-d", "-i", "--name", "rl-att", "--network", "none", "busybox",
             "sh", "-c", "read line; echo got $line")
    attach = rl.pypod("attach", "rl-att", input=b"hello\n", timeout=30)
    assert attach.stdout == b"got hello\n"
    assert rl.out("wait", "rl-att") == "0"
    rl.pypod("rm", "rl-att")
    assert rl.out("ps", "--format", "{{.Names}}") == "rl-top"
    # cgroup v1: a rootless container has no cgroup, and podman's errors say what that rules out
    for args, message in ((("pause", "rl-top"), "can not pause containers on rootless containers with cgroup V1: "
                                                "this container does not have a cgroup"),
                          (("unpause", "rl-top"), "unpause is not supported for cgroupv1 rootless containers"),
                          (("stats", "--no-stream", "rl-top"), "stats is not supported in rootless mode without cgroups v2")):
        p = rl.pypod(*args, check=False)
        assert (p.returncode, p.stderr.decode()) == (125, f"Error: {message}\n")
    rl.pypod("stop", "-t", "0", "rl-top")
    assert rl.out("inspect", "--format", "{{.State.Status}}", "rl-top") == "exited"
    rl.pypod("rm", "rl-top")
    assert rl.out("ps", "-a", "-q") == ""
    # nothing of the containers is left running: only the pause process is the user's
    # (once conmon's exit commands, which run on their own, are done)
    assert wait_for(lambda: rl.processes() == [_pause_pid(rl)]), rl.processes()


def _owned_tar(user, name: str, entries) -> str:
    """A layer tar (readable by the user) of small files with the given owners."""
    path = os.path.join(user.base, name)
    with tarfile.open(path, mode="w") as t:
        for member, uid in entries:
            info = tarfile.TarInfo(member)
            info.size, info.uid, info.gid, info.mode = 2, uid, uid, 0o644
            t.addfile(info, io.BytesIO(b"x\n"))
    os.chmod(path, 0o644)
    return path


def test_volume_and_image_ownership_map_through_the_range(rl):
    start, _count = rl.subuid
    data = os.path.join(rl.home, "data")
    rl.run(["mkdir", "-p", data], check=True)
    rl.pypod("run", "--rm", "--network", "none", "-v", f"{data}:/data", "busybox", "sh", "-c",
             "echo x > /data/by-root && echo y > /data/by-1000 && chown 1000:1000 /data/by-1000")
    assert os.stat(os.path.join(data, "by-root")).st_uid == rl.uid
    st = os.stat(os.path.join(data, "by-1000"))
    assert (st.st_uid, st.st_gid) == (start + 999, start + 999)
    # an image file owned by 1000 lands on disk as the range's 1000, and shows as 1000 inside
    tar_path = _owned_tar(rl, "owned.tar", (("owned-by-1000", 1000), ("owned-by-root", 0)))
    rl.pypod("import", tar_path, "rl-owned:1")
    layer_root = os.path.join(rl.home, ".local", "share", "pypod", "storage", "layers")
    found = [os.path.join(d, "owned-by-1000") for d, _dirs, files in os.walk(layer_root) if "owned-by-1000" in files]
    assert found and os.stat(found[0]).st_uid == start + 999
    assert os.stat(found[0].replace("owned-by-1000", "owned-by-root")).st_uid == rl.uid
    rl.pypod("rmi", "rl-owned:1")


def test_permission_errors_are_one_line(rl):
    for args in (("--root", "/var/lib/pypod", "images"), ("--root", "/root/pypod-x", "ps")):
        p = rl.pypod(*args, check=False)
        err = p.stderr.decode()
        assert p.returncode == 125 and "Traceback" not in err, err
        assert err.startswith("Error: ") and err.count("\n") == 1, err
        assert "permission denied" in err or "operation not permitted" in err, err


def test_user_without_a_range_gets_a_single_mapping():
    from .user import missing

    reason = missing()
    if reason:
        import pytest

        pytest.skip(reason)
    user = RootlessUser(prefix="pprn")
    try:
        import subprocess

        start, count = user.subuid
        if count:
            span = f"{start}-{start + count - 1}"
            subprocess.run(["usermod", "--del-subuids", span, "--del-subgids", span, user.name], check=True)
        p = user.pypod("unshare", "cat", "/proc/self/uid_map")
        err = p.stderr.decode()
        assert f"cannot find UID/GID for user {user.name}: no subuid ranges found" in err
        assert "Using rootless single mapping into the namespace" in err
        assert p.stdout.decode().split() == ["0", str(user.uid), "1"]
        # root-owned images still run in it; a file of uid 1000 has no ID to land on, and podman's error says why
        assert user.out("run", "--rm", "--network", "none", "busybox", "echo", "single") == "single"
        p = user.pypod("import", _owned_tar(user, "owned.tar", (("by-1000", 1000),)), "owned:1", check=False)
        assert p.returncode == 125 and p.stderr.decode().count("\n") == 1
        assert ("potentially insufficient UIDs or GIDs available in user namespace (requested 1000:1000 for /by-1000)"
                in p.stderr.decode())
        assert user.out("images", "-q", "owned:1", check=False) == ""
    finally:
        assert user.remove() or True


def test_fuse_overlayfs_as_the_mount_program(rl):
    import shutil

    import pytest

    program = shutil.which("fuse-overlayfs")
    if not program:
        pytest.skip("fuse-overlayfs is not installed (scripts/setup.sh installs it)")
    # the kernel here mounts overlay natively (the default, probed once); podman's option asks for FUSE
    info = json.loads(rl.out("info", "--format", "json"))
    assert info["store"]["graphStatus"]["Native Overlay Diff"] == "true"
    flags = ["--root", os.path.join(rl.home, "fuse-root"), "--storage-opt", f"overlay.mount_program={program}"]
    out = rl.out(*flags, "run", "--rm", "--network", "none", "busybox", "sh", "-c",
                 "grep ' / ' /proc/self/mounts | cut -d' ' -f3; rm -rf /usr && mkdir /usr && ls -A /usr | wc -l")
    assert out.split() == ["fuse.fuse-overlayfs", "0"]  # an opaque directory hides the image's /usr/bin
    info = json.loads(rl.out(*flags, "info", "--format", "json"))
    assert info["store"]["graphOptions"]["overlay.mount_program"]["Executable"] == program
    assert info["store"]["graphStatus"]["Native Overlay Diff"] == "false"


def test_resource_limits_are_warned_about_and_ignored_on_cgroup_v1(rl):
    """podman's rule without a cgroup: one warning, the container runs.  The
    kernel's own lacks (no BFQ for --blkio-weight here) do not matter then."""
    from pypod import rootless

    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        import pytest

        pytest.skip("cgroup v2 delegates a subtree to the user: the limits apply there")
    p = rl.pypod("run", "--rm", "--network", "none", "--memory", "64m", "--blkio-weight", "300",
                 "busybox", "echo", "ran", check=False)
    assert (p.returncode, p.stdout, p.stderr.decode()) == (0, b"ran\n", rootless.RESOURCE_WARNING + "\n"), p.stderr
