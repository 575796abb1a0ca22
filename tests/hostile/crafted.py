"""Crafted .tflite files that once froze or bloated the API (issue 13), written with the raw
flatbuffers builder so vectors can be shared the way an attacker shares them."""

from __future__ import annotations

import flatbuffers
from ai_edge_litert import schema_py_generated as s


def _int_vector(b: flatbuffers.Builder, values: list[int]) -> int:
    b.StartVector(4, len(values), 4)
    for v in reversed(values):
        b.PrependInt32(v)
    return b.EndVector()


def _offsets(b: flatbuffers.Builder, offsets: list[int]) -> int:
    b.StartVector(4, len(offsets), 4)
    for o in reversed(offsets):
        b.PrependUOffsetTRelative(o)
    return b.EndVector()


def crafted(
    *,
    dims: list[int] | None = None,
    n_tensors: int = 2,
    sg_inputs: list[int] | None = None,
    n_ops: int = 1,
    op_inputs: list[int] | None = None,
    constant: bool = True,
) -> bytes:
    """One subgraph. Tensor 0 has shape `dims` and (if `constant`) a non-empty buffer; every
    operator shares one opcode and one `op_inputs` vector."""
    b = flatbuffers.Builder(1 << 16)
    data = b.CreateByteVector(b"\x01\x02\x03\x04")
    bufs = []
    for with_data in (False, True):
        s.BufferStart(b)
        if with_data:
            s.BufferAddData(b, data)
        bufs.append(s.BufferEnd(b))
    buffers = _offsets(b, bufs)
    s.OperatorCodeStart(b)
    s.OperatorCodeAddBuiltinCode(b, s.BuiltinOperator.ADD)
    s.OperatorCodeAddDeprecatedBuiltinCode(b, s.BuiltinOperator.ADD)
    s.OperatorCodeAddVersion(b, 1)
    codes = _offsets(b, [s.OperatorCodeEnd(b)])
    shape = _int_vector(b, dims if dims is not None else [1, 4])
    small = _int_vector(b, [1, 4])
    tensors = []
    for i in range(n_tensors):
        s.TensorStart(b)
        s.TensorAddShape(b, shape if i == 0 else small)
        s.TensorAddType(b, s.TensorType.FLOAT32)
        s.TensorAddBuffer(b, 1 if (i == 0 and constant) else 0)
        tensors.append(s.TensorEnd(b))
    tensor_vec = _offsets(b, tensors)
    shared_inputs = _int_vector(b, op_inputs if op_inputs is not None else [0, 0])
    outputs = _int_vector(b, [1])
    ops = []  # distinct operator tables sharing the one inputs vector (what the attack did)
    for _ in range(n_ops):
        s.OperatorStart(b)
        s.OperatorAddOpcodeIndex(b, 0)
        s.OperatorAddInputs(b, shared_inputs)
        s.OperatorAddOutputs(b, outputs)
        ops.append(s.OperatorEnd(b))
    operators = _offsets(b, ops)
    sg_in = _int_vector(b, sg_inputs if sg_inputs is not None else [0])
    sg_out = _int_vector(b, [1])
    s.SubGraphStart(b)
    s.SubGraphAddTensors(b, tensor_vec)
    s.SubGraphAddInputs(b, sg_in)
    s.SubGraphAddOutputs(b, sg_out)
    s.SubGraphAddOperators(b, operators)
    subgraphs = _offsets(b, [s.SubGraphEnd(b)])
    s.ModelStart(b)
    s.ModelAddVersion(b, 3)
    s.ModelAddOperatorCodes(b, codes)
    s.ModelAddSubgraphs(b, subgraphs)
    s.ModelAddBuffers(b, buffers)
    b.Finish(s.ModelEnd(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def huge_dims() -> bytes:
    """A constant tensor with 100k dims of 2^31-1 (400 KB): math.prod over it took 26 s."""
    return crafted(dims=[2**31 - 1] * 100_000)


def many_inputs() -> bytes:
    """100k subgraph inputs all pointing at one tensor: 65 s and a 40 MB model row."""
    return crafted(sg_inputs=[0] * 100_000)


def shared_operator_inputs() -> bytes:
    """10k operators sharing one 10k-entry input vector: 100M index checks from 80 KB."""
    return crafted(n_ops=10_000, op_inputs=[0] * 10_000)
