"""Small Keras building blocks shared by the zoo networks.

Why: every network here is built from random weights, and the defaults matter.
Keras' initialisers on depthwise convolutions (Glorot, and even ``he_normal``,
which takes kh·kw·channels as the fan-in) make the activations of a deep random
MobileNet fade to zero (uniform, meaningless outputs), so regular convolutions
use He init and depthwise ones He init with the true fan-in (kh·kw). Resizes go through ``keras.layers.Resizing`` because it lowers to
the TFLite builtins RESIZE_BILINEAR / RESIZE_NEAREST_NEIGHBOR, whereas
``UpSampling2D`` lowers to RESHAPE+TILE, which XNNPACK does not fully accelerate.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import layers

KTensor = Any  # Keras symbolic tensor; Keras ships no type stubs

HE = "he_normal"
# Scale of the last BatchNorm in a residual branch. With gamma=1 every residual add
# roughly doubles the activation variance; after E-Net's 27 adds the random net's
# activations reach ~3e4, next to float16's 65504 limit (GPU delegates in fp16 would
# overflow). A small initial gamma (as in SkipInit / zero-gamma ResNets, but not
# zero, so the branches still contribute) keeps them in a realistic range.
RESIDUAL_GAMMA = 0.2


def depthwise_init(kernel: int | tuple[int, int]) -> keras.initializers.Initializer:
    """He init with the *true* depthwise fan-in (kh·kw).

    Keras computes a depthwise kernel's fan-in as kh·kw·channels, so ``he_normal``
    shrinks the weights by √channels and a random MobileNet's activations decay
    ~2× per block until the output is uniform.
    """
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    return keras.initializers.RandomNormal(stddev=(2.0 / (kh * kw)) ** 0.5)


def conv_bn(
    x: KTensor,
    filters: int,
    kernel: int | tuple[int, int] = 3,
    stride: int = 1,
    dilation: int = 1,
    act: str | None = "relu",
    name: str | None = None,
    use_bias: bool = False,
    gamma: float = 1.0,
) -> KTensor:
    """Conv2D + BatchNorm + activation (BN folds into the conv on conversion).

    ``gamma`` initialises the BN scale; residual branches use ``RESIDUAL_GAMMA``.
    """
    x = layers.Conv2D(
        filters,
        kernel,
        strides=stride,
        dilation_rate=dilation,
        padding="same",
        use_bias=use_bias,
        kernel_initializer=HE,
        name=None if name is None else f"{name}_conv",
    )(x)
    x = layers.BatchNormalization(
        gamma_initializer=keras.initializers.Constant(gamma), name=None if name is None else f"{name}_bn"
    )(x)
    return activation(x, act)


def dw_bn(
    x: KTensor,
    kernel: int | tuple[int, int] = 3,
    stride: int = 1,
    dilation: int = 1,
    act: str | None = "relu",
    name: str | None = None,
) -> KTensor:
    """DepthwiseConv2D + BatchNorm + activation, He-initialised."""
    x = layers.DepthwiseConv2D(
        kernel,
        strides=stride,
        dilation_rate=dilation,
        padding="same",
        use_bias=False,
        depthwise_initializer=depthwise_init(kernel),
        name=None if name is None else f"{name}_dw",
    )(x)
    x = layers.BatchNormalization(name=None if name is None else f"{name}_dwbn")(x)
    return activation(x, act)


def activation(x: KTensor, act: str | None) -> KTensor:
    """Activations that map to single TFLite builtins (RELU, RELU6, HARD_SWISH, ...)."""
    if act is None:
        return x
    if act == "relu":
        return layers.ReLU()(x)
    if act == "relu6":
        return layers.ReLU(max_value=6.0)(x)
    if act == "hswish":
        return layers.Activation("hard_swish")(x)
    if act == "hsigmoid":
        return layers.Activation("hard_sigmoid")(x)
    if act == "prelu":
        return layers.PReLU(shared_axes=[1, 2])(x)
    return layers.Activation(act)(x)


def resize(x: KTensor, height: int, width: int, method: str = "bilinear") -> KTensor:
    """Resize to a fixed size: RESIZE_BILINEAR / RESIZE_NEAREST_NEIGHBOR in TFLite."""
    return layers.Resizing(height, width, interpolation=method)(x)


def classifier(x: KTensor, num_classes: int, height: int, width: int, name: str = "logits") -> KTensor:
    """1×1 conv to class logits, bilinear resize to input size, softmax over classes."""
    x = layers.Conv2D(num_classes, 1, padding="same", kernel_initializer=HE, name=name)(x)
    if tuple(x.shape[1:3]) != (height, width):
        x = resize(x, height, width)
    return layers.Softmax(axis=-1, name="probs")(x)


def model(inputs: KTensor, outputs: KTensor, name: str) -> keras.Model:
    return keras.Model(inputs, outputs, name=name)
