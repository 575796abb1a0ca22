"""Bounding what a phone printed before it is kept, parsed or shipped.

Why: phone output is hostile input. 300 MB of output once grew a worker by 570 MB, was
stored whole in `runs.raw_output` and shipped by every job view. The first and the last
part of a benchmark's output carry everything worth reading (the parameters echo and the
timings), so the farm keeps a head and a tail and notes how much was cut.
"""

from __future__ import annotations

KEEP_BYTES = 256 * 1024  # kept from each end


def bound(text: str | None, keep: int = KEEP_BYTES) -> tuple[str | None, int]:
    """(head + marker + tail, size of the whole text in UTF-8 bytes). Linear in the text."""
    if text is None:
        return None, 0
    if len(text) <= 2 * keep:  # characters ≤ bytes: a cheap pre-check
        size = len(text.encode("utf-8", errors="replace"))
        if size <= 2 * keep:
            return text, size
    data = text.encode("utf-8", errors="replace")
    size = len(data)
    if size <= 2 * keep:
        return text, size
    head = data[:keep].decode("utf-8", errors="ignore")
    tail = data[-keep:].decode("utf-8", errors="ignore")
    cut = size - 2 * keep
    return f"{head}\n[... {cut} bytes of {size} omitted by the farm ...]\n{tail}", size


class BoundedBuffer:
    """Collects output as it is read, keeping only the head and the tail (for readers that stream)."""

    def __init__(self, keep: int = KEEP_BYTES) -> None:
        self.keep = keep
        self.head = bytearray()
        self.tail = bytearray()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        room = self.keep - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            if len(self.tail) > 2 * self.keep:
                del self.tail[: len(self.tail) - self.keep]

    def text(self) -> str:
        tail = bytes(self.tail[-self.keep :])
        cut = self.size - len(self.head) - len(tail)
        head = self.head.decode("utf-8", errors="replace")
        if cut <= 0:
            return (bytes(self.head) + tail).decode("utf-8", errors="replace")
        marker = f"\n[... {cut} bytes of {self.size} omitted by the farm ...]\n"
        return head + marker + tail.decode("utf-8", errors="ignore")
