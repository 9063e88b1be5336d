"""Layer blobs: how they are compressed, and reading them back decompressed.

A layer blob is kept exactly as it arrived (compressed or not), so that
`save` and `push` hand out the very bytes whose digest the image's manifest
names.  The kind of compression is recorded per layer in the store.
"""

from __future__ import annotations

from ..errors import InvalidArgument

TYPE_CHECKING = False  # typing's import would cost every `run` ~5 ms
if TYPE_CHECKING:
    from typing import BinaryIO

# Layer compression, as stored in the layers table (0 and 1 predate the others).
PLAIN, GZIP, BZIP2, XZ, ZSTD = 0, 1, 2, 3, 4
_MAGIC = ((b"\x1f\x8b", GZIP), (b"BZh", BZIP2), (b"\xfd7zXZ\x00", XZ), (b"\x28\xb5\x2f\xfd", ZSTD))
#: what an OCI layer media type ends with, per compression
MEDIA_SUFFIX = {PLAIN: "", GZIP: "+gzip", BZIP2: "+bzip2", XZ: "+xz", ZSTD: "+zstd"}
#: bytes enough to tell every kind above apart
SNIFF_BYTES = 6


def sniff(head: bytes) -> int:
    """The compression a blob starting with head uses (PLAIN when none)."""
    return next((kind for magic, kind in _MAGIC if head.startswith(magic)), PLAIN)


def read_exactly(f: BinaryIO, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = f.read(n - len(out))
        if not chunk:
            break
        out += chunk
    return out


def zstd_module():
    """The zstd bindings: the standard library's from Python 3.14, its
    backport (backports.zstd, the same API) before."""
    try:
        from compression import zstd  # type: ignore[import-not-found]
    except ImportError:
        try:
            from backports import zstd  # type: ignore[no-redef]
        except ImportError:
            raise InvalidArgument("zstd-compressed layers need the backports.zstd package (pip install backports.zstd)") from None
    return zstd


def open_decompressed(path: str, compression: int) -> BinaryIO:
    if compression == GZIP:
        import gzip

        return gzip.open(path, "rb")
    if compression == BZIP2:
        import bz2

        return bz2.open(path, "rb")
    if compression == XZ:
        import lzma

        return lzma.open(path, "rb")
    if compression == ZSTD:
        return zstd_module().ZstdFile(path, "rb")
    return open(path, "rb")


def decompressed_size(path: str, compression: int) -> int:
    n = 0
    with open_decompressed(path, compression) as g:
        while chunk := g.read(1 << 20):
            n += len(chunk)
    return n
