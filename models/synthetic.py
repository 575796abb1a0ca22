"""A synthetic VOC-layout segmentation dataset where the right answer is known.

Why: the metric code must be tested without downloading PASCAL VOC, and random
weight networks predict garbage, so we need data whose masks are exact by
construction. Each image is a noisy background with a few filled shapes
(rectangle = class 1, ellipse = class 2, triangle = class 3), drawn in a
class-specific colour; the mask is drawn with the same geometry, and a band of
255 ("ignore", as VOC marks object borders) is drawn around every shape outline
plus a frame around the image.

Layout written (as PASCAL VOC 2012):
``JPEGImages/<id>.jpg``, ``SegmentationClass/<id>.png`` (palette PNG, index =
class), ``ImageSets/Segmentation/{train,val}.txt``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from contracts.numerics import voc_palette

IGNORE = 255
CLASS_NAMES = ("background", "rectangle", "ellipse", "triangle")
COLOURS = {1: (220, 40, 40), 2: (40, 200, 60), 3: (40, 70, 230)}


def make_sample(
    rng: np.random.Generator, size: int = 96, shapes: int = 3, border: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """One (RGB uint8 H×W×3, mask uint8 H×W) pair."""
    from PIL import Image, ImageDraw

    bg = rng.integers(90, 140, size=(size, size, 3), dtype=np.uint8)
    img = Image.fromarray(bg, "RGB")
    mask = Image.new("L", (size, size), 0)
    di, dm = ImageDraw.Draw(img), ImageDraw.Draw(mask)
    for _ in range(shapes):
        cls = int(rng.integers(1, 4))
        w, h = (int(v) for v in rng.integers(size // 6, size // 2, size=2))
        x0, y0 = int(rng.integers(0, size - w)), int(rng.integers(0, size - h))
        box = (x0, y0, x0 + w, y0 + h)
        colour = COLOURS[cls]
        if cls == 1:
            di.rectangle(box, fill=colour)
            dm.rectangle(box, fill=cls, outline=IGNORE, width=border)
        elif cls == 2:
            di.ellipse(box, fill=colour)
            dm.ellipse(box, fill=cls, outline=IGNORE, width=border)
        else:
            tri = [(x0, y0 + h), (x0 + w, y0 + h), (x0 + w // 2, y0)]
            di.polygon(tri, fill=colour)
            dm.polygon(tri, fill=cls, outline=IGNORE, width=border)
    m = np.array(mask)
    m[:border, :] = IGNORE
    m[-border:, :] = IGNORE
    m[:, :border] = IGNORE
    m[:, -border:] = IGNORE
    return np.array(img), m


def make_dataset(root: Path, n: int = 12, size: int = 96, seed: int = 0, val_fraction: float = 0.5) -> Path:
    """Write ``n`` samples under ``root`` in VOC layout; return ``root``."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    (root / "JPEGImages").mkdir(parents=True, exist_ok=True)
    (root / "SegmentationClass").mkdir(parents=True, exist_ok=True)
    (root / "ImageSets" / "Segmentation").mkdir(parents=True, exist_ok=True)
    ids = [f"synth_{i:04d}" for i in range(n)]
    pal = voc_palette()
    for sid in ids:
        img, m = make_sample(rng, size)
        Image.fromarray(img).save(root / "JPEGImages" / f"{sid}.jpg", quality=95)
        p = Image.fromarray(m, "P")
        p.putpalette(pal)
        p.save(root / "SegmentationClass" / f"{sid}.png")
    n_val = max(1, round(n * val_fraction)) if n else 0
    val, train = ids[:n_val], ids[n_val:]
    (root / "ImageSets" / "Segmentation" / "val.txt").write_text("".join(f"{i}\n" for i in val))
    (root / "ImageSets" / "Segmentation" / "train.txt").write_text("".join(f"{i}\n" for i in train))
    return root
