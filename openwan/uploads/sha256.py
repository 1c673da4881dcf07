"""A SHA-256 whose running state can be saved in the database and resumed by another process.

Why: a tus upload staged in S3 goes to whichever API task the load balancer picks, PATCH by
PATCH, and OpenWan needs the sha256 of the whole file (duplicates are found by it). Python's
``hashlib`` objects cannot be serialised, and the bytes of an unfinished S3 multipart upload
cannot be read back to hash them again. The options were:

- hash in memory only, and when another task takes over, read the whole object back from S3
  after completing it: the last PATCH of a 50 GiB upload would wait minutes (past the load
  balancer's idle timeout), and with two tasks and no stickiness that is every upload;
- keep a second copy of every byte somewhere readable: twice the writes;
- save the hash's running state. SHA-256's state is eight 32-bit words, the byte count and
  the bytes of an unfinished 64-byte block; OpenSSL's low-level ``SHA256_CTX`` (a public struct
  in ``openssl/sha.h``) holds exactly that.

OpenWan does the last: it hashes with ``SHA256_Update`` of the libcrypto that ``hashlib``
itself uses (same speed; ctypes releases the GIL, so hashing overlaps the network), and
saves the state after the last S3 part (under 200 characters) on the upload's row. A task that
takes over restores it and hashes only the small tail object it must read anyway. The cost:
a dependency on OpenSSL's low-level SHA-256 functions, deprecated since OpenSSL 3.0 but
present in every 3.x; :func:`available` says whether this libcrypto has them, and the S3
path refuses to start an upload without them rather than produce a wrong hash.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache


class _Ctx(ctypes.Structure):
    # openssl/sha.h: SHA256state_st
    _fields_ = [("h", ctypes.c_uint32 * 8), ("Nl", ctypes.c_uint32), ("Nh", ctypes.c_uint32),
                ("data", ctypes.c_uint8 * 64), ("num", ctypes.c_uint), ("md_len", ctypes.c_uint)]


@cache
def _libcrypto() -> ctypes.CDLL | None:
    for name in (ctypes.util.find_library("crypto"), "libcrypto.so.3", "libcrypto.so"):
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        if all(hasattr(lib, f) for f in ("SHA256_Init", "SHA256_Update", "SHA256_Final")):
            lib.SHA256_Update.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
            return lib
    return None


def available() -> bool:
    return _libcrypto() is not None


class ResumableSha256:
    """``hashlib.sha256`` with :meth:`state` / :meth:`resume`."""

    def __init__(self) -> None:
        lib = _libcrypto()
        if lib is None:
            raise RuntimeError("this OpenSSL has no SHA256_Init: resumable hashing is unavailable")
        self._lib = lib
        self._ctx = _Ctx()
        lib.SHA256_Init(ctypes.byref(self._ctx))

    def update(self, data: bytes) -> None:
        self._lib.SHA256_Update(ctypes.byref(self._ctx), data, len(data))

    def copy(self) -> ResumableSha256:
        other = ResumableSha256()
        ctypes.memmove(ctypes.byref(other._ctx), ctypes.byref(self._ctx), ctypes.sizeof(_Ctx))
        return other

    @property
    def size(self) -> int:
        """Bytes hashed so far."""
        return ((self._ctx.Nh << 32) | self._ctx.Nl) // 8

    def digest(self) -> bytes:
        out = (ctypes.c_uint8 * 32)()
        self._lib.SHA256_Final(out, ctypes.byref(self.copy()._ctx))
        return bytes(out)

    def hexdigest(self) -> str:
        return self.digest().hex()

    def state(self) -> str:
        """``h0..h7`` (64 hex digits), ``:``, bytes hashed, ``:``, the unfinished block (hex).
        Spelled out word by word, so that it does not depend on the struct's byte order."""
        words = "".join(f"{w:08x}" for w in self._ctx.h)
        pending = bytes(self._ctx.data[: self._ctx.num]).hex()
        return f"{words}:{self.size}:{pending}"

    @classmethod
    def resume(cls, state: str) -> ResumableSha256:
        words, size, pending = state.split(":")
        hashed = int(size)
        block = bytes.fromhex(pending)
        if len(words) != 64 or len(block) != hashed % 64:
            raise ValueError("not a saved SHA-256 state")
        sha = cls()
        ctx = sha._ctx
        for i in range(8):
            ctx.h[i] = int(words[8 * i: 8 * i + 8], 16)
        bits = hashed * 8
        ctx.Nl, ctx.Nh = bits & 0xFFFFFFFF, bits >> 32
        ctypes.memmove(ctx.data, block, len(block))
        ctx.num = len(block)
        return sha
