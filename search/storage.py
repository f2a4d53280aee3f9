"""A whoosh ``Storage`` whose every file is sealed with AES-256-GCM.

Layout of one sealed index file on disk::

    b"GIX1" (4) ‖ nonce (12) ‖ ciphertext ‖ tag (16)
    aad = b"guanai/v1/index" ‖ 0x00 ‖ index_id ‖ 0x00 ‖ file name

Binding the file name means a file renamed or swapped for another one of the same index fails
to open; binding the index id means a file copied from another index (or another archive, or an
earlier build of this one) fails too. Files are written whole (whoosh writes them once and never
appends after close), so each one is sealed when it is closed and decrypted whole into memory
when opened.

Pitfalls of whoosh this class closes (see docs/NOTES.md):

* whoosh spills posting runs and per-document columns through ``temp_storage()`` to a
  ``*.tmp`` directory *in plaintext*; here temporary storage stays in memory.
* posting runs are closed through ``raw_file().close()``, which bypasses ``StructFile.onclose``,
  so the sealing lives in the file object itself (:class:`_SealingBuffer`).
* mmap is off (it would map ciphertext).
* the TOC is written under a temporary name and renamed; the name is in the AAD, so a rename
  re-seals. A crash can leave such a temporary TOC behind: :meth:`SealedStorage.sweep`
  removes leftovers at open.
* the TOC is a pickle: it is unpickled only after its tag has been verified, because every
  read goes through :meth:`SealedStorage.open_file`.
"""

from __future__ import annotations

import io
import mmap
import os
import re
from collections.abc import Callable
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from whoosh.filedb.filestore import FileStorage, RamStorage
from whoosh.filedb.structfile import BufferFile, StructFile

from guanai.base import fsutil
from guanai.base.errors import IntegrityError

MAGIC = b"GIX1"
NONCE_LEN = 12
TAG_LEN = 16
AAD_PREFIX = b"guanai/v1/index"
# our own in-flight files (sealed, but still swept after a crash)
TMP_SUFFIX = ".gtmp"
# whoosh's TOC temp name: "_MAIN_3.toc.1732838400.123"
_WHOOSH_TOC_TMP = re.compile(r"^_.+_[0-9]+\.toc\.[0-9.]+$")

_MAP_MIN = 1 << 20  # files from 1 MiB up are decrypted from a map of the ciphertext

REINDEX_HINT = "索引是派生数据，可执行 guanai reindex 由目录重建；档案目录本身不受影响。"


def file_aad(index_id: str, name: str) -> bytes:
    return AAD_PREFIX + b"\x00" + index_id.encode("utf-8") + b"\x00" + name.encode("utf-8")


def seal_bytes(key: bytes, index_id: str, name: str, data: bytes) -> bytes:
    nonce = os.urandom(NONCE_LEN)
    return MAGIC + nonce + AESGCM(key).encrypt(nonce, data, file_aad(index_id, name))


def open_bytes(key: bytes, index_id: str, name: str, blob: bytes | memoryview, where: str) -> bytes:
    """Verify and decrypt one sealed file; IntegrityError names the index and the file."""
    if len(blob) < len(MAGIC) + NONCE_LEN + TAG_LEN or bytes(blob[: len(MAGIC)]) != MAGIC:
        raise IntegrityError(f"全文索引 {where} 的文件 {name} 已损坏（格式不符或被截断）。", REINDEX_HINT)
    view = memoryview(blob)  # no copy of a possibly large file just to skip its header
    nonce = bytes(view[len(MAGIC) : len(MAGIC) + NONCE_LEN])
    body = view[len(MAGIC) + NONCE_LEN :]
    try:
        return AESGCM(key).decrypt(nonce, body, file_aad(index_id, name))
    except InvalidTag as err:
        raise IntegrityError(
            f"全文索引 {where} 的文件 {name} 未通过完整性校验（被篡改、损坏或不属于本索引）。", REINDEX_HINT
        ) from err
    finally:
        body.release()
        view.release()


def atomic_write(path: str, data: bytes) -> None:
    """Temp file in the same directory, fsync, rename; the temp name ends in TMP_SUFFIX (swept at open)."""
    fsutil.atomic_write(path, data, 0o600, suffix=TMP_SUFFIX)


class _SealingBuffer(io.BytesIO):
    """In-memory file that seals and writes itself atomically when closed (by any path)."""

    def __init__(self, on_close: Callable[[bytes], None]) -> None:
        super().__init__()
        self._on_close: Callable[[bytes], None] | None = on_close

    def close(self) -> None:
        cb, self._on_close = self._on_close, None
        if cb is not None and not self.closed:
            cb(self.getvalue())
        super().close()


class _ViewFile:
    """Read-only file object over a memoryview (io.BytesIO would copy the buffer)."""

    def __init__(self, view: memoryview) -> None:
        self._view = view
        self._pos = 0

    def read(self, size: int | None = -1) -> bytes:
        end = len(self._view) if size is None or size < 0 else min(len(self._view), self._pos + size)
        out = bytes(self._view[self._pos : end])
        self._pos = end
        return out

    def readline(self) -> bytes:
        end = self._pos
        n = len(self._view)
        while end < n and self._view[end] != 0x0A:
            end += 1
        return self.read(min(n, end + 1) - self._pos)

    def seek(self, where: int, whence: int = 0) -> int:
        if whence == 1:
            where += self._pos
        elif whence == 2:
            where += len(self._view)
        self._pos = max(0, where)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        pass


