"""Layer blobs: how they are compressed, and reading them back decompressed.

A layer blob is kept exactly as it arrived (compressed or not), so that
`save` and `push` hand out the very bytes whose digest the image's manifest
names.  The kind of compression is recorded per layer in the store.
"""

from __future__ import annotations

import io
import os

from ..errors import InvalidArgument
from ..record import record

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


# -- one streaming pass: hash the blob, keep it, decompress, hash the tar, unpack ----------

_CHUNK = 1 << 20


class BlobTooLarge(InvalidArgument):
    pass


class CorruptLayer(InvalidArgument):
    """The layer could not be unpacked; blob is the digest of what was read
    (all of it, when the stream could be read to its end)."""

    def __init__(self, message: str, blob: str):
        super().__init__(message)
        self.blob = blob


class HashingTee:
    """Reads a blob stream: hashes every byte, copies it to out_fd, counts,
    reports progress, and refuses to read past an expected size."""

    def __init__(self, src: BinaryIO, out_fd: int | None, limit: int | None = None, progress=None):
        import hashlib

        self.src = src
        self.out_fd = out_fd
        self.limit = limit
        self.progress = progress
        self.sha = hashlib.sha256()
        self.count = 0
        self._head = b""

    def peek(self, n: int) -> bytes:
        while len(self._head) < n:
            data = self._pull(n - len(self._head))
            if not data:
                break
            self._head += data
        return self._head[:n]

    def _pull(self, n: int) -> bytes:
        data = self.src.read(n)
        if not data:
            return b""
        self.count += len(data)
        if self.limit is not None and self.count > self.limit:
            raise BlobTooLarge(f"blob is larger than the {self.limit} bytes its descriptor says")
        self.sha.update(data)
        if self.out_fd is not None:
            view = memoryview(data)
            while view:
                view = view[os.write(self.out_fd, view):]
        if self.progress is not None:
            self.progress(self.count)
        return data

    def read(self, n: int = _CHUNK) -> bytes:
        if self._head:
            data, self._head = self._head[:n], self._head[n:]
            return data
        return self._pull(n if n > 0 else _CHUNK)


class _Inflate:
    """gzip, member after member (pigz and friends write several), with
    zero padding after the last one tolerated.  Output per read is bounded,
    whatever the compression ratio."""

    def __init__(self, src):
        import zlib

        self.zlib = zlib
        self.src = src
        self.d = zlib.decompressobj(31)
        self.started = False

    def read(self, n: int = _CHUNK) -> bytes:
        while True:
            if self.d.eof:
                rest = self.d.unused_data or self.src.read(_CHUNK)
                while rest and not rest.strip(b"\0"):
                    rest = self.src.read(_CHUNK)
                if not rest:
                    return b""
                if not rest.startswith(b"\x1f\x8b"):
                    raise InvalidArgument("trailing garbage after the last gzip member of the layer")
                self.d = self.zlib.decompressobj(31)
                data = rest
            elif self.d.unconsumed_tail:
                data = self.d.unconsumed_tail
            else:
                data = self.src.read(_CHUNK)
                if not data:
                    raise InvalidArgument("the gzip stream of the layer ends early")
            try:
                out = self.d.decompress(data, n)
            except self.zlib.error as e:
                raise InvalidArgument(f"corrupt gzip layer: {e}") from None
            if out:
                return out


class _Decompress:
    """zstd, bzip2 and xz: the decompressor objects that say needs_input, eof
    and unused_data (a new frame or stream may follow)."""

    def __init__(self, src, factory):
        self.src = src
        self.factory = factory
        self.d = factory()
        self.pending = b""

    def read(self, n: int = _CHUNK) -> bytes:
        while True:
            if self.d.eof:
                rest = self.d.unused_data or self.src.read(_CHUNK)
                if not rest:
                    return b""
                self.d = self.factory()
                self.pending = rest
            if self.d.needs_input:
                data, self.pending = self.pending or self.src.read(_CHUNK), b""
                if not data:
                    raise InvalidArgument("the compressed stream of the layer ends early")
            else:
                data = b""
            try:
                out = self.d.decompress(data, n)
            except (OSError, EOFError, ValueError, LookupError) as e:
                raise InvalidArgument(f"corrupt compressed layer: {e}") from None
            except Exception as e:  # ZstdError, LZMAError: not OSError subclasses
                if type(e).__name__ not in ("ZstdError", "LZMAError"):
                    raise
                raise InvalidArgument(f"corrupt zstd layer: {e}") from None
            if out:
                return out


def decompressing(src, compression: int):
    """A reader of src's decompressed bytes."""
    if compression == PLAIN:
        return src
    if compression == GZIP:
        return _Inflate(src)
    if compression == ZSTD:
        return _Decompress(src, zstd_module().ZstdDecompressor)
    if compression == BZIP2:
        import bz2

        return _Decompress(src, bz2.BZ2Decompressor)
    import lzma

    return _Decompress(src, lzma.LZMADecompressor)


class _Hashing(io.RawIOBase):
    """The decompressed tar, hashed as it is read.  Raw, so that a
    BufferedReader serves tarfile's many small reads from one big one."""

    def __init__(self, src):
        import hashlib

        self.src = src
        self.sha = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        data = self.src.read(len(b))
        self.sha.update(data)
        b[:len(data)] = data
        return len(data)


@record
class Unpacked:
    blob: str
    diff_id: str
    compression: int
    #: bytes of file content written
    size: int
    #: bytes of the blob
    blob_size: int


def unpack_stream(src: BinaryIO, blob_fd: int | None, dest: str, limit: int | None = None,
                  progress=None) -> Unpacked:
    """Read a layer blob once: its bytes go to blob_fd and its hash, its
    decompressed tar to the diff hash and into dest.  Nothing is verified
    here: the caller compares the digests and keeps or drops dest."""
    from .archive import extract_layer

    tee = HashingTee(src, blob_fd, limit, progress)
    compression = sniff(tee.peek(SNIFF_BYTES))
    hashing = _Hashing(decompressing(tee, compression))
    tar = io.BufferedReader(hashing, _CHUNK)
    try:
        size = extract_layer(tar, dest, compressed=False)
        while tar.read(_CHUNK):  # the tar's end-of-archive padding counts in the diff ID
            pass
    except InvalidArgument as e:
        if isinstance(e, BlobTooLarge):
            raise
        # Read on, so that a blob that is not what it claims is reported as such.
        while tee.read(_CHUNK):
            pass
        raise CorruptLayer(str(e), tee.sha.hexdigest()) from None
    while tee.read(_CHUNK):  # and whatever follows the compressed stream in the blob's
        pass
    return Unpacked(tee.sha.hexdigest(), hashing.sha.hexdigest(), compression, size, tee.count)
