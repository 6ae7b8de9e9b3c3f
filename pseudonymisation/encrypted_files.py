"""Files encrypted at rest in fixed-size chunks, readable with random access.

For uploads kept only until their import ends: written as they arrive (never a plaintext copy on
disk), read back by the import as a seekable binary stream (ZIP readers seek). Each chunk is
AES-GCM under the scope's data key, with the file's id, the chunk's index and whether it is the
last chunk as associated data — so chunks cannot be reordered, dropped, moved between files or
the file cut short without failing loudly.

Layout: header (format 1 byte | key version 4 bytes | chunk size 4 bytes | nonce prefix 8
bytes), then for each chunk: nonce suffix (4-byte index) is implied, ciphertext+tag.
"""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pseudonymisation.errors import DecryptionFailed
from pseudonymisation.keys import Keyring

FORMAT = 1
CHUNK = 1 << 20
TAG = 16
_HEADER = struct.Struct(">BII8s")


def _aad(file_id: str, index: int, last: bool) -> bytes:
    return f"file|{file_id}|{index}|{int(last)}".encode()


class EncryptedFileWriter:
    """Append plaintext; chunks are sealed as they fill. Call close() to seal the last chunk."""

    def __init__(self, path: Path, keyring: Keyring, file_id: str, chunk_size: int = CHUNK):
        self.path, self.file_id, self.chunk_size = Path(path), file_id, chunk_size
        self._aead = AESGCM(keyring.key())
        self._prefix = os.urandom(8)
        self._buffer = bytearray()
        self._index = 0
        self.size = 0
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._out = os.fdopen(fd, "wb")
        self._out.write(_HEADER.pack(FORMAT, keyring.current, chunk_size, self._prefix))

    def write(self, data: bytes) -> None:
        self._buffer += data
        self.size += len(data)
        while len(self._buffer) > self.chunk_size:  # keep at least one byte back for the last chunk
            self._seal(bytes(self._buffer[: self.chunk_size]), last=False)
            del self._buffer[: self.chunk_size]

    def _seal(self, plaintext: bytes, *, last: bool) -> None:
        nonce = self._prefix + self._index.to_bytes(4, "big")
        self._out.write(self._aead.encrypt(nonce, plaintext, _aad(self.file_id, self._index, last)))
        self._index += 1

    def close(self) -> None:
        if self._out.closed:
            return
        self._seal(bytes(self._buffer), last=True)
        self._buffer.clear()
        self._out.close()


class EncryptedFileReader(io.RawIOBase):
    """A seekable, read-only view of the plaintext. Decrypts one chunk at a time."""

    def __init__(self, path: Path, keyring: Keyring, file_id: str):
        super().__init__()
        self._file = open(path, "rb")  # noqa: SIM115 - closed in close()
        fmt, version, self._chunk, prefix = _HEADER.unpack(self._file.read(_HEADER.size))
        if fmt != FORMAT:
            raise DecryptionFailed(f"Unknown encrypted file format {fmt}.")
        self._aead, self._prefix, self._file_id = AESGCM(keyring.key(version)), prefix, file_id
        stored = os.fstat(self._file.fileno()).st_size - _HEADER.size
        self._chunks = -(-stored // (self._chunk + TAG)) if stored else 0
        if self._chunks == 0:
            raise DecryptionFailed("The encrypted file is cut short.")
        last_len = stored - (self._chunks - 1) * (self._chunk + TAG) - TAG
        self._size = (self._chunks - 1) * self._chunk + last_len
        self._pos = 0
        self._cache: tuple[int, bytes] | None = None

    def _plain(self, index: int) -> bytes:
        if self._cache and self._cache[0] == index:
            return self._cache[1]
        self._file.seek(_HEADER.size + index * (self._chunk + TAG))
        sealed = self._file.read(self._chunk + TAG)
        last = index == self._chunks - 1
        try:
            plain = self._aead.decrypt(self._prefix + index.to_bytes(4, "big"), sealed, _aad(self._file_id, index, last))
        except InvalidTag:
            raise DecryptionFailed(
                "An encrypted upload does not decrypt: it was altered, cut short or belongs to another file."
            ) from None
        self._cache = (index, plain)
        return plain

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:
        if self._pos >= self._size:
            return 0
        index, offset = divmod(self._pos, self._chunk)
        data = self._plain(index)[offset : offset + len(buffer)]
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._file.close()
            self._cache = None
        super().close()

    @property
    def size(self) -> int:
        return self._size
