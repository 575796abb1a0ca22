"""The zoo registry: which networks exist, at which input size, and how to build them.

Why a plain table of entries with lazily imported builders: ``farm models list``
and the API must be able to enumerate the zoo without TensorFlow installed; only
``ZooEntry.build_keras`` imports Keras (through ``models.nets.<module>``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ZooEntry:
    name: str
    module: str  # under models.nets
    input_size: int
    description: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    seed_size_mb: float | None = None  # fp32 size of the seed project's model, if it had one
    num_classes: int = 21

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        return (1, self.input_size, self.input_size, 3)

    def build_keras(self, seed: int = 0) -> Any:
        """Build the Keras model with random weights (seeded, nothing downloaded)."""
        import keras

        keras.utils.set_random_seed(seed)
        mod = importlib.import_module(f"models.nets.{self.module}")
        return mod.build_model(input_size=self.input_size, num_classes=self.num_classes, **self.kwargs)


ZOO: dict[str, ZooEntry] = {
    e.name: e
    for e in [
        ZooEntry(
            "deeplabv3_mnv2_513",
            "deeplab",
            513,
            "DeepLab V3, MobileNetV2 depth 1.0, OS16, light ASPP (seed: DeepLab V3 CPU)",
            {"alpha": 1.0},
            seed_size_mb=8.8,
        ),
        ZooEntry(
            "deeplabv3_mnv2_257",
            "deeplab",
            257,
            "DeepLab V3, MobileNetV2 depth 0.5, OS16, light ASPP (seed: DeepLab V3 GPU)",
            {"alpha": 0.5},
            seed_size_mb=2.8,
        ),
        ZooEntry(
            "unet_224", "unet", 224, "U-Net, 4 levels, base 29 filters (seed: U-Net CPU)", seed_size_mb=25.4
        ),
        ZooEntry(
            "icnet_256",
            "icnet",
            256,
            "ICNet, half-width PSPNet50-style trunk (seed: IC-Net CPU)",
            seed_size_mb=27.1,
        ),
        ZooEntry("enet_256", "enet", 256, "E-Net with builtin-only mask max-unpooling (seed: TODO)"),
        ZooEntry(
            "lraspp_mnv3_large_512", "lraspp", 512, "LR-ASPP, MobileNetV3-Large, OS16", {"variant": "large"}
        ),
        ZooEntry(
            "lraspp_mnv3_small_512", "lraspp", 512, "LR-ASPP, MobileNetV3-Small, OS16", {"variant": "small"}
        ),
        ZooEntry("bisenetv2_512", "bisenetv2", 512, "BiSeNet V2 (detail + semantic paths, BGA)"),
    ]
}


def get(name: str) -> ZooEntry:
    try:
        return ZOO[name]
    except KeyError:
        raise KeyError(f"unknown zoo model {name!r}; known: {', '.join(ZOO)}") from None


def names() -> list[str]:
    return list(ZOO)
