"""From the bytes benchmark_model wrote to a mask and an overlay at the image's own size.

``--output_filepath`` holds every output tensor's raw bytes, in output order, concatenated;
the model's output list (shapes, dtypes, from the farm's flatbuffer reader) splits them.
The first output with a spatial class layout gives the mask (argmax over classes, or the
class ids themselves); the mask is drawn with the PASCAL VOC palette, resized to the image
with nearest neighbour (classes are not blended), and blended onto the image for the overlay.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image

from contracts.numerics import class_map
from models.synthetic import voc_palette

DTYPES = {
    "FLOAT32": np.float32,
    "FLOAT16": np.float16,
    "INT32": np.int32,
    "INT64": np.int64,
    "UINT8": np.uint8,
    "INT8": np.int8,
    "INT16": np.int16,
    "BOOL": np.bool_,
}
ALPHA = 0.5


def expected_size(outputs: list[dict[str, Any]]) -> int | None:
    """Bytes the output file must hold; None when a shape or type is unknown."""
    total = 0
    for o in outputs:
        dtype = DTYPES.get(str(o["dtype"]).upper())
        if dtype is None or any(int(d) < 0 for d in o["shape"]):
            return None
        total += int(np.prod(o["shape"])) * np.dtype(dtype).itemsize
    return total


def split_outputs(data: bytes, outputs: list[dict[str, Any]]) -> list[np.ndarray]:
    arrays, offset = [], 0
    for o in outputs:
        dtype = np.dtype(DTYPES[str(o["dtype"]).upper()])
        n = int(np.prod(o["shape"]))
        chunk = data[offset : offset + n * dtype.itemsize]
        if len(chunk) != n * dtype.itemsize:
            raise ValueError("the output file is shorter than the model's outputs")
        arrays.append(np.frombuffer(chunk, dtype=dtype).reshape(o["shape"]))
        offset += n * dtype.itemsize
    return arrays


def mask_of(arrays: list[np.ndarray]) -> np.ndarray | None:
    for a in arrays:
        m = class_map(a)
        if m is not None:
            return m
    return None


def mask_image(mask: np.ndarray, size: tuple[int, int]) -> Image.Image:
    img = Image.fromarray(np.clip(mask, 0, 255).astype(np.uint8), mode="P")
    img.putpalette(voc_palette())
    return img.resize(size, Image.Resampling.NEAREST)


def overlay_image(image: Image.Image, mask: Image.Image) -> Image.Image:
    colours = mask.convert("RGB")
    blended = Image.blend(image.convert("RGB"), colours, ALPHA)
    background = np.asarray(mask) == 0  # keep the photo untouched where the class is background
    out = np.asarray(blended).copy()
    out[background] = np.asarray(image.convert("RGB"))[background]
    return Image.fromarray(out)


def png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
