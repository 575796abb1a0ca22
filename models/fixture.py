"""Remake the tiny test fixture ``tests/fixtures/tiny_segmenter.tflite``.

Why: the fixture is committed so that tests without TensorFlow can use a real
segmentation model; this module is the single recipe that produces it, so it can
be regenerated (``python -m models.fixture`` or ``farm models fixture``) when the
zoo code changes. Seeds are fixed so the weights are reproducible for a given
TensorFlow version.
"""

from __future__ import annotations

import sys
from pathlib import Path

FIXTURE_PATH = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "tiny_segmenter.tflite"
FIXTURE_INPUT = 64
FIXTURE_CLASSES = 4  # matches models.synthetic's default (background + 3 shapes)


def make_fixture(out: Path = FIXTURE_PATH, seed: int = 0) -> Path:
    """Build the tiny segmenter, convert it (fp32, builtins only) and write it to ``out``."""
    import keras

    from models.convert import to_tflite
    from models.nets import tiny

    keras.utils.set_random_seed(seed)
    model = tiny.build_model(FIXTURE_INPUT, FIXTURE_CLASSES)
    data = to_tflite(model, "fp32")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return out


FALLBACK_FIXTURE_PATH = FIXTURE_PATH.with_name("tiny_segmenter_cumsum.tflite")


def make_fallback_fixture(out: Path = FALLBACK_FIXTURE_PATH, seed: int = 0) -> Path:
    """The tiny segmenter plus a running sum over its class scores (CUMSUM, which the GPU
    delegate has no kernel for): a model whose GPU runs leave one node on the CPU."""
    import keras
    import tensorflow as tf
    from keras import layers

    from models.convert import to_tflite
    from models.nets import tiny

    keras.utils.set_random_seed(seed)
    base = tiny.build_model(FIXTURE_INPUT, FIXTURE_CLASSES)
    out_t = layers.Lambda(lambda t: t + 0.1 * tf.math.cumsum(t, axis=-1), name="class_cumsum")(base.output)
    model = keras.Model(base.inputs, out_t, name="tiny_segmenter_cumsum")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(to_tflite(model, "fp32"))
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else FIXTURE_PATH
    path = make_fixture(out)
    print(f"wrote {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
