"""The user's image, bounded before it is decoded, and turned into the model's raw input tensor.

Why the checks come first: an image is outside input. A 30,000 × 30,000 PNG is a few
hundred kilobytes on the wire and 2.7 GB once decoded, so the byte size is capped while
reading and the pixel count is read from the header (Pillow opens lazily) and refused
before a single row is decoded. Only PNG and JPEG are accepted.

Preprocessing (the seed app's): resize to the model's input (bilinear, aspect ratio not
kept, as the app did), then normalize. For zoo models the model card says how: the zoo's
networks take ``pixel / 127.5 - 1`` (``[-1, 1]``, see models/evaluate.py). Otherwise the request
says (``mean``/``std`` per channel, or a range ``[0, 1]``, ``[-1, 1]``, ``[0, 255]``); integer
inputs get the pixel values (uint8) or the values shifted by 128 (int8), or quantized with
the tensor's scale and zero point when it has them. Layout NHWC, batch 1.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Any, BinaryIO, Literal

import numpy as np
from PIL import Image

from server.api.errors import ProblemError

MAX_IMAGE_BYTES = 32 * 1024 * 1024
MAX_PIXELS = 40_000_000  # ~ a 48 MP phone photo is 8000 × 6000 = 48 M: take 40 M as the ceiling
MAX_SIDE = 16_384
FORMATS = ("PNG", "JPEG")
Range = Literal["0,1", "-1,1", "0,255"]
ZOO_CARD: dict[str, Any] = {"range": "-1,1", "layout": "NHWC"}


@dataclass(frozen=True)
class Preprocessing:
    """How pixels become the input tensor (resolved: what was actually done)."""

    range: str | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    source: str = "request"  # request, model card, default

    def as_dict(self) -> dict[str, Any]:
        return {
            "range": self.range,
            "mean": list(self.mean) if self.mean else None,
            "std": list(self.std) if self.std else None,
            "layout": "NHWC",
            "resize": "bilinear, aspect ratio not kept",
            "source": self.source,
        }


def read_image(stream: BinaryIO) -> tuple[Image.Image, bytes]:
    """The decoded RGB image and the bytes as uploaded; 413/422 problems for anything else."""
    data = stream.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise ProblemError(413, "Image too large", f"The image is larger than {MAX_IMAGE_BYTES >> 20} MiB.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=list(FORMATS))  # reads the header only
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own guard fired while reading the header: still nothing decoded
        raise _too_large(*(_png_size(data) or (0, 0)), str(exc)) from None
    except (OSError, SyntaxError, ValueError):
        raise ProblemError(
            422, "Not an image", "The file is not a PNG or JPEG image: send the picture itself (PNG or JPEG)."
        ) from None
    w, h = img.size
    if w < 1 or h < 1 or w > MAX_SIDE or h > MAX_SIDE or w * h > MAX_PIXELS:
        raise _too_large(w, h)
    try:
        img.load()
        rgb = img.convert("RGB")
    except (OSError, SyntaxError, ValueError) as exc:
        raise ProblemError(422, "Broken image", f"The image could not be decoded: {exc}") from None
    return rgb, data


def _png_size(data: bytes) -> tuple[int, int] | None:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return None


def _too_large(w: int, h: int, why: str = "") -> ProblemError:
    size = f"{w} × {h} pixels" if w and h else why or "too many pixels"
    return ProblemError(
        413,
        "Image too large",
        f"The image is {size}; the farm decodes at most {MAX_PIXELS // 1_000_000} megapixels and "
        f"{MAX_SIDE} pixels a side. It was refused before decoding: scale it down first.",
    )


def resolve_preprocessing(
    requested: dict[str, Any] | None, zoo_name: str | None, input_dtype: str
) -> Preprocessing:
    if requested and any(requested.get(k) is not None for k in ("range", "mean", "std")):
        mean = requested.get("mean")
        std = requested.get("std")
        return Preprocessing(
            range=requested.get("range"),
            mean=tuple(float(x) for x in mean) if mean is not None else None,
            std=tuple(float(x) for x in std) if std is not None else None,
            source="request",
        )
    if zoo_name:
        return Preprocessing(range=ZOO_CARD["range"], source="model card")
    if input_dtype.upper() == "FLOAT32" or input_dtype.upper() == "FLOAT16":
        return Preprocessing(range="0,1", source="default")
    return Preprocessing(range="0,255", source="default")


def _scaled(pixels: np.ndarray, prep: Preprocessing) -> np.ndarray:
    x = pixels.astype(np.float32)
    if prep.mean is not None or prep.std is not None:
        mean = np.asarray(prep.mean or (0.0,), dtype=np.float32)
        std = np.asarray(prep.std or (1.0,), dtype=np.float32)
        return (x - mean) / std
    if prep.range == "0,1":
        return x / 255.0
    if prep.range == "-1,1":
        return x / 127.5 - 1.0
    return x


def to_tensor(img: Image.Image, input_info: dict[str, Any], prep: Preprocessing) -> np.ndarray:
    """The (1, H, W, C) tensor for the model's input, in its dtype."""
    shape = [int(d) for d in input_info["shape"]]
    _, h, w, c = shape
    resized = img.convert("L" if c == 1 else "RGB").resize((w, h), Image.Resampling.BILINEAR)
    pixels = np.asarray(resized, dtype=np.uint8).reshape(h, w, c)
    dtype = str(input_info["dtype"]).upper()
    if dtype in ("FLOAT32", "FLOAT16"):
        x = _scaled(pixels, prep)
        return x.astype(np.float32 if dtype == "FLOAT32" else np.float16).reshape(shape)
    scale, zero = input_info.get("scale"), input_info.get("zero_point")
    info = np.iinfo(np.uint8 if dtype == "UINT8" else np.int8)
    q: np.ndarray
    if scale:
        q = np.round(_scaled(pixels, prep) / float(scale) + float(zero or 0))
    elif dtype == "INT8":
        q = pixels.astype(np.int16) - 128
    else:
        q = pixels.astype(np.int16)
    return np.clip(q, info.min, info.max).astype(np.uint8 if dtype == "UINT8" else np.int8).reshape(shape)


def check_input(inputs: list[dict[str, Any]]) -> dict[str, Any]:
    """The one image input of the model, or a 422 saying why the model cannot take an image."""
    if len(inputs) != 1:
        raise ProblemError(
            422,
            "Model does not take one image",
            f"The model has {len(inputs)} inputs ({', '.join(i['name'] for i in inputs)}); an inference "
            "feeds one image, so the model needs exactly one input of shape [1, H, W, C].",
        )
    inp = inputs[0]
    shape = inp["shape"]
    if len(shape) != 4 or shape[0] != 1 or shape[3] not in (1, 3) or min(shape[1:3]) < 1:
        raise ProblemError(
            422,
            "Model does not take one image",
            f"The model's input {inp['name']!r} has shape {shape}; an image input is [1, H, W, 1 or 3] (NHWC).",
        )
    if str(inp["dtype"]).upper() not in ("FLOAT32", "FLOAT16", "UINT8", "INT8"):
        raise ProblemError(
            422,
            "Model does not take one image",
            f"The model's input type {inp['dtype']} is not an image type.",
        )
    return dict(inp)