class ViewBufferFile(BufferFile):
    """BufferFile whose sub-files are views of one decrypted buffer: one copy in memory, not three."""

    def __init__(self, buf: memoryview, name: str | None = None, onclose: Callable[..., Any] | None = None) -> None:
        self._buf = buf
        self._name = name
        self.file = _ViewFile(buf)
        self.onclose = onclose
        self.is_real = False
        self.is_closed = False

    def subset(self, position: int, length: int, name: str | None = None) -> ViewBufferFile:
        return ViewBufferFile(self._buf[position : position + length], name=name or self._name)


class MemoryTempStorage(RamStorage):
    """Temporary storage kept in memory (whoosh's own RamStorage spills to the system temp dir)."""

    def create_file(self, name: str, **kwargs: Any) -> StructFile:
        def keep(data: bytes) -> None:
            self.files[name] = data

        # the file object itself records its content: posting runs are closed via raw_file()
        buf = _SealingBuffer(keep)
        self.files[name] = b""
        return StructFile(buf, name=name)

    def delete_file(self, name: str) -> None:
        self.files.pop(name, None)

    def temp_storage(self, name: str | None = None) -> MemoryTempStorage:
        return MemoryTempStorage()


class SealedStorage(FileStorage):
    """FileStorage that seals each file (AES-256-GCM, AAD = index id + file name)."""

    supports_mmap = False

    def __init__(self, path: str | os.PathLike[str], key: bytes, index_id: str, readonly: bool = False) -> None:
        if len(key) != 32:
            raise ValueError("index key must be 32 bytes")
        super().__init__(os.fspath(path), supports_mmap=False, readonly=readonly)
        self._key = key
        self.index_id = index_id

    # -- helpers -------------------------------------------------------------------------------
    @property
    def where(self) -> str:
        return str(self.folder)

    def seal(self, name: str, data: bytes) -> bytes:
        return seal_bytes(self._key, self.index_id, name, data)

    def read_plain(self, name: str) -> bytes:
        """Verify and decrypt a whole file into memory.

        Large files are decrypted straight from a read-only map of the *sealed* file (the
        ciphertext, so this is not the whoosh mmap the class turns off): no second in-memory
        copy of the ciphertext, which matters for a 500 MB index at open.
        """
        with open(self._fpath(name), "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size < _MAP_MIN:
                return open_bytes(self._key, self.index_id, name, f.read(), self.where)
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                view = memoryview(mm)
                try:
                    return open_bytes(self._key, self.index_id, name, view, self.where)
                finally:
                    view.release()

    def write_plain(self, name: str, data: bytes) -> None:
        atomic_write(self._fpath(name), self.seal(name, data))

    def sweep(self) -> list[str]:
        """Remove leftovers of a crashed writer (our temp files, whoosh's temp TOC, temp dirs)."""
        removed = []
        for fname in os.listdir(self.folder):
            full = os.path.join(self.folder, fname)
            if fname.endswith(TMP_SUFFIX) or _WHOOSH_TOC_TMP.match(fname):
                os.unlink(full)
                removed.append(fname)
            elif fname.endswith(".tmp") and os.path.isdir(full):
                # a plain whoosh temp dir must never exist here; remove it if something made one
                import shutil

                shutil.rmtree(full, ignore_errors=True)
                removed.append(fname)
        return removed

    # -- whoosh Storage API --------------------------------------------------------------------
    def create_file(self, name: str, excl: bool = False, mode: str = "wb", **kwargs: Any) -> StructFile:
        if self.readonly:
            from whoosh.filedb.filestore import ReadOnlyError

            raise ReadOnlyError
        path = self._fpath(name)
        if excl and os.path.exists(path):
            raise FileExistsError(path)

        def write(data: bytes) -> None:
            self.write_plain(name, data)

        return StructFile(_SealingBuffer(write), name=name, **kwargs)

    def open_file(self, name: str, **kwargs: Any) -> StructFile:
        data = self.read_plain(name)
        return ViewBufferFile(memoryview(data), name=name, **kwargs)

    def file_length(self, name: str) -> int:
        # plaintext length: whoosh uses it to size reads
        return max(0, os.path.getsize(self._fpath(name)) - len(MAGIC) - NONCE_LEN - TAG_LEN)

    def rename_file(self, oldname: str, newname: str, safe: bool = False) -> None:
        if self.readonly:
            from whoosh.filedb.filestore import ReadOnlyError

            raise ReadOnlyError
        if safe and os.path.exists(self._fpath(newname)):
            raise NameError(f"File {newname!r} exists")
        # the name is bound in the AAD: re-seal under the new name, then drop the old file
        self.write_plain(newname, self.read_plain(oldname))
        os.remove(self._fpath(oldname))

    def temp_storage(self, name: str | None = None) -> MemoryTempStorage:
        return MemoryTempStorage()
