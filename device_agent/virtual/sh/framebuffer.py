"""The phone's screen as `framebuffer:` (adb screencap's old path) and `screencap` give it.

A small dark screen with a lighter status bar: enough bytes, in the right wire formats,
for tools that grab a screenshot; the pixels mean nothing.
"""

from __future__ import annotations

import struct
import zlib

WIDTH, HEIGHT = 108, 234


def _pixels() -> bytes:
    bar = bytes((0x30, 0x30, 0x30, 0xFF)) * WIDTH
    body = bytes((0x10, 0x10, 0x18, 0xFF)) * WIDTH
    return bar * 8 + body * (HEIGHT - 8)


def framebuffer_service_bytes() -> bytes:
    """fb header v2 (version, bpp, colorspace, size, w, h, then RGBA offsets/lengths) + pixels."""
    pixels = _pixels()
    header = struct.pack("<14I", 2, 32, 0, len(pixels), WIDTH, HEIGHT, 0, 8, 16, 8, 8, 8, 24, 8)
    return header + pixels


def raw() -> bytes:
    """`screencap` without -p: width, height, format (1 = RGBA_8888), colorspace, pixels."""
    return struct.pack("<4I", WIDTH, HEIGHT, 1, 0) + _pixels()


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    px = _pixels()
    rows = b"".join(b"\0" + px[y * WIDTH * 4 : (y + 1) * WIDTH * 4] for y in range(HEIGHT))
    ihdr = struct.pack(">IIBBBBB", WIDTH, HEIGHT, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
