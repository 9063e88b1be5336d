"""The store and the run root are private: containers' environments,
secrets and logs live there.  Every directory pypod makes for itself is
0700 and every file it writes for itself 0600, whatever the umask and
whichever command runs first; a root left wider (by an older pypod, or by
hand) is tightened when an engine opens it, as podman's is.

Container content keeps its own modes (image layers, a container's upper
dir, the /etc files bind-mounted into it): the private directories above
it are what keep other users out.
"""

from __future__ import annotations

import os

from .errors import InvalidArgument

DIR_MODE = 0o700
FILE_MODE = 0o600


def makedirs(path: str) -> None:
    """mkdir -p where every directory made (parents too) is 0700."""
    missing = []
    p = os.path.abspath(path)
    while not os.path.isdir(p):
        missing.append(p)
        parent = os.path.dirname(p)
        if parent == p:
            break
        p = parent
    for d in reversed(missing):
        try:
            os.mkdir(d, DIR_MODE)
        except FileExistsError:
            if not os.path.isdir(d):
                raise NotADirectoryError(20, "not a directory", d) from None


def tighten(path: str) -> None:
    """Take group and other bits off path (a file or directory); gone is fine."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if mode & 0o077 and not (mode & 0o170000) == 0o120000:
        os.chmod(path, mode & 0o7700)


def open_root(path: str, what: str) -> None:
    """Make sure a top directory (root, run root, storage) exists and is private."""
    try:
        makedirs(path)
        tighten(path)
    except OSError as e:
        raise InvalidArgument(f"creating the {what} {path}: {(e.strerror or str(e)).lower()}") from None


def create_file(path: str) -> None:
    """Make sure path exists as a private file (before SQLite opens it: its
    -wal and -shm files take the database file's mode).

    Never by opening the file itself: closing any descriptor of a file
    drops every POSIX lock this process holds on it, SQLite's included
    (another engine of the same service may have the database open).  A
    new file is made under another name, closed, and linked into place."""
    if not os.path.exists(path):
        tmp = f"{path}.{os.getpid()}.{id(path)}.new"
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE))
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # made meanwhile by another process or thread
            finally:
                os.unlink(tmp)
        except OSError as e:
            raise InvalidArgument(f"creating {path}: {(e.strerror or str(e)).lower()}") from None
    for p in (path, path + "-wal", path + "-shm", path + "-journal", path + "-queue"):
        tighten(p)


def write_file(path: str, data: str | bytes) -> None:
    """Write (replace the content of) a file of pypod's own, 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, FILE_MODE)
    with open(fd, "wb" if isinstance(data, bytes) else "w", closefd=True) as f:
        f.write(data)
