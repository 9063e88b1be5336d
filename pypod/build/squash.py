"""--squash: several overlay layer directories (bottom first) merged into
one tree that is itself an overlay upper dir, so that its whiteouts still
hide what the layers beneath the squashed ones hold."""

from __future__ import annotations

import os
import shutil
import stat

from ..storage.archive import is_opaque as _opaque
from ..storage.archive import opaque_xattr
from ..storage.tree import remove_tree


def _clear(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        remove_tree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def merge_layers(layer_dirs: list[str], tree: str) -> None:
    os.makedirs(tree, exist_ok=True)
    for layer in layer_dirs:
        for dirpath, dirnames, filenames in os.walk(layer):
            rel = os.path.relpath(dirpath, layer)
            out_dir = tree if rel == "." else os.path.join(tree, rel)
            for name in dirnames:
                src, dst = os.path.join(dirpath, name), os.path.join(out_dir, name)
                st = os.lstat(src)
                if _opaque(src) or (os.path.lexists(dst) and not os.path.isdir(dst)) or os.path.islink(dst):
                    _clear(dst)
                if not os.path.isdir(dst):
                    os.mkdir(dst)
                if _opaque(src):
                    os.setxattr(dst, opaque_xattr(), b"y")
                os.chown(dst, st.st_uid, st.st_gid)
                os.chmod(dst, stat.S_IMODE(st.st_mode))
            # directory symlinks are listed among dirnames by os.walk only when followed; it does not follow
            for name in filenames:
                src, dst = os.path.join(dirpath, name), os.path.join(out_dir, name)
                st = os.lstat(src)
                _clear(dst)
                if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                    os.mknod(dst, st.st_mode, 0)  # a whiteout
                elif stat.S_ISLNK(st.st_mode):
                    os.symlink(os.readlink(src), dst)
                    os.lchown(dst, st.st_uid, st.st_gid)
                elif stat.S_ISREG(st.st_mode):
                    try:
                        os.link(src, dst)
                    except OSError:
                        shutil.copy2(src, dst)
                        os.chown(dst, st.st_uid, st.st_gid)
                else:
                    os.mknod(dst, st.st_mode, st.st_rdev)
                    os.chown(dst, st.st_uid, st.st_gid)
        # directory times last: creating entries moved them
        for dirpath, _dirnames, _filenames in os.walk(layer):
            rel = os.path.relpath(dirpath, layer)
            dst = tree if rel == "." else os.path.join(tree, rel)
            st = os.lstat(dirpath)
            os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
