"""How a phone is named on screen, so two phones of one model never merge into one bar or row.

Charts group by label: two "Pixel 3 (virtual)" phones used to stack into one bar. A model
name alone when it is unique among the phones shown; the model plus a short serial when
two or more share it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable


def short_serial(serial: str) -> str:
    """The part of a serial that tells phones apart: ':PORT' for network phones, else the last 6."""
    if ":" in serial:
        return ":" + serial.rsplit(":", 1)[1]
    return serial[-6:]


def phone_label(model: str | None, serial: str, is_virtual: bool = False) -> str:
    label = model or serial
    return f"{label} (virtual)" if is_virtual else label


def unique_phone_labels(phones: Iterable[tuple[int, str | None, str, bool]]) -> dict[int, str]:
    """Labels per device id from (id, model, serial, is_virtual); shared names get ' · <serial>'."""
    phones = list(dict.fromkeys(phones))
    base = {pid: phone_label(model, serial, virtual) for pid, model, serial, virtual in phones}
    counts = Counter(base[pid] for pid in {p[0] for p in phones})
    labels = {}
    for pid, _model, serial, _virtual in phones:
        name = base[pid]
        labels[pid] = f"{name} · {short_serial(serial)}" if counts[name] > 1 else name
    # a short serial shared too (same port on two hosts): fall back to the device id
    seen = Counter(labels.values())
    return {pid: (f"{label} #{pid}" if seen[label] > 1 else label) for pid, label in labels.items()}
