"""`pypod unshare`: run a command in the user namespace rootless pypod uses
(the user's own ID as root, then the ranges /etc/subuid and /etc/subgid
give it), to look at or fix files its containers own.  As root there is
nothing to unshare, and podman says so."""

from __future__ import annotations

import os

from ..errors import InvalidArgument

CLONE_NEWUSER = 0x10000000


def add_unshare_args(p) -> None:
    import argparse

    p.add_argument("--rootless-netns", action="store_true",
                   help="also join the rootless network namespace (where rootless containers' networks live)")
    p.add_argument("command", nargs=argparse.REMAINDER, help="the command (default: $SHELL)")


def subid_ranges(path: str, user: str, uid: int) -> list[tuple[int, int]]:
    """(start, count) ranges of user (by name or number) in /etc/subuid or /etc/subgid."""
    out = []
    try:
        with open(path) as f:
            for line in f:
                parts = line.strip().split(":")
                if len(parts) == 3 and parts[0] in (user, str(uid)) and parts[1].isdigit() and parts[2].isdigit():
                    out.append((int(parts[1]), int(parts[2])))
    except OSError:
        pass
    return out


def id_map_args(own: int, ranges: list[tuple[int, int]]) -> list[str]:
    """newuidmap's triples: own ID as 0, then the ranges from 1 on."""
    args = ["0", str(own), "1"]
    inside = 1
    for start, count in ranges:
        args += [str(inside), str(start), str(count)]
        inside += count
    return args


def cmd_unshare(engine, a) -> int:
    if os.geteuid() == 0:
        raise InvalidArgument("please use unshare with rootless")
    if a.rootless_netns:
        raise InvalidArgument("--rootless-netns: pypod's rootless containers have no shared network namespace to join")
    import pwd
    import shutil

    user = pwd.getpwuid(os.getuid()).pw_name
    uid_ranges = subid_ranges("/etc/subuid", user, os.getuid())
    gid_ranges = subid_ranges("/etc/subgid", user, os.getgid())
    for tool in ("newuidmap", "newgidmap"):
        if not shutil.which(tool):
            raise InvalidArgument(f"{tool} is not installed: rootless user namespaces need it (package uidmap)")
    command = list(a.command) or [os.environ.get("SHELL", "/bin/sh")]
    env = {**os.environ, "CONTAINERS_GRAPHROOT": engine.config.root, "CONTAINERS_RUNROOT": engine.config.runroot}
    return run_in_userns(command, env, uid_ranges, gid_ranges)


def run_in_userns(command: list[str], env: dict, uid_ranges, gid_ranges) -> int:
    """Fork a child that enters a new user namespace, map it from outside
    (newuidmap/newgidmap need the child's PID), then let it exec."""
    import ctypes
    import subprocess

    ready_r, ready_w = os.pipe()
    mapped_r, mapped_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(ready_r)
            os.close(mapped_w)
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.unshare(CLONE_NEWUSER) != 0:
                os.write(2, f"Error: unshare: {os.strerror(ctypes.get_errno())}\n".encode())
                os._exit(125)
            os.write(ready_w, b"1")
            if os.read(mapped_r, 1) != b"1":
                os._exit(125)
            os.execvpe(command[0], command, env)
        except OSError as e:
            os.write(2, f"Error: {command[0]}: {e.strerror}\n".encode())
            os._exit(127 if isinstance(e, FileNotFoundError) else 126)
    os.close(ready_w)
    os.close(mapped_r)
    try:
        if os.read(ready_r, 1) != b"1":
            os.waitpid(pid, 0)
            return 125
        for tool, ranges, own in (("newuidmap", uid_ranges, os.getuid()), ("newgidmap", gid_ranges, os.getgid())):
            proc = subprocess.run([tool, str(pid), *id_map_args(own, ranges)], capture_output=True, text=True)
            if proc.returncode != 0:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                raise InvalidArgument(f"{tool}: {proc.stderr.strip()}")
        os.write(mapped_w, b"1")
    finally:
        os.close(ready_r)
        os.close(mapped_w)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
