"""The segmentation metric, checked with predictors whose right score is known.

No TensorFlow needed: uses the committed tiny fixture and the synthetic dataset.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models.evaluate import IGNORE, confusion_matrix, evaluate, list_samples, load_image, load_mask, scores
from tests.zoo.conftest import FIXTURE

pytest.importorskip("PIL")
K = 4


def _truth(dataset: Path) -> tuple[dict[bytes, np.ndarray], list[np.ndarray]]:
    """Map decoded image bytes → mask, and the list of val masks (read independently of evaluate)."""
    from PIL import Image

    table, masks = {}, []
    for sid in (dataset / "ImageSets" / "Segmentation" / "val.txt").read_text().split():
        img = np.asarray(Image.open(dataset / "JPEGImages" / f"{sid}.jpg").convert("RGB"))
        mask = np.asarray(Image.open(dataset / "SegmentationClass" / f"{sid}.png"))
        table[img.tobytes()] = mask
        masks.append(mask)
    return table, masks


def test_synthetic_dataset_layout(synthetic_dataset: Path) -> None:
    from PIL import Image

    val = (synthetic_dataset / "ImageSets" / "Segmentation" / "val.txt").read_text().split()
    train = (synthetic_dataset / "ImageSets" / "Segmentation" / "train.txt").read_text().split()
    assert len(val) == 5 and len(train) == 5 and not set(val) & set(train)
    with Image.open(synthetic_dataset / "SegmentationClass" / f"{val[0]}.png") as im:
        assert im.mode == "P"
    values = set()
    for _, m in list_samples(synthetic_dataset):
        values |= set(np.unique(load_mask(m)).tolist())
    assert values <= {0, 1, 2, 3, IGNORE}
    assert {0, IGNORE} <= values and len(values & {1, 2, 3}) >= 2


def test_perfect_predictor_scores_one_even_with_garbage_on_ignored_pixels(synthetic_dataset: Path) -> None:
    table, _ = _truth(synthetic_dataset)

    def perfect(image: np.ndarray) -> np.ndarray:
        mask = table[image.tobytes()]
        return np.where(mask == IGNORE, 1, mask)  # wrong class wherever the truth is "ignore"

    report = evaluate(None, synthetic_dataset, K, progress=False, predictor=perfect)
    assert report.images == 5
    assert report.miou == 1.0
    assert report.pixel_accuracy == 1.0
    present = [not np.isnan(v) for v in report.per_class_iou]
    assert all(v == 1.0 for v, p in zip(report.per_class_iou, present, strict=True) if p)


def test_constant_predictor_matches_arithmetic(synthetic_dataset: Path) -> None:
    _, masks = _truth(synthetic_dataset)
    valid = np.concatenate([m[m != IGNORE].ravel() for m in masks])
    n_total = valid.size
    counts = np.bincount(valid, minlength=K)
    classes_present = int((counts > 0).sum())
    # predicting background everywhere: IoU_0 = n_0 / N, IoU_c = 0 for other present classes
    expected_miou = (counts[0] / n_total) / classes_present
    expected_acc = counts[0] / n_total

    report = evaluate(
        None, synthetic_dataset, K, progress=False, predictor=lambda img: np.zeros(img.shape[:2], np.uint8)
    )
    assert report.pixels == n_total
    assert report.pixel_accuracy == pytest.approx(expected_acc, abs=1e-12)
    assert report.miou == pytest.approx(expected_miou, abs=1e-12)
    assert report.per_class_iou[0] == pytest.approx(counts[0] / n_total)
    for c in range(1, K):
        assert (report.per_class_iou[c] == 0.0) if counts[c] else np.isnan(report.per_class_iou[c])


def test_out_of_range_predictions_count_as_wrong() -> None:
    gt = np.array([[0, 1], [IGNORE, 1]], np.uint8)
    pred = np.array([[0, 7], [3, 1]], np.uint8)
    conf = confusion_matrix(gt, pred, 2)
    assert conf.sum() == 3  # ignore pixel excluded
    assert conf[1, 2] == 1  # class 1 predicted as 7 → out-of-range column
    iou, miou, acc = scores(conf)
    assert iou == [1.0, 0.5]
    assert miou == 0.75
    assert acc == pytest.approx(2 / 3)


def test_mask_class_beyond_num_classes_is_an_error() -> None:
    with pytest.raises(ValueError):
        confusion_matrix(np.array([[5]], np.uint8), np.array([[0]], np.uint8), 4)


def test_fixture_model_end_to_end(synthetic_dataset: Path) -> None:
    assert FIXTURE.stat().st_size < 300_000
    report = evaluate(FIXTURE, synthetic_dataset, progress=False)  # num_classes from the model
    assert len(report.per_class_iou) == K
    assert 0.0 <= report.miou <= 1.0 and 0.0 <= report.pixel_accuracy <= 1.0
    assert all(np.isnan(v) or 0.0 <= v <= 1.0 for v in report.per_class_iou)
    non_ignored = sum(int((load_mask(m) != IGNORE).sum()) for _, m in list_samples(synthetic_dataset))
    assert report.confusion.sum() == report.pixels == non_ignored
    # the LiteRT predictor returns labels at the annotation's resolution
    from models.evaluate import LiteRTPredictor

    img = load_image(list_samples(synthetic_dataset)[0][0])
    labels = LiteRTPredictor(FIXTURE)(img)
    assert labels.shape == img.shape[:2] and labels.max() < K


def test_cli_eval_and_make_dataset(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from models.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["make-dataset", str(tmp_path / "ds"), "--n", "4", "--size", "64"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["eval", str(FIXTURE), "--dataset", str(tmp_path / "ds"), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output[res.output.index("{") :])
    assert data["images"] == 2 and 0.0 <= data["miou"] <= 1.0
    res = runner.invoke(app, ["list", "--json"])
    assert res.exit_code == 0 and any(r["name"] == "enet_256" for r in json.loads(res.output))
