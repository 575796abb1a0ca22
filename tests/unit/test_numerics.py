"""Delegate-vs-CPU numerics: differences, pixel agreement, mIoU, the mismatch flag."""

from __future__ import annotations

import numpy as np
import pytest

from contracts.numerics import class_map, compare, miou


def _logits(classes: np.ndarray, k: int = 4) -> np.ndarray:
    out = np.zeros((1, *classes.shape, k), dtype=np.float32)
    np.put_along_axis(out[0], classes[..., None], 1.0, axis=-1)
    return out


def test_identical_outputs_are_bit_exact_and_agree_fully() -> None:
    a = _logits(np.arange(64).reshape(8, 8) % 4)
    n = compare(a, a.copy())
    assert (n.bit_exact, n.pixel_agreement, n.miou, n.mismatch) == (True, 1.0, 1.0, False)


def test_fp16_rounding_changes_values_but_not_classes() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(1, 16, 16, 5)).astype(np.float32)
    b = a.astype(np.float16).astype(np.float32)
    n = compare(a, b)
    assert not n.bit_exact and 0 < n.max_abs_diff < 0.01
    assert n.pixel_agreement is not None and n.pixel_agreement >= 0.99 and not n.mismatch


def test_a_changed_answer_below_the_threshold_is_a_mismatch() -> None:
    ref = np.zeros((10, 10), dtype=np.int64)
    other = ref.copy()
    other[:2] = 1  # 20 % of the pixels change class
    n = compare(_logits(ref), _logits(other))
    assert n.pixel_agreement == pytest.approx(0.8) and n.mismatch
    assert n.miou == pytest.approx((0.8 + 0.0) / 2)
    assert n.as_dict()["numerics_mismatch"] is True
    assert not compare(_logits(ref), _logits(other), threshold=0.75).mismatch


def test_class_maps_from_logits_and_from_class_ids() -> None:
    for out in (
        np.zeros((1, 4, 4, 3), np.float32),
        np.zeros((1, 4, 4), np.int32),
        np.zeros((1, 4, 4, 1), np.int64),
    ):
        m = class_map(out)
        assert m is not None and m.shape == (4, 4)
    assert class_map(np.zeros((1, 10), np.float32)) is None  # a classifier: no mask
    assert miou(np.array([0, 0, 1]), np.array([0, 0, 1])) == 1.0


def test_outputs_without_classes_use_the_relative_mean_difference() -> None:
    a = np.linspace(0, 1, 10, dtype=np.float32).reshape(1, 10)
    n = compare(a, a + 0.05)
    assert n.pixel_agreement is None and n.agreement == pytest.approx(0.95) and n.mismatch
    with pytest.raises(ValueError, match="shapes differ"):
        compare(a, a[:, :5])
