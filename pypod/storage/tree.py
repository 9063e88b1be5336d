"""Removing directory trees that images and containers hold.

A layer or a container's writable layer may nest thousands of directories
deep (node_modules does): nothing here recurses on a tree's depth, and
nothing builds a path from the root, so neither Python's recursion limit
nor PATH_MAX is reached.  The walk goes down and up through directory fds
one level at a time (never more than two open), and never follows a
symlink: whatever a layer plants, only the tree itself is removed.
"""

from __future__ import annotations

import errno
import os
import stat

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def remove_tree(path: str, ignore_errors: bool = False) -> None:
    """rm -rf path (a file, a symlink or a directory); gone already is fine."""
    parent, name = os.path.split(os.path.abspath(path))
    try:
        pfd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    except OSError:
        if ignore_errors:
            return
        raise
    try:
        remove_tree_at(pfd, name)
    except OSError:
        if not ignore_errors:
            raise
    finally:
        os.close(pfd)


def remove_what_can_go(path: str) -> None:
    """rm -rf path, going on past what refuses (a busy mount point, a file
    another process holds open on NFS...) as shutil.rmtree(ignore_errors=True)
    does; without shutil's import on the common path, where nothing refuses."""
    try:
        remove_tree(path)
    except OSError:
        import shutil

        shutil.rmtree(path, ignore_errors=True)


def remove_tree_at(dir_fd: int, name: str) -> None:
    """Remove the entry name of the directory dir_fd, and all below it."""
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        _unlink(dir_fd, name)
        return
    fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    #: the names walked down through, below the top
    path: list[str] = []
    try:
        while True:
            sub = _clear_files(fd)
            if sub is not None:
                nfd = os.open(sub, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = nfd
                path.append(sub)
                continue
            if not path:
                break
            # Empty: climb to the parent and remove it from there.
            up = os.open("..", _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = up
            _rmdir(fd, path.pop())
    finally:
        os.close(fd)
    _rmdir(dir_fd, name)


def _clear_files(fd: int) -> str | None:
    """Unlink every non-directory of the directory fd; return one
    subdirectory's name, or None once the directory is empty."""
    with os.scandir(fd) as it:
        entries = list(it)
    sub = None
    for e in entries:
        try:
            is_dir = e.is_dir(follow_symlinks=False)
        except FileNotFoundError:
            continue
        if is_dir:
            sub = sub or e.name
        else:
            _unlink(fd, e.name)
    return sub


def _unlink(dir_fd: int, name: str) -> None:
    try:
        os.unlink(name, dir_fd=dir_fd)
    except FileNotFoundError:
        pass


def _rmdir(dir_fd: int, name: str) -> None:
    try:
        os.rmdir(name, dir_fd=dir_fd)
    except FileNotFoundError:
        pass
    except OSError as e:
        if e.errno != errno.ENOTEMPTY:
            raise
        # something was added meanwhile: take it too
        remove_tree_at(dir_fd, name)


def walk(top: str):
    """os.walk(top) (top-down, symlinks not followed) without recursion:
    Python 3.11's os.walk recurses once per level and fails on a deep tree."""
    stack = [top]
    while stack:
        d = stack.pop()
        try:
            with os.scandir(d) as it:
                entries = list(it)
        except OSError:
            continue
        dirs, files = [], []
        for e in entries:
            try:
                (dirs if e.is_dir(follow_symlinks=False) else files).append(e.name)
            except OSError:
                files.append(e.name)
        yield d, dirs, files
        stack.extend(os.path.join(d, name) for name in reversed(dirs))
