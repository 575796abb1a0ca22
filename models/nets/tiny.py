"""Tiny segmenter used as a test fixture (well under 300 KB as fp32 TFLite).

Why: tests across the project (inspection, upload, device runs, metric) need a
real segmentation ``.tflite`` that is small enough to commit and fast to run,
built by the same zoo code (layers helpers + converter) as the real networks.
"""

from __future__ import annotations

import keras
from keras import layers

from models.nets.layers import classifier, conv_bn, dw_bn, resize


def build_model(input_size: int = 64, num_classes: int = 4) -> keras.Model:
    inputs = keras.Input((input_size, input_size, 3), name="image")
    x = conv_bn(inputs, 16, 3, stride=2)  # 32
    skip = x
    x = dw_bn(x, 3, stride=2)  # 16
    x = conv_bn(x, 32, 1)
    x = dw_bn(x, 3, dilation=2)
    x = conv_bn(x, 32, 1)
    x = resize(x, input_size // 2, input_size // 2)
    x = layers.Concatenate()([x, conv_bn(skip, 16, 1)])
    x = dw_bn(x, 3)
    x = conv_bn(x, 32, 1)
    out = classifier(x, num_classes, input_size, input_size)
    return keras.Model(inputs, out, name="tiny_segmenter")
