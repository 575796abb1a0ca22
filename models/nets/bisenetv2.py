"""BiSeNet V2 (Yu et al. 2021) — a two-pathway real-time segmenter.

Why in the zoo: it represents the "bilateral" family (wide shallow detail path +
narrow deep semantic path, fused by guided aggregation) that dominates real-time
segmentation benchmarks, and it is built only from ops phones accelerate well
(conv, depthwise conv, pooling, sigmoid, resize). Training-only auxiliary heads
(booster) are omitted.
"""

from __future__ import annotations

import keras
from keras import layers

from models.nets.layers import HE, RESIDUAL_GAMMA, KTensor, activation, conv_bn, depthwise_init, dw_bn, resize


def _detail(x: KTensor) -> KTensor:
    for ch, n in ((64, 2), (64, 3), (128, 3)):
        for i in range(n):
            x = conv_bn(x, ch, 3, stride=2 if i == 0 else 1)
    return x  # 1/8, 128 ch


def _stem(x: KTensor, ch: int = 16) -> KTensor:
    x = conv_bn(x, ch, 3, stride=2)
    a = conv_bn(x, ch // 2, 1)
    a = conv_bn(a, ch, 3, stride=2)
    b = layers.MaxPooling2D(3, strides=2, padding="same")(x)
    return conv_bn(layers.Concatenate()([a, b]), ch, 3)  # 1/4


def _gather_expand(x: KTensor, out_ch: int, stride: int = 1, expand: int = 6) -> KTensor:
    in_ch = int(x.shape[-1])
    y = conv_bn(x, in_ch, 3)
    if stride == 2:
        y = dw_bn(y, 3, stride=2, act=None)
        y = layers.DepthwiseConv2D(
            3,
            padding="same",
            depth_multiplier=expand,
            use_bias=False,
            depthwise_initializer=depthwise_init(3),
        )(y)
        y = layers.BatchNormalization()(y)
        shortcut = dw_bn(x, 3, stride=2, act=None)
        shortcut = conv_bn(shortcut, out_ch, 1, act=None)
    else:
        y = layers.DepthwiseConv2D(
            3,
            padding="same",
            depth_multiplier=expand,
            use_bias=False,
            depthwise_initializer=depthwise_init(3),
        )(y)
        y = layers.BatchNormalization()(y)
        shortcut = x
    y = conv_bn(y, out_ch, 1, act=None, gamma=RESIDUAL_GAMMA)
    return activation(layers.Add()([shortcut, y]), "relu")


def _context_embedding(x: KTensor) -> KTensor:
    ch = int(x.shape[-1])
    g = layers.GlobalAveragePooling2D(keepdims=True)(x)
    g = layers.BatchNormalization()(g)
    g = conv_bn(g, ch, 1)
    y = layers.Add()([x, g])  # broadcast over H×W
    return conv_bn(y, ch, 3)


def _semantic(x: KTensor) -> KTensor:
    x = _stem(x)
    for ch, n in ((32, 2), (64, 2), (128, 4)):
        x = _gather_expand(x, ch, stride=2)
        for _ in range(n - 1):
            x = _gather_expand(x, ch)
    return _context_embedding(x)  # 1/32, 128 ch


def _aggregate(detail: KTensor, semantic: KTensor) -> KTensor:
    """Bilateral guided aggregation."""
    ch = int(detail.shape[-1])
    h, w = int(detail.shape[1]), int(detail.shape[2])
    d_keep = dw_bn(detail, 3, act=None)
    d_keep = layers.Conv2D(ch, 1, kernel_initializer=HE)(d_keep)
    d_down = conv_bn(detail, ch, 3, stride=2, act=None)
    d_down = layers.AveragePooling2D(3, strides=2, padding="same")(d_down)  # 1/32
    s_up = conv_bn(semantic, ch, 3, act=None)
    s_up = activation(resize(s_up, h, w), "sigmoid")
    s_keep = dw_bn(semantic, 3, act=None)
    s_keep = layers.Conv2D(ch, 1, kernel_initializer=HE)(s_keep)
    s_keep = activation(s_keep, "sigmoid")
    left = layers.Multiply()([d_keep, s_up])
    right = layers.Multiply()([d_down, s_keep])
    right = resize(right, h, w)
    return conv_bn(layers.Add()([left, right]), ch, 3)


def build_model(input_size: int = 512, num_classes: int = 21) -> keras.Model:
    inputs = keras.Input((input_size, input_size, 3), name="image")
    x = _aggregate(_detail(inputs), _semantic(inputs))
    x = conv_bn(x, 1024, 3)
    x = layers.Dropout(0.1)(x)
    x = layers.Conv2D(num_classes, 1, kernel_initializer=HE)(x)
    x = resize(x, input_size, input_size)
    out = layers.Softmax(axis=-1, name="probs")(x)
    return keras.Model(inputs, out, name=f"bisenetv2_{input_size}")
