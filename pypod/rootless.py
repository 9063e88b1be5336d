"""Rootless pypod: an ordinary user's engine lives in a user namespace.

As podman does it: one long-lived user namespace (and mount namespace)
per user, held open by a pause process (`catatonit -P`) whose PID is kept
in the user's run directory.  The first command that needs it makes it
(unshare, then `newuidmap`/`newgidmap` map the user's own ID to 0 and the
ranges of /etc/subuid and /etc/subgid from 1 on); every later command joins
it with setns(2), so containers, mounts and the files of the store are seen
alike by every command, by conmon and by its exit command.

Inside, the process is uid 0 of that namespace, with every capability over
what the namespace owns: tar entries are chowned through the range, overlay
is mounted natively (with `userxattr`), runc makes the container's other
namespaces.  "Rootless" therefore means: uid 0 here is not uid 0 of the
host, whichever side of the join the process is on.
"""

from __future__ import annotations

import os

from .errors import InvalidArgument, PypodError

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
#: the pause process's program: podman's own choice, from the catatonit package
PAUSE_PATHS = ("/usr/libexec/podman/catatonit", "/usr/bin/catatonit", "/usr/local/bin/catatonit")
#: podman's words when /etc/subuid has nothing for the user
NO_RANGE_WARNING = ("Using rootless single mapping into the namespace. This might break some images. "
                    "Check /etc/subuid and /etc/subgid for adding sub*ids if not using a network user")


# -- pure parts ---------------------------------------------------------------------------

def parse_id_map(text: str) -> list[tuple[int, int, int]]:
    """/proc/PID/uid_map lines: (inside, outside, count) triples."""
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            out.append((int(parts[0]), int(parts[1]), int(parts[2])))
    return out


def to_host(mapping: list[tuple[int, int, int]], inside: int) -> int | None:
    """The host ID an ID of the namespace stands for (None: unmapped)."""
    for start, host, count in mapping:
        if start <= inside < start + count:
            return host + inside - start
    return None


def subid_ranges(path: str, user: str, uid: int) -> list[tuple[int, int]]:
    """(start, count) ranges of user (by name or number) in /etc/subuid or /etc/subgid."""
    out = []
    try:
        with open(path) as f:
            for line in f:
                parts = line.strip().split(":")
                if len(parts) == 3 and parts[0] in (user, str(uid)) and parts[1].isdigit() and parts[2].isdigit() \
                        and int(parts[2]) > 0:
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


def user_dirs(uid: int, env: dict) -> tuple[str, str]:
    """(root, run root) of a rootless user, as podman chooses its own:
    $XDG_DATA_HOME (default ~/.local/share)/pypod, and $XDG_RUNTIME_DIR/pypod,
    else a private /tmp/pypod-run-UID."""
    home = env.get("HOME") or _home_of(uid)
    data = env.get("XDG_DATA_HOME") or os.path.join(home, ".local", "share")
    runtime = env.get("XDG_RUNTIME_DIR")
    run = os.path.join(runtime, "pypod") if runtime else f"/tmp/pypod-run-{uid}"
    return os.path.join(data, "pypod"), run


def _home_of(uid: int) -> str:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_dir
    except KeyError:
        raise InvalidArgument(f"neither $HOME nor a passwd entry says where the home of uid {uid} is") from None


# -- which side of the namespace we are on -----------------------------------------------

_state: dict = {}


def host_uid() -> int:
    """The host's uid of this process: the euid outside a user namespace,
    what uid 0 maps to inside one."""
    if "uid" not in _state:
        euid = os.geteuid()
        if euid != 0:
            _state["uid"] = euid
        else:
            try:
                with open("/proc/self/uid_map") as f:
                    mapped = to_host(parse_id_map(f.read()), 0)
            except OSError:
                mapped = 0
            _state["uid"] = 0 if mapped is None else mapped
    return _state["uid"]


def is_rootless() -> bool:
    return host_uid() != 0


def host_gid() -> int:
    if os.getegid() != 0 or host_uid() == os.geteuid():
        return os.getegid()
    try:
        with open("/proc/self/gid_map") as f:
            mapped = to_host(parse_id_map(f.read()), 0)
    except OSError:
        mapped = None
    return os.getegid() if mapped is None else mapped


def default_dirs() -> tuple[str, str]:
    return user_dirs(host_uid(), os.environ)


def current_mappings() -> dict:
    """`info`'s idMappings: the maps of the namespace this process is in."""
    out = {}
    for key, name in (("uidmap", "uid_map"), ("gidmap", "gid_map")):
        try:
            with open(f"/proc/self/{name}") as f:
                out[key] = [{"container_id": a, "host_id": b, "size": c} for a, b, c in parse_id_map(f.read())]
        except OSError:
            out[key] = []
    return out


