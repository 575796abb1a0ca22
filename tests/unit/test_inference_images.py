"""Image → input tensor (the model card's or the request's scaling), output bytes → mask at the image's size."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from server.api.errors import ProblemError
from server.inferences import images, render

INPUT = {"name": "image", "shape": [1, 4, 4, 3], "dtype": "FLOAT32"}


def _png(colour: tuple[int, int, int], size: tuple[int, int] = (8, 6)) -> io.BytesIO:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="PNG")
    buf.seek(0)
    return buf


def test_zoo_models_get_the_model_cards_minus_one_to_one_scaling() -> None:
    img, _ = images.read_image(_png((255, 0, 127)))
    prep = images.resolve_preprocessing(None, "deeplabv3_mnv2_257", "FLOAT32")
    assert (prep.range, prep.source) == ("-1,1", "model card")
    x = images.to_tensor(img, INPUT, prep)
    assert x.shape == (1, 4, 4, 3) and x.dtype == np.float32
    assert x[0, 0, 0].tolist() == pytest.approx([1.0, -1.0, 127 / 127.5 - 1])


def test_the_request_can_give_mean_and_std_and_uint8_models_get_pixels() -> None:
    img, _ = images.read_image(_png((100, 100, 100)))
    prep = images.resolve_preprocessing({"mean": [100.0], "std": [2.0]}, "zoo", "FLOAT32")
    assert prep.source == "request"
    assert images.to_tensor(img, INPUT, prep).max() == 0.0
    quant = INPUT | {"dtype": "UINT8"}
    x = images.to_tensor(img, quant, images.resolve_preprocessing(None, None, "UINT8"))
    assert x.dtype == np.uint8 and int(x[0, 0, 0, 0]) == 100


def test_non_image_input_shapes_are_refused_with_the_shape_named() -> None:
    with pytest.raises(ProblemError) as err:
        images.check_input([{"name": "tokens", "shape": [1, 128], "dtype": "INT32"}])
    assert err.value.status == 422 and "[1, 128]" in err.value.detail


def test_output_bytes_split_in_order_and_the_mask_is_drawn_at_the_image_size() -> None:
    outputs = [
        {"name": "logits", "shape": [1, 2, 2, 3], "dtype": "FLOAT32"},
        {"name": "score", "shape": [1], "dtype": "INT32"},
    ]
    logits = np.zeros((1, 2, 2, 3), np.float32)
    logits[0, 0, 0, 2] = logits[0, 1, 1, 1] = 1.0
    data = logits.tobytes() + np.array([7], np.int32).tobytes()
    assert render.expected_size(outputs) == len(data)
    arrays = render.split_outputs(data, outputs)
    assert arrays[1].tolist() == [7]
    mask = render.mask_of(arrays)
    assert mask is not None and mask.tolist() == [[2, 0], [0, 1]]
    img = render.mask_image(mask, (40, 30))
    assert img.size == (40, 30) and img.getpixel((0, 0)) == 2 and img.getpixel((39, 29)) == 1
    over = render.overlay_image(Image.new("RGB", (40, 30), (10, 10, 10)), img)
    assert over.size == (40, 30) and over.getpixel((39, 0)) == (10, 10, 10)  # background untouched
    with pytest.raises(ValueError):
        render.split_outputs(data[:-1], outputs)
