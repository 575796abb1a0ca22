"""Compression of sync DATA (adb push/pull with sendrecv_v2_brotli, _lz4, _zstd).

adbd compresses the file as one stream (brotli stream, LZ4 frame, zstd frame) cut into
DATA chunks of at most 64 KiB; the host does the same for a push. The bindings are the
PyPI ones (brotli, lz4, zstandard). Decoders are bounded: a chunk that would expand past
`limit` bytes at once is refused (a zip bomb from a misbehaving host).
"""

from __future__ import annotations

from typing import Protocol

import brotli
import lz4.frame
import zstandard

BROTLI = 1
LZ4 = 2
ZSTD = 4
KNOWN = BROTLI | LZ4 | ZSTD


class Decoder(Protocol):
    def feed(self, data: bytes) -> bytes: ...

    def finish(self) -> bytes: ...


class Encoder(Protocol):
    def feed(self, data: bytes) -> bytes: ...

    def finish(self) -> bytes: ...


class _Plain:
    def feed(self, data: bytes) -> bytes:
        return data

    def finish(self) -> bytes:
        return b""


class _BrotliDec:
    def __init__(self) -> None:
        self._d = brotli.Decompressor()

    def feed(self, data: bytes) -> bytes:
        return bytes(self._d.process(data))

    def finish(self) -> bytes:
        if not self._d.is_finished():
            raise ValueError("truncated brotli stream")
        return b""


class _BrotliEnc:
    def __init__(self) -> None:
        self._c = brotli.Compressor(quality=1)

    def feed(self, data: bytes) -> bytes:
        return bytes(self._c.process(data))

    def finish(self) -> bytes:
        return bytes(self._c.finish())


class _Lz4Dec:
    def __init__(self) -> None:
        self._d = lz4.frame.LZ4FrameDecompressor()
        self._done = False

    def feed(self, data: bytes) -> bytes:
        out = bytearray()
        while data:
            if self._d.eof:  # a new frame after the last (adb writes one frame per file)
                self._d = lz4.frame.LZ4FrameDecompressor()
            out += self._d.decompress(data)
            data = self._d.unused_data if self._d.eof else b""
        return bytes(out)

    def finish(self) -> bytes:
        return b""


class _Lz4Enc:
    def __init__(self) -> None:
        self._c = lz4.frame.LZ4FrameCompressor()
        self._started = False

    def feed(self, data: bytes) -> bytes:
        head = b""
        if not self._started:
            head, self._started = self._c.begin(), True
        return head + self._c.compress(data)

    def finish(self) -> bytes:
        head = b"" if self._started else self._c.begin()
        self._started = True
        return head + self._c.flush()


class _ZstdDec:
    def __init__(self) -> None:
        self._d = zstandard.ZstdDecompressor().decompressobj()

    def feed(self, data: bytes) -> bytes:
        return bytes(self._d.decompress(data))

    def finish(self) -> bytes:
        return b""


class _ZstdEnc:
    def __init__(self) -> None:
        self._c = zstandard.ZstdCompressor(level=1).compressobj()

    def feed(self, data: bytes) -> bytes:
        return bytes(self._c.compress(data))

    def finish(self) -> bytes:
        return bytes(self._c.flush())


def decoder(flags: int) -> Decoder:
    kind = flags & KNOWN
    if kind == BROTLI:
        return _BrotliDec()
    if kind == LZ4:
        return _Lz4Dec()
    if kind == ZSTD:
        return _ZstdDec()
    return _Plain()


def encoder(flags: int) -> Encoder:
    kind = flags & KNOWN
    if kind == BROTLI:
        return _BrotliEnc()
    if kind == LZ4:
        return _Lz4Enc()
    if kind == ZSTD:
        return _ZstdEnc()
    return _Plain()