# -- the pause process ---------------------------------------------------------------------

def pause_pid_file() -> str:
    return os.path.join(default_dirs()[1], "pause.pid")


def enter() -> None:
    """Join the user's namespace (making it first if no pause process holds
    one).  A no-op for root and for a process already inside."""
    if os.geteuid() == 0:
        return
    uid = os.geteuid()
    run_dir = default_dirs()[1]
    _private_run_dir(run_dir, uid)
    pid_file = os.path.join(run_dir, "pause.pid")
    pid = _live_pause(pid_file, uid)
    if pid is None:
        import fcntl

        fd = os.open(os.path.join(run_dir, "pause.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            pid = _live_pause(pid_file, uid)  # another command may have made it meanwhile
            if pid is None:
                pid = _make_pause(pid_file, uid)
        finally:
            os.close(fd)
    _join(pid)
    _state.clear()
    _state["uid"] = uid


def _private_run_dir(path: str, uid: int) -> None:
    """The run directory is the user's alone: made 0700, and one another
    user made (in /tmp anyone can) is refused, never used."""
    from . import private

    try:
        private.makedirs(path)
        st = os.lstat(path)
    except OSError as e:
        raise InvalidArgument(f"creating the run directory {path}: {(e.strerror or str(e)).lower()}") from None
    if st.st_uid != uid or not os.path.isdir(path) or os.path.islink(path):
        raise InvalidArgument(f"the run directory {path} is not owned by uid {uid}: refusing to use it")
    private.tighten(path)


def _live_pause(pid_file: str, uid: int) -> int | None:
    """The PID in pid_file if it is a pause process of ours that still lives."""
    try:
        with open(pid_file) as f:
            pid = int(f.read().strip() or 0)
        if pid <= 0:
            return None
        st = os.stat(f"/proc/{pid}")
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv0 = f.read().split(b"\0")[0]
    except (OSError, ValueError):
        return None
    if st.st_uid != uid or not os.path.basename(argv0).startswith(b"catatonit"):
        return None  # gone, and its PID reused
    return pid


def pause_program() -> str:
    import shutil

    for p in PAUSE_PATHS:
        if os.access(p, os.X_OK):
            return p
    found = shutil.which("catatonit")
    if not found:
        raise InvalidArgument("catatonit is not installed: rootless pypod's pause process needs it (package catatonit)")
    return found


def _make_pause(pid_file: str, uid: int) -> int:
    """Fork the pause process: it unshares a user and a mount namespace,
    waits while we map it from outside, then becomes `catatonit -P`."""
    import ctypes

    from . import private

    program = pause_program()
    user = _user_name(uid)
    gid = os.getegid()
    uid_ranges = subid_ranges("/etc/subuid", user, uid)
    gid_ranges = subid_ranges("/etc/subgid", user, uid)
    tools = ()
    if uid_ranges and gid_ranges:
        tools = _map_tools()
    else:
        from . import diag

        diag.error(f'cannot find UID/GID for user {user}: no subuid ranges found for user "{user}" in /etc/subuid '
                   f"- check rootless mode in man pages.")
        diag.warn(NO_RANGE_WARNING)
    ready_r, ready_w = os.pipe()
    mapped_r, mapped_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the pause process-to-be: only async-signal-safe steps until exec
        try:
            os.close(ready_r)
            os.close(mapped_w)
            os.setsid()
            libc = ctypes.CDLL(None, use_errno=True)
            ok = libc.unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0
            os.write(ready_w, b"1" if ok else b"0")
            if not ok or os.read(mapped_r, 1) != b"1":
                os._exit(1)
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            os.chdir("/")
            os.execv(program, [os.path.basename(program), "-P"])
        finally:
            os._exit(127)
    os.close(ready_w)
    os.close(mapped_r)
    try:
        if os.read(ready_r, 1) != b"1":
            os.waitpid(pid, 0)
            raise PypodError("cannot create a user namespace: unshare(CLONE_NEWUSER) is not permitted for this user "
                             "(see /proc/sys/user/max_user_namespaces)")
        try:
            if tools:
                for tool, ranges, own in ((tools[0], uid_ranges, uid), (tools[1], gid_ranges, gid)):
                    _run_map_tool(tool, pid, id_map_args(own, ranges))
            else:
                _write_single_mapping(pid, uid, gid)
        except BaseException:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            raise
        os.write(mapped_w, b"1")
    finally:
        os.close(ready_r)
        os.close(mapped_w)
    tmp = f"{pid_file}.{os.getpid()}"
    private.write_file(tmp, str(pid))
    os.replace(tmp, pid_file)
    return pid


def _user_name(uid: int) -> str:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return os.environ.get("USER") or str(uid)


def _map_tools() -> tuple[str, str]:
    import shutil

    found = []
    for tool in ("newuidmap", "newgidmap"):
        path = shutil.which(tool) or next((p for p in (f"/usr/bin/{tool}", f"/usr/sbin/{tool}") if os.access(p, os.X_OK)), "")
        if not path:
            raise InvalidArgument(f"{tool} is not installed: rootless user namespaces need it (package uidmap)")
        found.append(path)
    return found[0], found[1]


def _run_map_tool(tool: str, pid: int, args: list[str]) -> None:
    import subprocess

    proc = subprocess.run([tool, str(pid), *args], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        name = os.path.basename(tool)
        raise PypodError(f"cannot set up namespace using {tool!r}: {name}: {proc.stderr.strip() or f'exit {proc.returncode}'}")


def _write_single_mapping(pid: int, uid: int, gid: int) -> None:
    """No range: the user's own IDs as 0, written directly (the kernel allows
    that much to anyone once setgroups is denied)."""
    for name, data in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1\n"), ("gid_map", f"0 {gid} 1\n")):
        with open(f"/proc/{pid}/{name}", "w") as f:
            f.write(data)


def _join(pid: int) -> None:
    """setns(2) into the pause process's user, then mount, namespace.  The
    process must still be single-threaded: the kernel refuses a threaded one."""
    setns = getattr(os, "setns", None)
    if setns is None:  # Python < 3.12
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)

        def setns(fd: int, nstype: int) -> None:
            if libc.setns(fd, nstype) != 0:
                e = ctypes.get_errno()
                raise OSError(e, os.strerror(e))
    for ns, flag in (("user", CLONE_NEWUSER), ("mnt", CLONE_NEWNS)):
        try:
            fd = os.open(f"/proc/{pid}/ns/{ns}", os.O_RDONLY | os.O_CLOEXEC)
        except OSError as e:
            raise PypodError(f"joining the rootless user namespace of pause process {pid}: {e.strerror.lower()}") from None
        try:
            setns(fd, flag)
        except OSError as e:
            why = e.strerror.lower()
            if e.errno == 22 and ns == "user":
                why += " (a process with threads cannot join a user namespace: enter it before starting any)"
            raise PypodError(f"joining the rootless {ns} namespace of pause process {pid}: {why}") from None
        finally:
            os.close(fd)


# -- what a container spec needs inside the user namespace --------------------------------

#: the parts of linux.resources a cgroup applies (devices is runc's own business)
CGROUP_LIMITS = ("memory", "cpu", "pids", "blockIO", "hugepageLimits", "network", "rdma", "unified")
#: podman's default pids limit: not something the user asked for
DEFAULT_PIDS_LIMIT = 2048
RESOURCE_WARNING = "Resource limits are not supported and ignored on cgroups V1 rootless systems"


def adjust_spec(spec: dict) -> None:
    """What cannot be asked for in a user namespace: with a single mapping
    (no subordinate range) gid 5, devpts's tty group, does not exist, and
    podman leaves its gid= option out; without cgroups (v1) the limits go,
    with podman's warning when the user asked for any."""
    if not is_rootless():
        return
    resources = spec.get("linux", {}).get("resources", {})
    if without_cgroups() and any(k in resources for k in CGROUP_LIMITS):
        asked = [k for k in CGROUP_LIMITS if k in resources]
        if asked != ["pids"] or resources["pids"].get("limit") != DEFAULT_PIDS_LIMIT:
            import sys

            print(RESOURCE_WARNING, file=sys.stderr)
        for k in asked:
            del resources[k]
    try:
        with open("/proc/self/gid_map") as f:
            gids = parse_id_map(f.read())
    except OSError:
        return
    if to_host(gids, 5) is None:
        for m in spec.get("mounts", ()):
            if m.get("type") == "devpts":
                m["options"] = [o for o in m.get("options", ()) if not o.startswith("gid=")]


# -- cgroups ------------------------------------------------------------------------------

def without_cgroups() -> bool:
    """A rootless engine on cgroup v1: only root can make cgroups there, so
    its containers have none (podman's rule; v2 delegates a subtree)."""
    from .config import cgroups_v2

    return is_rootless() and not cgroups_v2()


def refuse_without_cgroups(message: str) -> None:
    """podman's errors for what needs a container's cgroup (stats, pause, unpause)."""
    if without_cgroups():
        raise InvalidArgument(message)
