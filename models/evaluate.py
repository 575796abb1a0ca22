"""Segmentation quality (mIoU, pixel accuracy) of a ``.tflite`` model on the host.

Why on the host: the farm measures *speed* on phones; quality does not depend on
the phone (up to delegate numerics), so it is measured once here with LiteRT on
a VOC-layout dataset and stored next to the timings.

Choices (documented because they change the numbers):

* **Compared at the ground-truth resolution.** The image is resized (bilinear) to
  the model's input, the argmax label map is resized back with nearest neighbour
  to the annotation's size, and scored there — as the PASCAL VOC benchmark does.
  Scores of models with different input sizes are therefore comparable, and the
  255 "ignore" band is excluded exactly as annotated.
* **Input scaling** for float models: ``pixel / 127.5 - 1`` (the MobileNet /
  DeepLab convention); uint8/int8-input models get raw pixels.
* **mIoU** is the mean over classes that occur in the ground truth or the
  predictions of the evaluated split (a class absent from both has no IoU: NaN,
  and is left out). Predictions ≥ ``num_classes`` are counted as wrong for the
  true class (an extra "out of range" column in the confusion matrix).

The predictor is pluggable: any ``Callable[[np.ndarray], np.ndarray]`` mapping an
RGB uint8 H×W×3 image to an H×W integer label map; the LiteRT model is the
default. Tests use it with predictors whose correct score is known.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

IGNORE = 255
Predictor = Callable[[np.ndarray], np.ndarray]


@dataclass
class EvalReport:
    per_class_iou: list[float]  # NaN where a class is in neither ground truth nor prediction
    miou: float
    pixel_accuracy: float
    images: int
    pixels: int = 0  # non-ignored pixels scored
    confusion: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.int64), repr=False)
    # confusion[t, p]: true class t predicted as p; last column = prediction out of range

    def to_dict(self) -> dict[str, Any]:
        def clean(v: float) -> float | None:
            return None if math.isnan(v) else float(v)

        return {
            "per_class_iou": [clean(v) for v in self.per_class_iou],
            "miou": clean(self.miou),
            "pixel_accuracy": clean(self.pixel_accuracy),
            "images": self.images,
            "pixels": self.pixels,
        }


class LiteRTPredictor:
    """Run a segmentation ``.tflite`` (NHWC image in, NHWC class scores out) with LiteRT."""

    def __init__(self, model_path: Path, num_threads: int | None = None) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(model_path), num_threads=num_threads)
        self.interpreter.allocate_tensors()
        self.inp = self.interpreter.get_input_details()[0]
        self.out = self.interpreter.get_output_details()[0]
        _, self.height, self.width, _ = (int(d) for d in self.inp["shape"])
        self.num_classes = int(self.out["shape"][-1])

    def __call__(self, image: np.ndarray) -> np.ndarray:
        from PIL import Image

        h, w = image.shape[:2]
        resized = np.asarray(
            Image.fromarray(image).resize((self.width, self.height), Image.Resampling.BILINEAR)
        )
        dtype = self.inp["dtype"]
        x = resized.astype(np.float32) / 127.5 - 1.0 if dtype == np.float32 else resized.astype(dtype)
        self.interpreter.set_tensor(self.inp["index"], x[None])
        self.interpreter.invoke()
        labels = np.argmax(self.interpreter.get_tensor(self.out["index"])[0], axis=-1).astype(np.uint8)
        return np.asarray(Image.fromarray(labels).resize((w, h), Image.Resampling.NEAREST))


def list_samples(dataset_dir: Path, split: str = "val") -> list[tuple[Path, Path]]:
    """(image, mask) pairs: ids from ``ImageSets/Segmentation/<split>.txt`` if present, else all masks."""
    split_file = dataset_dir / "ImageSets" / "Segmentation" / f"{split}.txt"
    if split_file.exists():
        ids = [line.strip() for line in split_file.read_text().splitlines() if line.strip()]
    else:
        ids = sorted(p.stem for p in (dataset_dir / "SegmentationClass").glob("*.png"))
    pairs = [
        (dataset_dir / "JPEGImages" / f"{i}.jpg", dataset_dir / "SegmentationClass" / f"{i}.png") for i in ids
    ]
    missing = [str(p) for pair in pairs for p in pair if not p.exists()]
    if missing:
        raise FileNotFoundError(f"{len(missing)} dataset files missing, e.g. {missing[0]}")
    return pairs


def load_image(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def load_mask(path: Path) -> np.ndarray:
    """Palette PNG → class indices (the palette index *is* the class, as in VOC)."""
    from PIL import Image

    with Image.open(path) as im:
        if im.mode not in ("P", "L"):
            raise ValueError(f"{path}: expected a palette or greyscale PNG, got mode {im.mode}")
        return np.asarray(im)


def confusion_matrix(gt: np.ndarray, pred: np.ndarray, num_classes: int) -> np.ndarray:
    """(K, K+1) counts over non-ignored pixels; column K collects predictions ≥ K."""
    if gt.shape != pred.shape:
        raise ValueError(f"prediction shape {pred.shape} != mask shape {gt.shape}")
    valid = gt != IGNORE
    t = gt[valid].astype(np.int64)
    if t.size and t.max() >= num_classes:
        raise ValueError(f"mask has class {int(t.max())} but num_classes={num_classes}")
    p = pred[valid].astype(np.int64)
    p = np.where((p < 0) | (p >= num_classes), num_classes, p)
    return np.bincount(t * (num_classes + 1) + p, minlength=num_classes * (num_classes + 1)).reshape(
        num_classes, num_classes + 1
    )


def scores(conf: np.ndarray) -> tuple[list[float], float, float]:
    """Per-class IoU, mIoU (NaN-skipping mean), pixel accuracy from a (K, K+1) confusion matrix."""
    k = conf.shape[0]
    tp = np.diag(conf[:, :k]).astype(np.float64)
    gt_count = conf.sum(axis=1).astype(np.float64)
    pred_count = conf[:, :k].sum(axis=0).astype(np.float64)
    union = gt_count + pred_count - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, tp / union, np.nan)
    total = conf.sum()
    miou = float(np.nanmean(iou)) if np.any(~np.isnan(iou)) else math.nan
    acc = float(tp.sum() / total) if total else math.nan
    return [float(v) for v in iou], miou, acc


def evaluate(
    model_path: Path | str | None,
    dataset_dir: Path | str,
    num_classes: int | None = None,
    progress: bool = True,
    predictor: Predictor | None = None,
    split: str = "val",
    samples: Sequence[tuple[Path, Path]] | None = None,
) -> EvalReport:
    """Score ``predictor`` (default: LiteRT on ``model_path``) on a VOC-layout dataset.

    ``num_classes`` defaults to the model's output channels.
    """
    if predictor is None:
        if model_path is None:
            raise ValueError("give model_path or predictor")
        lite = LiteRTPredictor(Path(model_path))
        predictor = lite
        num_classes = num_classes or lite.num_classes
    if not num_classes:
        raise ValueError("num_classes is required with a custom predictor")
    pairs = list(samples) if samples is not None else list_samples(Path(dataset_dir), split)
    conf = np.zeros((num_classes, num_classes + 1), np.int64)

    def step(img_path: Path, mask_path: Path) -> None:
        nonlocal conf
        gt = load_mask(mask_path)
        pred = np.asarray(predictor(load_image(img_path)))
        conf += confusion_matrix(gt, pred, num_classes)

    if progress:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(
            TextColumn("[bold]evaluating"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            transient=True,
        ) as bar:
            task = bar.add_task("eval", total=len(pairs))
            for img_path, mask_path in pairs:
                step(img_path, mask_path)
                bar.advance(task)
    else:
        for img_path, mask_path in pairs:
            step(img_path, mask_path)
    iou, miou, acc = scores(conf)
    return EvalReport(iou, miou, acc, images=len(pairs), pixels=int(conf.sum()), confusion=conf)
