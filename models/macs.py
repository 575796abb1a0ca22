"""Count multiply-accumulates (MACs) of a Keras model from its layers.

Why count ourselves: TFLite has no FLOP counter, and third-party profilers
disagree on conventions. Convention here: one MAC = one multiply + add of a
weight with an activation, batch 1. Counted: Conv2D (incl. dilated; grouped),
DepthwiseConv2D, Conv2DTranspose, Dense. NOT counted: bias adds, BatchNorm
(folded into convs by the converter), activations, pooling, resizes,
element-wise add/mul, softmax — these are memory-bound and small next to the
convolutions. Nested models are walked recursively.
"""

from __future__ import annotations

import math
from typing import Any


def _shape(t: Any) -> tuple[int, ...]:
    return tuple(int(d) if d is not None else 1 for d in t.shape)


def layer_macs(layer: Any) -> int:
    from keras import layers

    if isinstance(layer, layers.DepthwiseConv2D):
        out = _shape(layer.output)
        kh, kw = layer.kernel_size
        return out[1] * out[2] * kh * kw * out[3]  # out channels = in × depth_multiplier
    if isinstance(layer, layers.Conv2DTranspose):
        inp = _shape(layer.input)
        kh, kw = layer.kernel_size
        return inp[1] * inp[2] * kh * kw * inp[3] * layer.filters
    if isinstance(layer, layers.Conv2D):
        inp, out = _shape(layer.input), _shape(layer.output)
        kh, kw = layer.kernel_size
        return out[1] * out[2] * kh * kw * (inp[3] // layer.groups) * out[3]
    if isinstance(layer, layers.Dense):
        inp = _shape(layer.input)
        return math.prod(inp[1:-1]) * inp[-1] * layer.units
    return 0


def count_macs(model: Any) -> int:
    total = 0
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:  # nested Model / Sequential
            total += count_macs(layer)
        else:
            total += layer_macs(layer)
    return total
