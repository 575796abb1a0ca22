"""Crafted .tflite uploads are refused or summarised in bounded time and size, in a child
process the API does not wait on with its own interpreter (timings: bench/hostile.py)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from contracts.tflite import TFLiteError, inspect_file, inspect_tflite
from tests.hostile.crafted import crafted, huge_dims, many_inputs, shared_operator_inputs


def test_a_tensor_with_100k_huge_dims_is_refused_for_its_rank_without_multiplying_them() -> None:
    t0 = time.thread_time()
    with pytest.raises(TFLiteError, match="at most 16"):
        inspect_tflite(huge_dims())
    assert time.thread_time() - t0 < 1.0  # CPU s, not wall: generous; 26 s when it multiplied


def test_100k_subgraph_inputs_are_refused_instead_of_stored() -> None:
    with pytest.raises(TFLiteError, match="more than 1024 inputs"):
        inspect_tflite(many_inputs())


def test_10k_operators_sharing_one_10k_input_vector_check_it_once() -> None:
    t0 = time.thread_time()
    info = inspect_tflite(shared_operator_inputs())
    assert info.op_count == 10_000
    assert time.thread_time() - t0 < 2.0  # CPU s: generous; 100M checks took 4.4 s


def test_dims_within_the_rank_limit_saturate_instead_of_growing_bignums() -> None:
    info = inspect_tflite(crafted(dims=[2**31 - 1] * 16))
    assert info.parameter_count == 1 << 62


def test_negative_dims_are_refused() -> None:
    with pytest.raises(TFLiteError, match="negative dimension"):
        inspect_tflite(crafted(dims=[1, -5]))


def test_inspection_in_a_child_process_answers_like_the_reader(tmp_path: Path) -> None:
    ok = tmp_path / "ok.tflite"
    ok.write_bytes(crafted())
    assert inspect_file(ok) == inspect_tflite(crafted())
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(huge_dims())
    with pytest.raises(TFLiteError, match="at most 16"):
        inspect_file(bad)
