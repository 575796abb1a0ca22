"""ICNet (Zhao et al. 2018) at 256², sized like the seed's 27.1 MB model.

Why this structure: ICNet's cascade is what makes it fast — the heavy
PSPNet50-style trunk only runs on a 1/4-resolution image, while the 1/2 branch
stops after conv3_1 and the full-resolution branch is three light strided convs;
cascade feature fusion (CFF) merges them. As in the reference Caffe model, the
1/4 branch is the 1/2 branch's conv3_1 output downsampled (so the shared layers
run once). The trunk is a half-width ResNet-50 (bottleneck widths 32..256,
dilated stages 4–5), which gives the seed's size with random weights.
"""

from __future__ import annotations

import keras
from keras import layers

from models.nets.layers import RESIDUAL_GAMMA, KTensor, activation, classifier, conv_bn, resize


def _bottleneck(x: KTensor, width: int, out_ch: int, stride: int = 1, dilation: int = 1) -> KTensor:
    shortcut = x
    if stride != 1 or int(x.shape[-1]) != out_ch:
        shortcut = conv_bn(x, out_ch, 1, stride=stride, act=None)
    y = conv_bn(x, width, 1, stride=stride)
    y = conv_bn(y, width, 3, dilation=dilation)
    y = conv_bn(y, out_ch, 1, act=None, gamma=RESIDUAL_GAMMA)
    return activation(layers.Add()([shortcut, y]), "relu")


def _stage(
    x: KTensor, blocks: int, width: int, stride: int = 1, dilation: int = 1, start: int = 0
) -> KTensor:
    for i in range(start, blocks):
        x = _bottleneck(x, width, width * 4, stride if i == 0 else 1, dilation)
    return x


def _pyramid_pool(x: KTensor, bins: tuple[int, ...] = (1, 2, 4)) -> KTensor:
    """ICNet's PPM: average-pool to each bin grid, upsample, and *sum* (not concat)."""
    h, w = int(x.shape[1]), int(x.shape[2])
    out = x
    for b in bins:
        if b >= min(h, w):
            continue
        p = layers.AveragePooling2D((h // b, w // b))(x)
        out = layers.Add()([out, resize(p, h, w)])
    return out


def _cff(low: KTensor, high: KTensor, out_ch: int) -> KTensor:
    """Cascade feature fusion: upsample low-res ×2, dilated 3×3 conv, plus projected high-res."""
    h, w = int(high.shape[1]), int(high.shape[2])
    low = resize(low, h, w)
    low = conv_bn(low, out_ch, 3, dilation=2, act=None)
    high = conv_bn(high, out_ch, 1, act=None)
    return activation(layers.Add()([low, high]), "relu")


def build_model(input_size: int = 256, width: int = 32, num_classes: int = 21) -> keras.Model:
    inputs = keras.Input((input_size, input_size, 3), name="image")
    s = input_size
    # 1/2-resolution branch: shared trunk up to conv3_1 (output 1/16 of the input)
    x2 = resize(inputs, s // 2, s // 2)
    x = conv_bn(x2, width, 3, stride=2)
    x = conv_bn(x, width, 3)
    x = conv_bn(x, width * 2, 3)
    x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
    x = _stage(x, 3, width)  # conv2
    conv3_1 = _bottleneck(x, width * 2, width * 8, stride=2)
    # 1/4-resolution branch: downsample conv3_1, finish the trunk (dilated), pyramid pooling
    x = resize(conv3_1, s // 32, s // 32)
    x = _stage(x, 4, width * 2, start=1)  # conv3_2..conv3_4
    x = _stage(x, 6, width * 4, dilation=2)  # conv4
    x = _stage(x, 3, width * 8, dilation=4)  # conv5
    x = _pyramid_pool(x)
    sub4 = conv_bn(x, width * 8, 1)
    # full-resolution branch: three light strided convs → 1/8
    y = conv_bn(inputs, width, 3, stride=2)
    y = conv_bn(y, width, 3, stride=2)
    sub1 = conv_bn(y, width * 2, 3, stride=2)
    x = _cff(sub4, conv3_1, width * 4)  # 1/16
    x = _cff(x, sub1, width * 4)  # 1/8
    x = resize(x, s // 4, s // 4)
    out = classifier(x, num_classes, input_size, input_size)
    return keras.Model(inputs, out, name=f"icnet_{input_size}")
