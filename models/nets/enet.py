"""E-Net (Paszke et al. 2016) at 256² with max-unpooling from TFLite builtins only.

Why mask unpooling: the seed never shipped E-Net because true max-unpooling needs
argmax indices — ``tf.nn.max_pool_with_argmax`` has no TFLite builtin (it needs
Flex ops, which stock LiteRT cannot run), and MediaPipe's custom
``MaxUnpooling2D`` only runs under XNNPACK. Instead each downsampling bottleneck
records a mask ``x == nearest_up(maxpool(x))`` (MAX_POOL_2D,
RESIZE_NEAREST_NEIGHBOR, EQUAL, CAST) and the matching upsampling bottleneck
computes ``nearest_up(y) * mask`` (MUL). This equals true unpooling except on ties
inside a 2×2 window (e.g. several equal maxima), where the value is copied to
every tied position instead of one.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from models.nets.layers import HE, RESIDUAL_GAMMA, KTensor, activation, conv_bn, resize


class ChannelPad(layers.Layer):
    """Zero-pad the channel axis (E-Net's downsampling shortcut). Lowers to TFLite PAD."""

    def __init__(self, extra: int, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.extra = extra

    def call(self, x: KTensor) -> KTensor:
        return ops.pad(x, [[0, 0], [0, 0], [0, 0], [0, self.extra]])

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        c = input_shape[-1]
        return (*input_shape[:-1], None if c is None else c + self.extra)

    def get_config(self) -> dict[str, object]:
        return {**super().get_config(), "extra": self.extra}


def unpool_mask(x: KTensor) -> tuple[KTensor, KTensor]:
    """2×2 max-pool ``x``; return (pooled, float mask of the max positions)."""
    h, w = int(x.shape[1]), int(x.shape[2])
    pooled = layers.MaxPooling2D(2)(x)
    up = resize(pooled, h, w, "nearest")
    mask = ops.cast(ops.equal(x, up), "float32")
    return pooled, mask


def max_unpool(y: KTensor, mask: KTensor) -> KTensor:
    h, w = int(mask.shape[1]), int(mask.shape[2])
    return layers.Multiply()([resize(y, h, w, "nearest"), mask])


def _initial(x: KTensor) -> KTensor:
    conv = layers.Conv2D(13, 3, strides=2, padding="same", kernel_initializer=HE)(x)
    pool = layers.MaxPooling2D(2)(x)
    y = layers.Concatenate()([conv, pool])
    y = layers.BatchNormalization()(y)
    return activation(y, "prelu")


def _bottleneck(
    x: KTensor,
    out_ch: int,
    kind: str = "regular",
    dilation: int = 1,
    asymmetric: int = 0,
    dropout: float = 0.1,
) -> tuple[KTensor, KTensor | None]:
    """E-Net bottleneck. ``kind`` is regular | down. Returns (output, unpool mask or None)."""
    in_ch = int(x.shape[-1])
    internal = out_ch // 4
    mask = None
    if kind == "down":
        main, mask = unpool_mask(x)
        if out_ch > in_ch:
            main = ChannelPad(out_ch - in_ch)(main)
        y = conv_bn(x, internal, 2, stride=2, act="prelu")
    else:
        main = x
        y = conv_bn(x, internal, 1, act="prelu")
    if asymmetric:
        y = layers.Conv2D(internal, (asymmetric, 1), padding="same", use_bias=False, kernel_initializer=HE)(y)
        y = conv_bn(y, internal, (1, asymmetric), act="prelu")
    else:
        y = conv_bn(y, internal, 3, dilation=dilation, act="prelu")
    y = conv_bn(y, out_ch, 1, act=None, gamma=RESIDUAL_GAMMA)
    y = layers.SpatialDropout2D(dropout)(y)
    return activation(layers.Add()([main, y]), "prelu"), mask


def _up_bottleneck(x: KTensor, out_ch: int, mask: KTensor) -> KTensor:
    internal = out_ch // 4
    main = conv_bn(x, out_ch, 1, act=None)
    main = max_unpool(main, mask)
    y = conv_bn(x, internal, 1, act="relu")
    y = layers.Conv2DTranspose(internal, 3, strides=2, padding="same", use_bias=False, kernel_initializer=HE)(
        y
    )
    y = layers.BatchNormalization()(y)
    y = activation(y, "relu")
    y = conv_bn(y, out_ch, 1, act=None, gamma=RESIDUAL_GAMMA)
    return activation(layers.Add()([main, y]), "relu")


def build_model(input_size: int = 256, num_classes: int = 21) -> keras.Model:
    inputs = keras.Input((input_size, input_size, 3), name="image")
    x = _initial(inputs)  # 16 ch, 1/2
    x, mask1 = _bottleneck(x, 64, "down", dropout=0.01)  # 1/4
    for _ in range(4):
        x, _m = _bottleneck(x, 64, dropout=0.01)
    x, mask2 = _bottleneck(x, 128, "down")  # 1/8
    for _stage in (2, 3):
        for dil, asym in [(1, 0), (2, 0), (1, 5), (4, 0), (1, 0), (8, 0), (1, 5), (16, 0)]:
            x, _m = _bottleneck(x, 128, dilation=dil, asymmetric=asym)
    assert mask1 is not None and mask2 is not None
    x = _up_bottleneck(x, 64, mask2)  # 1/4
    x, _m = _bottleneck(x, 64)
    x, _m = _bottleneck(x, 64)
    x = _up_bottleneck(x, 16, mask1)  # 1/2
    x, _m = _bottleneck(x, 16)
    logits = layers.Conv2DTranspose(num_classes, 2, strides=2, padding="same", kernel_initializer=HE)(x)
    out = layers.Softmax(axis=-1, name="probs")(logits)
    return keras.Model(inputs, out, name=f"enet_{input_size}")
