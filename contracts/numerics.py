"""Does a delegate change the answer? A delegate's output against the CPU's, on the same phone.

Why in contracts/: the server computes it for the API and pages, and any other side (CLI,
worker) must compute the same numbers the same way; it is pure numpy, no I/O.

For every output tensor: the largest and the mean absolute difference. For a segmentation
output (N, H, W, C) with C > 1 classes (or integer class maps (N, H, W) / (N, H, W, 1)): the
share of pixels whose class (argmax) agrees and the mIoU between the two class maps, taking
the CPU map as the reference and averaging over the classes present in either map. A run
whose pixel agreement is below the threshold (default 99 %) is a ``numerics_mismatch``; for
outputs without classes the mean absolute difference relative to the CPU output's range is
used instead (agreement = 1 - that share).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

DEFAULT_THRESHOLD = 0.99


@dataclass(frozen=True)
class Numerics:
    max_abs_diff: float
    mean_abs_diff: float
    pixel_agreement: float | None  # share of pixels with the same class; None without classes
    miou: float | None
    agreement: float  # what the threshold is compared with
    threshold: float
    bit_exact: bool

    @property
    def mismatch(self) -> bool:
        return self.agreement < self.threshold

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"numerics_mismatch": self.mismatch}


def class_map(output: np.ndarray) -> np.ndarray | None:
    """(H, W) class ids of a segmentation output, None when the output is not spatial."""
    a = np.asarray(output)
    if a.ndim == 4 and a.shape[0] == 1:
        a = a[0]
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
        return a.astype(np.int64) if a.dtype.kind in "iu" else None
    if a.ndim == 3 and a.shape[-1] > 1 and min(a.shape[:2]) > 1:
        return np.argmax(a, axis=-1)
    if a.ndim == 2 and a.dtype.kind in "iu" and min(a.shape) > 1:
        return a.astype(np.int64)
    if a.ndim == 3 and a.shape[0] == 1 and a.dtype.kind in "iu":  # (1, H, W) class ids
        return a[0].astype(np.int64)
    return None


def miou(reference: np.ndarray, other: np.ndarray) -> float:
    """Mean IoU over the classes present in either map (the reference plays ground truth)."""
    ref = reference.ravel()
    oth = other.ravel()
    classes = np.union1d(np.unique(ref), np.unique(oth))
    if classes.size > 4096:  # not class ids; refuse to build a huge table
        return float("nan")
    ious = []
    for c in classes:
        r, o = ref == c, oth == c
        union = np.count_nonzero(r | o)
        if union:
            ious.append(np.count_nonzero(r & o) / union)
    return float(np.mean(ious)) if ious else 1.0


def compare(cpu: np.ndarray, other: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> Numerics:
    """One output tensor of a delegate against the same tensor from the CPU run."""
    a = np.asarray(cpu)
    b = np.asarray(other)
    if a.shape != b.shape:
        raise ValueError(f"output shapes differ: {a.shape} vs {b.shape}")
    diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
    max_abs = float(diff.max()) if diff.size else 0.0
    mean_abs = float(diff.mean()) if diff.size else 0.0
    ca, cb = class_map(a), class_map(b)
    if ca is not None and cb is not None:
        agree = float(np.mean(ca == cb)) if ca.size else 1.0
        return Numerics(max_abs, mean_abs, agree, miou(ca, cb), agree, threshold, bool(max_abs == 0.0))
    span = float(a.max() - a.min()) if a.size else 0.0
    rel = mean_abs / span if span > 0 else (0.0 if mean_abs == 0 else 1.0)
    return Numerics(max_abs, mean_abs, None, None, 1.0 - rel, threshold, bool(max_abs == 0.0))
