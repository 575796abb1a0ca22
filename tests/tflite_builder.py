"""A valid, minimal .tflite written without TensorFlow, for tests that need a real model.

Why: tests of the virtual benchmark tool (and others) need a model LiteRT will load and
run, but installing TensorFlow/Keras to make one costs 1.6 GB and minutes. A TFLite model
is a flatbuffer; the schema's object API shipped inside ai-edge-litert writes one directly.
The model: input x[1, 8] float32 -> FULLY_CONNECTED(8 -> 4, fixed weights) -> ADD(self) ->
output[1, 4]. Two builtin ops so op lists, delegate coverage and per-op tables have rows.
"""

from __future__ import annotations

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema


def _tensor(name: str, shape: list[int], buffer: int) -> schema.TensorT:
    t = schema.TensorT()
    t.name = name
    t.shape = shape
    t.type = schema.TensorType.FLOAT32
    t.buffer = buffer
    return t


def _opcode(code: int) -> schema.OperatorCodeT:
    oc = schema.OperatorCodeT()
    oc.builtinCode = code
    oc.deprecatedBuiltinCode = min(code, 127)
    oc.version = 1
    return oc


def build_tiny_model(in_features: int = 8, out_features: int = 4) -> bytes:
    weights = (
        np.arange(in_features * out_features, dtype=np.float32).reshape(out_features, in_features) / 100.0
    )
    bias = np.linspace(-0.5, 0.5, out_features, dtype=np.float32)

    buffers = []
    for data in (None, weights, bias):  # buffer 0 is the empty sentinel
        b = schema.BufferT()
        b.data = None if data is None else np.frombuffer(data.tobytes(), dtype=np.uint8)
        buffers.append(b)

    sg = schema.SubGraphT()
    sg.name = "main"
    sg.tensors = [
        _tensor("input", [1, in_features], 0),
        _tensor("dense/kernel", [out_features, in_features], 1),
        _tensor("dense/bias", [out_features], 2),
        _tensor("dense/BiasAdd", [1, out_features], 0),
        _tensor("output", [1, out_features], 0),
    ]
    sg.inputs = [0]
    sg.outputs = [4]

    fc = schema.OperatorT()
    fc.opcodeIndex = 0
    fc.inputs = [0, 1, 2]
    fc.outputs = [3]
    fc.builtinOptionsType = schema.BuiltinOptions.FullyConnectedOptions
    fc_opts = schema.FullyConnectedOptionsT()
    fc_opts.fusedActivationFunction = schema.ActivationFunctionType.RELU
    fc.builtinOptions = fc_opts

    add = schema.OperatorT()
    add.opcodeIndex = 1
    add.inputs = [3, 3]
    add.outputs = [4]
    add.builtinOptionsType = schema.BuiltinOptions.AddOptions
    add.builtinOptions = schema.AddOptionsT()

    sg.operators = [fc, add]

    model = schema.ModelT()
    model.version = 3
    model.description = "phonefarm tiny test model"
    model.operatorCodes = [
        _opcode(schema.BuiltinOperator.FULLY_CONNECTED),
        _opcode(schema.BuiltinOperator.ADD),
    ]
    model.subgraphs = [sg]
    model.buffers = buffers

    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def reference_output(x: np.ndarray, in_features: int = 8, out_features: int = 4) -> np.ndarray:
    """What build_tiny_model computes, in numpy (for checking that the model really ran)."""
    weights = (
        np.arange(in_features * out_features, dtype=np.float32).reshape(out_features, in_features) / 100.0
    )
    bias = np.linspace(-0.5, 0.5, out_features, dtype=np.float32)
    y = np.maximum(x @ weights.T + bias, 0)
    return y + y


def _pack(sg: schema.SubGraphT, codes: list[int], buffers: list[schema.BufferT], description: str) -> bytes:
    model = schema.ModelT()
    model.version = 3
    model.description = description
    model.operatorCodes = [_opcode(c) for c in codes]
    model.subgraphs = [sg]
    model.buffers = buffers
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _buffer(data: np.ndarray | None) -> schema.BufferT:
    b = schema.BufferT()
    b.data = None if data is None else np.frombuffer(data.tobytes(), dtype=np.uint8)
    return b


def build_two_input_model(size: int = 8) -> bytes:
    """Two image-shaped inputs added together: a model an inference (one image) cannot feed."""
    sg = schema.SubGraphT()
    sg.name = "main"
    sg.tensors = [
        _tensor("left", [1, size, size, 3], 0),
        _tensor("right", [1, size, size, 3], 0),
        _tensor("sum", [1, size, size, 3], 0),
    ]
    sg.inputs, sg.outputs = [0, 1], [2]
    add = schema.OperatorT()
    add.opcodeIndex, add.inputs, add.outputs = 0, [0, 1], [2]
    add.builtinOptionsType = schema.BuiltinOptions.AddOptions
    add.builtinOptions = schema.AddOptionsT()
    sg.operators = [add]
    return _pack(sg, [schema.BuiltinOperator.ADD], [_buffer(None)], "phonefarm two-input test model")


def build_image_classifier(size: int = 8, classes: int = 4) -> bytes:
    """An image in, class scores out ([1, classes]): a model without a spatial output."""
    weights = (np.arange(classes * size * size * 3, dtype=np.float32).reshape(classes, -1) % 7 - 3) / 50.0
    sg = schema.SubGraphT()
    sg.name = "main"
    sg.tensors = [
        _tensor("image", [1, size, size, 3], 0),
        _tensor("dense/kernel", [classes, size * size * 3], 1),
        _tensor("scores", [1, classes], 0),
    ]
    sg.inputs, sg.outputs = [0], [2]
    fc = schema.OperatorT()
    fc.opcodeIndex, fc.inputs, fc.outputs = 0, [0, 1, -1], [2]
    fc.builtinOptionsType = schema.BuiltinOptions.FullyConnectedOptions
    fc.builtinOptions = schema.FullyConnectedOptionsT()
    sg.operators = [fc]
    return _pack(
        sg,
        [schema.BuiltinOperator.FULLY_CONNECTED],
        [_buffer(None), _buffer(weights)],
        "phonefarm classifier",
    )
