"""MobileNetV2 / V3 backbones written out (not ``keras.applications``).

Why our own: segmentation needs (a) dilated last stages for output stride 16,
(b) access to intermediate feature maps, and (c) He-initialised depthwise convs so
random-weight activations do not vanish (the applications models use Keras'
defaults, and V3 adds a Rescaling preprocessing layer we do not want on device).
"""

from __future__ import annotations

from keras import layers

from models.nets.layers import HE, RESIDUAL_GAMMA, KTensor, activation, conv_bn, dw_bn


def _make_divisible(v: float, divisor: int = 8) -> int:
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def inverted_residual(
    x: KTensor,
    hidden: int,
    out_ch: int,
    kernel: int = 3,
    stride: int = 1,
    dilation: int = 1,
    act: str = "relu6",
    se: bool = False,
) -> KTensor:
    in_ch = int(x.shape[-1])
    y = x
    if hidden != in_ch:
        y = conv_bn(y, hidden, 1, act=act)
    y = dw_bn(y, kernel, stride=stride, dilation=dilation, act=act)
    if se:
        y = squeeze_excite(y, _make_divisible(hidden / 4))
    residual = stride == 1 and in_ch == out_ch
    y = conv_bn(y, out_ch, 1, act=None, gamma=RESIDUAL_GAMMA if residual else 1.0)
    if residual:
        y = layers.Add()([x, y])
    return y


def squeeze_excite(x: KTensor, reduced: int) -> KTensor:
    ch = int(x.shape[-1])
    s = layers.GlobalAveragePooling2D(keepdims=True)(x)
    s = layers.Conv2D(reduced, 1, kernel_initializer=HE)(s)
    s = activation(s, "relu")
    s = layers.Conv2D(ch, 1, kernel_initializer=HE)(s)
    s = activation(s, "hsigmoid")
    return layers.Multiply()([x, s])


def mobilenet_v2(x: KTensor, alpha: float = 1.0, output_stride: int = 16) -> tuple[KTensor, KTensor]:
    """MobileNetV2 trunk without the 1280-channel head. Returns (stride-4 features, final features)."""
    # (expansion, channels, repeats, stride)
    cfg = [
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ]
    x = conv_bn(x, _make_divisible(32 * alpha), 3, stride=2, act="relu6")
    stride, dilation = 2, 1
    low = x
    for t, c, n, s in cfg:
        out = _make_divisible(c * alpha)
        for i in range(n):
            st = s if i == 0 else 1
            if st > 1 and stride >= output_stride:
                dilation *= st  # atrous instead of striding past the output stride
                st = 1
            elif st > 1:
                stride *= st
            hidden = _make_divisible(int(x.shape[-1]) * t) if t != 1 else int(x.shape[-1])
            x = inverted_residual(x, hidden, out, 3, stride=st, dilation=dilation if st == 1 else 1)
        if stride == 4 and c == 24:
            low = x
    return low, x


def mobilenet_v3(
    x: KTensor, variant: str = "large", output_stride: int = 16, reduce_tail: bool = True
) -> tuple[KTensor, KTensor]:
    """MobileNetV3 trunk (no classification head). Returns (stride-8 features, final features).

    As in the LR-ASPP paper, the last stage is dilated (output stride 16) and, with
    ``reduce_tail``, its channels halved.
    """
    r = 2 if reduce_tail else 1
    # (kernel, expansion_channels, out_channels, se, activation, stride)
    large = [
        (3, 16, 16, False, "relu", 1),
        (3, 64, 24, False, "relu", 2),
        (3, 72, 24, False, "relu", 1),
        (5, 72, 40, True, "relu", 2),
        (5, 120, 40, True, "relu", 1),
        (5, 120, 40, True, "relu", 1),
        (3, 240, 80, False, "hswish", 2),
        (3, 200, 80, False, "hswish", 1),
        (3, 184, 80, False, "hswish", 1),
        (3, 184, 80, False, "hswish", 1),
        (3, 480, 112, True, "hswish", 1),
        (3, 672, 112, True, "hswish", 1),
        (5, 672, 160 // r, True, "hswish", 2),
        (5, 960 // r, 160 // r, True, "hswish", 1),
        (5, 960 // r, 160 // r, True, "hswish", 1),
    ]
    small = [
        (3, 16, 16, True, "relu", 2),
        (3, 72, 24, False, "relu", 2),
        (3, 88, 24, False, "relu", 1),
        (5, 96, 40, True, "hswish", 2),
        (5, 240, 40, True, "hswish", 1),
        (5, 240, 40, True, "hswish", 1),
        (5, 120, 48, True, "hswish", 1),
        (5, 144, 48, True, "hswish", 1),
        (5, 288, 96 // r, True, "hswish", 2),
        (5, 576 // r, 96 // r, True, "hswish", 1),
        (5, 576 // r, 96 // r, True, "hswish", 1),
    ]
    cfg = large if variant == "large" else small
    x = conv_bn(x, 16, 3, stride=2, act="hswish")
    stride, dilation = 2, 1
    low = x
    for k, exp, out, se, act, s in cfg:
        st = s
        if st > 1 and stride >= output_stride:
            dilation *= st
            st = 1
        elif st > 1:
            stride *= st
        x = inverted_residual(x, exp, out, k, stride=st, dilation=dilation if st == 1 else 1, act=act, se=se)
        if stride == 8:
            low = x
    # 1×1 expansion conv of the last stage (960 / 576, halved with reduce_tail)
    x = conv_bn(x, 6 * int(x.shape[-1]), 1, act="hswish")
    return low, x
