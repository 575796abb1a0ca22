"""Shared fixtures for the zoo tests."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "tiny_segmenter.tflite"


@pytest.fixture(scope="session")
def synthetic_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("PIL")
    from models.synthetic import make_dataset

    return make_dataset(tmp_path_factory.mktemp("synth"), n=10, size=80, seed=1)
