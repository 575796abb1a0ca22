"""Keras → TFLite conversion with builtin ops only.

Why this wrapper exists: Keras' own ``model.export(format="litert")`` silently
allows Select TF (Flex) ops, which phones running plain LiteRT cannot execute,
and the converter's GPU-compatibility check does not catch them. Here we always
call ``tf.lite.TFLiteConverter`` with ``supported_ops = [TFLITE_BUILTINS]`` so a
graph needing Flex fails at build time instead of on the device.

The input is traced with a fixed batch of 1 (static shapes: what phone delegates
want). Quantisation modes:

* ``fp32`` – no optimisation.
* ``fp16`` – float16 weights (``supported_types=[float16]``); compute stays fp32
  on CPU, GPU delegates run it in half precision.
* ``int8`` – dynamic-range quantisation: int8 weights, float activations, no
  representative dataset (random weights make calibration meaningless anyway).

TensorFlow is imported inside the function: it is an optional extra.
"""

from __future__ import annotations

from typing import Any

QUANTS: tuple[str, ...] = ("fp32", "fp16", "int8")


def to_tflite(model: Any, quant: str = "fp32") -> bytes:
    """Convert a Keras model with a single image input to TFLite flatbuffer bytes."""
    if quant not in QUANTS:
        raise ValueError(f"unknown quant {quant!r}; expected one of {', '.join(QUANTS)}")
    import tensorflow as tf

    shape = [1, *(int(d) for d in model.inputs[0].shape[1:])]
    spec = tf.TensorSpec(shape, tf.float32, name="image")

    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    @tf.autograph.experimental.do_not_convert
    def serve(x: Any) -> Any:
        return model(x, training=False)

    # Freeze the weights into constants first: converting the live function keeps
    # Keras 3's resource variables (VAR_HANDLE/READ_VARIABLE ops, uninitialised →
    # NaN outputs) and stops BatchNorm from folding into the convolutions.
    frozen = convert_variables_to_constants_v2(
        tf.function(serve, input_signature=[spec]).get_concrete_function()
    )
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    converter.allow_custom_ops = False
    if quant == "fp16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif quant == "int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    return bytes(converter.convert())
