"""U-Net (Ronneberger et al. 2015) at 224², sized like the seed's 25.4 MB model.

Why these numbers: the seed's Keras U-Net (image-segmentation-keras) is not
specified beyond its size; four down/up levels with two 3×3 conv+BN+ReLU per
level and a base width of 29 filters lands at the same fp32 TFLite size
(~6.4 M parameters). The decoder uses 2×2 transposed convolutions (TFLite
TRANSPOSE_CONV) as in the paper, with "same" padding so skips align.
"""

from __future__ import annotations

import keras
from keras import layers

from models.nets.layers import HE, KTensor, classifier, conv_bn


def _double_conv(x: KTensor, filters: int) -> KTensor:
    return conv_bn(conv_bn(x, filters, 3), filters, 3)


def build_model(input_size: int = 224, base: int = 29, depth: int = 4, num_classes: int = 21) -> keras.Model:
    inputs = keras.Input((input_size, input_size, 3), name="image")
    x = inputs
    skips = []
    for level in range(depth):
        x = _double_conv(x, base * 2**level)
        skips.append(x)
        x = layers.MaxPooling2D(2)(x)
    x = _double_conv(x, base * 2**depth)
    for level in reversed(range(depth)):
        f = base * 2**level
        x = layers.Conv2DTranspose(f, 2, strides=2, padding="same", kernel_initializer=HE)(x)
        x = layers.Concatenate()([skips[level], x])
        x = _double_conv(x, f)
    out = classifier(x, num_classes, input_size, input_size)
    return keras.Model(inputs, out, name=f"unet_{input_size}")
