"""User and group lookup inside a container's rootfs.

This mirrors libpod's lookup.GetUserGroupInfo (runc's GetExecUser rules)
with one overriding constraint: the rootfs is untrusted, so every path is
resolved by ``secure_join``, which interprets symlinks as if the rootfs were
``/``.  A symlinked /etc/passwd pointing at /etc/shadow therefore reads the
container's shadow file, never the host's.
"""

import os

from pypod.errors import InvalidArgument, NoSuchUser
from pypod.record import record

# records, not namedtuples: collections' import would cost every exec ~1.5 ms


@record(frozen=True)
class ExecUser:
    uid: int
    gid: int
    sgids: list
    home: str


@record(frozen=True)
class PasswdEntry:
    name: str
    password: str
    uid: int
    gid: int
    gecos: str
    home: str
    shell: str


@record(frozen=True)
class GroupEntry:
    name: str
    password: str
    gid: int
    members: list

MAX_ID = 2**31 - 1
# Linux's own limit on symlinks followed in one resolution.
MAX_SYMLINKS = 255
# A rootfs can hold a multi-gigabyte /etc/passwd; reading it all into the
# engine would be a denial of service, and no real file comes close.
_MAX_FILE = 32 << 20

_ERR_RANGE = f"uids and gids must be in range 0-{MAX_ID}"


def secure_join(root: str, path: str) -> str:
    """Join ``path`` under ``root``, resolving symlinks without leaving ``root``.

    ``..`` stops at the root, absolute link targets restart at the root, and
    components that do not exist are joined lexically (the caller's open
    fails normally).  Raises ``OSError(ELOOP)`` after ``MAX_SYMLINKS`` links.
    """
    root = os.path.abspath(root)
    # Components still to walk, kept reversed so pop() takes the next one.
    todo = [c for c in path.split("/") if c][::-1]
    done = []
    links = 0
    while todo:
        comp = todo.pop()
        if comp == ".":
            continue
        if comp == "..":
            if done:
                done.pop()
            continue
        cur = os.path.join(root, *done, comp)
        try:
            st = os.lstat(cur)
        except (FileNotFoundError, NotADirectoryError):
            done.append(comp)
            continue
        if (st.st_mode & 0o170000) != 0o120000:
            done.append(comp)
            continue
        links += 1
        if links > MAX_SYMLINKS:
            import errno
            raise OSError(errno.ELOOP, "too many levels of symbolic links", os.path.join(root, path.lstrip("/")))
        target = os.readlink(cur)
        if target.startswith("/"):
            done = []
        todo.extend(c for c in target.split("/")[::-1] if c)
    return os.path.join(root, *done)


def _read_in_root(root: str, path: str):
    """Text of a regular file inside ``root``, or None when it is absent."""
    full = secure_join(root, path)
    flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK
    try:
        fd = os.open(full, flags)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as e:
        import errno
        if e.errno == errno.ELOOP:
            # The path became a symlink after secure_join resolved it.
            raise InvalidArgument(f"{path} in the container changed while it was being read") from None
        raise
    try:
        st = os.fstat(fd)
        # A FIFO or device planted at /etc/passwd must not block or feed
        # endless data into the engine.
        if (st.st_mode & 0o170000) != 0o100000:
            return None
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(_MAX_FILE)
    finally:
        os.close(fd)
    return data.decode("utf-8", "replace")


def _int_field(s: str):
    if s.isdigit() and s.isascii():
        return int(s)
    return None


def parse_passwd(text: str) -> list:
    """Entries of an /etc/passwd text; comments and malformed lines are skipped."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        f = line.split(":")
        if len(f) < 4:
            continue
        f += [""] * (7 - len(f))
        uid = _int_field(f[2])
        gid = _int_field(f[3])
        # NIS "+" lines and garbage have no numeric ids; taking them as 0,
        # as runc does, would let a comment line impersonate root.
        if uid is None or gid is None:
            continue
        out.append(PasswdEntry(f[0], f[1], uid, gid, f[4], f[5], f[6]))
    return out


def parse_group(text: str) -> list:
    """Entries of an /etc/group text; members is a list of user names."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        f = line.split(":")
        if len(f) < 3:
            continue
        gid = _int_field(f[2])
        if gid is None:
            continue
        members = [m.strip() for m in f[3].split(",") if m.strip()] if len(f) > 3 else []
        out.append(GroupEntry(f[0], f[1], gid, members))
    return out


def resolve_user(user_spec: str, passwd, group) -> ExecUser:
    """The user a spec names, given parsed passwd/group entries (None = file absent)."""
    user_arg, _, group_arg = (user_spec or "").partition(":")
    uid_arg = _int_field(user_arg)
    gid_arg = _int_field(group_arg)
    uid, gid, home, sgids = 0, 0, "/", []
    matched = None
    for e in passwd or ():
        if user_arg == "":
            hit = e.uid == 0
        elif uid_arg is not None:
            hit = e.uid == uid_arg
        else:
            hit = e.name == user_arg
        if hit:
            matched = e
            break
    if matched is not None:
        uid, gid, home = matched.uid, matched.gid, matched.home
    elif user_arg:
        if uid_arg is None:
            raise NoSuchUser(f"unable to find user {user_arg}: no matching entries in passwd file")
        if uid_arg > MAX_ID:
            raise InvalidArgument(_ERR_RANGE)
        uid = uid_arg
    if group_arg:
        for g in group or ():
            if (g.gid == gid_arg) if gid_arg is not None else (g.name == group_arg):
                gid = g.gid
                break
        else:
            if gid_arg is None:
                raise NoSuchUser(f"unable to find group {group_arg}: no matching entries in group file")
            if gid_arg > MAX_ID:
                raise InvalidArgument(_ERR_RANGE)
            gid = gid_arg
    elif matched is not None:
        # Supplementary groups come only with the implicit form: naming a
        # group explicitly means exactly that group, as runc decides.
        sgids = [g.gid for g in group or () if matched.name in g.members]
    return ExecUser(uid, gid, sgids, home or "/")


def get_user_group_info(rootfs: str, user_spec: str) -> ExecUser:
    """Resolve ``user[:group]`` against the rootfs's /etc/passwd and /etc/group."""
    user_arg, _, group_arg = (user_spec or "").partition(":")
    passwd_text = _read_in_root(rootfs, "/etc/passwd")
    passwd = parse_passwd(passwd_text) if passwd_text is not None else None
    group = None
    # /etc/group matters only for a named group or a passwd match's
    # supplementary groups; skipping it keeps "uid:gid" to one file read.
    if group_arg or passwd:
        group_text = _read_in_root(rootfs, "/etc/group")
        group = parse_group(group_text) if group_text is not None else None
    return resolve_user(user_spec, passwd, group)


def get_container_groups(groups, rootfs: str) -> list:
    """GIDs for ``--group-add`` values: numbers as given, names from /etc/group."""
    out = []
    parsed = None
    for name in groups:
        gid = _int_field(name)
        if gid is not None:
            if gid > 0xFFFFFFFF:
                raise InvalidArgument(_ERR_RANGE)
            out.append(gid)
            continue
        # podman handles "keep-groups" itself before any lookup.
        if name == "keep-groups":
            continue
        if parsed is None:
            text = _read_in_root(rootfs, "/etc/group")
            parsed = parse_group(text) if text is not None else []
        for g in parsed:
            if g.name == name:
                out.append(g.gid)
                break
        else:
            raise NoSuchUser(f"unable to find group {name}: no matching entries in group file")
    return out
