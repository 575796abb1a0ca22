"""DeepLab V3 with a MobileNetV2 backbone (the seed's "CPU" 513² and "GPU" 257² models).

Why this shape: it mirrors the TF-models ``deeplabv3_mnv2_pascal`` exports the seed
benchmarked — output stride 16 via atrous convolution and the "light" ASPP used
with MobileNet backbones (image pooling branch + 1×1 branch, no atrous 3×3
branches), 21 PASCAL VOC classes. The 257² variant halves the backbone width
(depth multiplier 0.5), as the seed's GPU model did.
"""

from __future__ import annotations

import keras
from keras import layers

from models.nets.layers import classifier, conv_bn, resize
from models.nets.mobilenet import mobilenet_v2


def build_model(input_size: int = 513, alpha: float = 1.0, num_classes: int = 21) -> keras.Model:
    inputs = keras.Input((input_size, input_size, 3), name="image")
    _, x = mobilenet_v2(inputs, alpha=alpha, output_stride=16)
    h, w = int(x.shape[1]), int(x.shape[2])
    pool = layers.GlobalAveragePooling2D(keepdims=True)(x)
    pool = conv_bn(pool, 256, 1)
    pool = resize(pool, h, w)
    branch = conv_bn(x, 256, 1)
    x = layers.Concatenate()([pool, branch])
    x = conv_bn(x, 256, 1)
    out = classifier(x, num_classes, input_size, input_size)
    return keras.Model(inputs, out, name=f"deeplabv3_mnv2_{input_size}")
