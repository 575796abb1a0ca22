"""LR-ASPP on MobileNetV3 Large/Small (Howard et al. 2019, "Searching for MobileNetV3").

Why in the zoo: it is the segmentation head designed together with MobileNetV3
for phones, and a common modern baseline (torchvision ships it). The head is
cheap: a 1×1 conv branch gated by a global-pooled sigmoid branch (the paper's
large-kernel strided pooling is replaced by global pooling as in torchvision,
which keeps the graph resolution-independent), upsampled to 1/8 and summed with
a classifier on the 1/8 features. Backbone: output stride 16, last stage halved.
"""

from __future__ import annotations

import keras
from keras import layers

from models.nets.layers import HE, activation, conv_bn, resize
from models.nets.mobilenet import mobilenet_v3


def build_model(
    input_size: int = 512, variant: str = "large", num_classes: int = 21, head: int = 128
) -> keras.Model:
    inputs = keras.Input((input_size, input_size, 3), name="image")
    low, high = mobilenet_v3(inputs, variant=variant, output_stride=16)
    branch = conv_bn(high, head, 1)
    gate = layers.GlobalAveragePooling2D(keepdims=True)(high)
    gate = layers.Conv2D(head, 1, use_bias=False, kernel_initializer=HE)(gate)
    gate = activation(gate, "sigmoid")
    x = layers.Multiply()([branch, gate])
    x = resize(x, int(low.shape[1]), int(low.shape[2]))
    x = layers.Conv2D(num_classes, 1, kernel_initializer=HE)(x)
    low_cls = layers.Conv2D(num_classes, 1, kernel_initializer=HE)(low)
    x = layers.Add()([x, low_cls])
    x = resize(x, input_size, input_size)
    out = layers.Softmax(axis=-1, name="probs")(x)
    return keras.Model(inputs, out, name=f"lraspp_mnv3_{variant}_{input_size}")
