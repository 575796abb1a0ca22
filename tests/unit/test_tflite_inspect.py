"""inspect_tflite: accepts what the runtime loads, rejects the rest with a readable reason.

Models are built here with the schema's object API (no TensorFlow) so each test controls
exactly one property of the file; where possible the interpreter confirms the built model
is really loadable, so acceptance is checked against the runtime rather than our reading.
"""

from __future__ import annotations

import contextlib
import struct
from pathlib import Path

import flatbuffers
import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema

from contracts.tflite import TFLiteError, TFLiteInfo, inspect_tflite

FIXTURES = sorted((Path(__file__).resolve().parents[1] / "fixtures").glob("*.tflite"))


def _tensor(name: str, shape: list[int], buffer: int, dtype: int = schema.TensorType.FLOAT32, quant=None):
    t = schema.TensorT()
    t.name = name
    t.shape = shape
    t.type = dtype
    t.buffer = buffer
    if quant is not None:
        q = schema.QuantizationParametersT()
        q.scale, q.zeroPoint = quant
        t.quantization = q
    return t


def _opcode(builtin: int, custom: str | None = None, version: int = 1):
    oc = schema.OperatorCodeT()
    oc.builtinCode = builtin
    oc.deprecatedBuiltinCode = min(builtin, 127)
    oc.version = version
    if custom is not None:
        oc.customCode = custom
    return oc


def _op(index: int, inputs: list[int], outputs: list[int]):
    op = schema.OperatorT()
    op.opcodeIndex = index
    op.inputs = inputs
    op.outputs = outputs
    return op


def build_model(
    *,
    extra_opcodes: tuple = (),
    extra_ops: tuple = (),
    subgraphs: int = 1,
    version: int = 3,
    description: str = "unit test model",
    quantized: bool = False,
    external_weights: bool = False,
) -> bytes:
    """x[1,4] + w[1,4] -> y[1,4]; optional extras. Returns .tflite bytes."""
    model = schema.ModelT()
    model.version = version
    model.description = description
    b0 = schema.BufferT()
    b_w = schema.BufferT()
    weights = np.arange(4, dtype=np.float32).tobytes()
    if not external_weights:
        b_w.data = list(weights)
    b_meta = schema.BufferT()
    b_meta.data = list(b"1.5.0\0\0\0")
    model.buffers = [b0, b_w, b_meta]
    md = schema.MetadataT()
    md.name = "min_runtime_version"
    md.buffer = 2
    model.metadata = [md]
    model.operatorCodes = [_opcode(schema.BuiltinOperator.ADD), *extra_opcodes]
    dtype = schema.TensorType.INT8 if quantized else schema.TensorType.FLOAT32
    quant = ([0.5], [3]) if quantized else None
    graphs = []
    for s in range(subgraphs):
        sg = schema.SubGraphT()
        sg.name = f"sg{s}"
        sg.tensors = [
            _tensor("x", [1, 4], 0, dtype, quant),
            _tensor("w", [1, 4], 1, dtype, quant),
            _tensor("y", [1, 4], 0, dtype, quant),
        ]
        sg.inputs = [0]
        sg.outputs = [2]
        sg.operators = [_op(0, [0, 1], [2]), *extra_ops]
        graphs.append(sg)
    model.subgraphs = graphs
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    data = bytes(builder.Output())
    if external_weights:
        # models over 2 GB keep buffer data after the flatbuffer, addressed by offset/size
        # (packing twice: the first pass, with placeholder values, fixes the flatbuffer's size)
        b_w.offset, b_w.size = 1 << 40, len(weights)
        for _ in range(2):
            builder = flatbuffers.Builder(1024)
            builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
            data = bytes(builder.Output())
            b_w.offset = len(data) + (-len(data)) % 16
        data = data + b"\0" * (b_w.offset - len(data)) + weights
    return data


def _builder_model() -> bytes | None:
    try:
        from tests.tflite_builder import build_tiny_model
    except ImportError:
        return None
    return build_tiny_model()


def _loads(data: bytes) -> bool:
    from ai_edge_litert.interpreter import Interpreter

    try:
        Interpreter(model_content=data).allocate_tensors()
    except (ValueError, RuntimeError):
        return False
    return True


def test_basic_model_is_described() -> None:
    data = build_model()
    assert _loads(data)
    info = inspect_tflite(data)
    assert isinstance(info, TFLiteInfo)
    assert info.schema_version == 3
    assert info.description == "unit test model"
    assert info.subgraph_count == 1
    assert [t.as_dict() for t in info.inputs] == [
        {
            "name": "x",
            "shape": [1, 4],
            "dtype": "FLOAT32",
            "shape_signature": None,
            "scale": None,
            "zero_point": None,
        }
    ]
    assert [t.name for t in info.outputs] == ["y"]
    assert info.operators == ["ADD"]
    assert info.operator_details[0].count == 1 and info.operator_details[0].builtin
    assert info.op_count == 1 and info.tensor_count == 3
    assert info.parameter_count == 4  # the constant w
    assert info.parameter_bytes == 16 + 8  # w plus the metadata string buffer
    assert info.min_runtime_version == "1.5.0"
    assert info.flex_ops == [] and info.custom_ops == [] and not info.needs_flex
    assert info.as_dict()["needs_flex"] is False


def test_the_interpreter_agrees_about_inputs_and_outputs() -> None:
    from ai_edge_litert.interpreter import Interpreter

    data = build_model()
    it = Interpreter(model_content=data)
    info = inspect_tflite(data)
    assert [d["name"] for d in it.get_input_details()] == [t.name for t in info.inputs]
    assert [list(d["shape"]) for d in it.get_output_details()] == [t.shape for t in info.outputs]


def test_quantization_of_io_tensors() -> None:
    info = inspect_tflite(build_model(quantized=True))
    (x,) = info.inputs
    assert x.dtype == "INT8" and x.scale == 0.5 and x.zero_point == 3


def test_custom_and_flex_ops_are_flagged() -> None:
    data = build_model(
        extra_opcodes=(
            _opcode(schema.BuiltinOperator.CUSTOM, "FlexConv2D"),
            _opcode(schema.BuiltinOperator.CUSTOM, "TFLite_Detection_PostProcess"),
        ),
        extra_ops=(_op(1, [2], [2]), _op(2, [2], [2]), _op(1, [0], [2])),
    )
    info = inspect_tflite(data)
    assert info.operators == ["ADD", "FlexConv2D", "TFLite_Detection_PostProcess"]
    assert info.custom_ops == ["FlexConv2D", "TFLite_Detection_PostProcess"]
    assert info.flex_ops == ["FlexConv2D"] and info.needs_flex
    counts = {d.name: d.count for d in info.operator_details}
    assert counts == {"ADD": 1, "FlexConv2D": 2, "TFLite_Detection_PostProcess": 1}


def test_builtin_codes_above_127_use_the_new_field() -> None:
    # BROADCAST_TO is 130: deprecated_builtin_code holds 127 (PLACEHOLDER_FOR_GREATER_OP_CODES)
    assert schema.BuiltinOperator.BROADCAST_TO > 127
    info = inspect_tflite(build_model(extra_opcodes=(_opcode(schema.BuiltinOperator.BROADCAST_TO),)))
    assert "BROADCAST_TO" in info.operators
    assert "PLACEHOLDER_FOR_GREATER_OP_CODES" not in info.operators


def test_same_op_at_two_versions_is_one_entry() -> None:
    data = build_model(
        extra_opcodes=(_opcode(schema.BuiltinOperator.ADD, version=3),), extra_ops=(_op(1, [2, 1], [2]),)
    )
    info = inspect_tflite(data)
    assert info.operators == ["ADD"]
    assert info.operator_details[0].version == 3 and info.operator_details[0].count == 2


def test_subgraph_count_and_main_subgraph_io() -> None:
    info = inspect_tflite(build_model(subgraphs=3))
    assert info.subgraph_count == 3 and info.op_count == 3 and info.tensor_count == 9
    assert [t.name for t in info.inputs] == ["x"]


def test_external_buffer_data_is_accepted_and_bounds_checked() -> None:
    data = build_model(external_weights=True)
    assert _loads(data)
    info = inspect_tflite(data)
    assert info.parameter_bytes == 16 + 8
    with pytest.raises(TFLiteError, match="external data of buffer 1"):
        inspect_tflite(data[:-1])


def test_fixture_models() -> None:
    if not FIXTURES:
        pytest.skip("no tests/fixtures/*.tflite")
    for path in FIXTURES:
        data = path.read_bytes()
        info = inspect_tflite(data)
        assert info.inputs and info.outputs and info.operators, path
        assert info.parameter_bytes > 0 and info.parameter_bytes < len(data)


def test_fixture_agrees_with_interpreter() -> None:
    from ai_edge_litert.interpreter import Interpreter

    if not FIXTURES:
        pytest.skip("no tests/fixtures/*.tflite")
    for path in FIXTURES:
        it = Interpreter(model_path=str(path))
        info = inspect_tflite(path.read_bytes())
        assert [list(d["shape"]) for d in it.get_input_details()] == [t.shape for t in info.inputs]
        assert [d["dtype"].__name__.upper() for d in it.get_input_details()] == [t.dtype for t in info.inputs]
        assert [list(d["shape"]) for d in it.get_output_details()] == [t.shape for t in info.outputs]


def test_shared_builder_model_if_present() -> None:
    data = _builder_model()
    if data is None:
        pytest.skip("tests/tflite_builder.py not present")
    info = inspect_tflite(data)
    assert info.schema_version == 3 and info.inputs and info.outputs
    # every prefix of a valid model is rejected
    for n in range(0, len(data), max(1, len(data) // 64)):
        with pytest.raises(TFLiteError):
            inspect_tflite(data[:n])


# --- rejections -----------------------------------------------------------------------


def test_empty_file() -> None:
    with pytest.raises(TFLiteError, match="empty"):
        inspect_tflite(b"")


def test_tiny_file() -> None:
    with pytest.raises(TFLiteError, match="only 5 bytes"):
        inspect_tflite(b"hello")


def test_error_is_a_value_error() -> None:
    assert issubclass(TFLiteError, ValueError)


@pytest.mark.parametrize(
    ("data", "hint"),
    [
        (b"PK\x03\x04" + b"\0" * 100, "zip archive"),
        (b"\x89HDF\r\n\x1a\n" + b"\0" * 100, "HDF5"),
        (b"\x7fELF\x02\x01\x01\0" + b"\0" * 100, "executable"),
        (b'{"model": "not really"}', "text file"),
        (b"\x08\x07\x12\x04onnx" + b"\0" * 100, "not a TFLite model"),
    ],
)
def test_other_formats_are_named(data: bytes, hint: str) -> None:
    with pytest.raises(TFLiteError, match="not a TFLite model") as err:
        inspect_tflite(data)
    assert hint in str(err.value)


def test_identifier_must_be_at_bytes_4_to_8() -> None:
    data = bytearray(build_model())
    data[4:8] = b"TFL2"
    with pytest.raises(TFLiteError, match="old TFLite schema"):
        inspect_tflite(bytes(data))


def test_unsupported_schema_version() -> None:
    data = build_model(version=2)
    assert not _loads(data)
    with pytest.raises(TFLiteError, match="schema version 2"):
        inspect_tflite(data)


def test_no_subgraph() -> None:
    model = schema.ModelT()
    model.version = 3
    model.buffers = [schema.BufferT()]
    b = flatbuffers.Builder(64)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    with pytest.raises(TFLiteError, match="no subgraph"):
        inspect_tflite(bytes(b.Output()))


@pytest.mark.parametrize("source", ["built", "fixture"])
def test_every_truncation_is_rejected(source: str) -> None:
    if source == "fixture":
        if not FIXTURES:
            pytest.skip("no fixtures")
        data = FIXTURES[0].read_bytes()
        step = 7
    else:
        data = build_model()
        step = 1
    for n in range(0, len(data), step):
        with pytest.raises(TFLiteError):
            inspect_tflite(data[:n])


def test_truncation_message_is_readable() -> None:
    data = build_model()
    with pytest.raises(TFLiteError, match=r"truncated or corrupt: .* lies outside the \d+-byte file"):
        inspect_tflite(data[: len(data) // 2])


def _patch_u32(data: bytes, old: int, new: int, after: int = 8) -> bytes:
    """Replace the first little-endian u32 `old` found after byte `after`."""
    needle = struct.pack("<I", old)
    at = data.index(needle, after)
    return data[:at] + struct.pack("<I", new) + data[at + 4 :]


def test_root_offset_outside_file() -> None:
    data = build_model()
    bad = struct.pack("<I", len(data) + 100) + data[4:]
    with pytest.raises(TFLiteError, match="truncated or corrupt"):
        inspect_tflite(bad)


def test_negative_vtable_position_is_caught() -> None:
    # an soffset pointing the vtable before byte 0: generated accessors would wrap round silently
    data = bytearray(build_model())
    root = struct.unpack_from("<I", data, 0)[0]
    struct.pack_into("<i", data, root, root + 1000)
    with pytest.raises(TFLiteError, match="vtable of model"):
        inspect_tflite(bytes(data))


def _model_with(mutate) -> bytes:
    """Rebuild the basic model after `mutate(model_t)` changes it."""
    model = schema.ModelT.InitFromPackedBuf(build_model(), 0)
    mutate(model)
    b = flatbuffers.Builder(1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def test_tensor_with_missing_buffer_is_rejected() -> None:
    def mutate(m) -> None:
        m.subgraphs[0].tensors[1].buffer = 99

    data = _model_with(mutate)
    assert not _loads(data)
    with pytest.raises(TFLiteError, match="refers to buffer 99, but there are only 3"):
        inspect_tflite(data)


def test_operator_with_missing_opcode_is_rejected() -> None:
    def mutate(m) -> None:
        m.subgraphs[0].operators[0].opcodeIndex = 5

    data = _model_with(mutate)
    assert not _loads(data)
    with pytest.raises(TFLiteError, match="operator code 5, but there are only 1"):
        inspect_tflite(data)


@pytest.mark.parametrize("where", ["op_input", "op_output", "sg_input", "sg_output"])
def test_tensor_index_out_of_range_is_rejected(where: str) -> None:
    def mutate(m) -> None:
        sg = m.subgraphs[0]
        if where == "op_input":
            sg.operators[0].inputs = [0, 7]
        elif where == "op_output":
            sg.operators[0].outputs = [-5]
        elif where == "sg_input":
            sg.inputs = [3]
        else:
            sg.outputs = [12]

    data = _model_with(mutate)
    assert not _loads(data)
    with pytest.raises(TFLiteError, match="refers to tensor"):
        inspect_tflite(data)


def test_optional_input_minus_one_is_fine() -> None:
    def mutate(m) -> None:
        m.subgraphs[0].operators[0].inputs = [0, -1]

    inspect_tflite(_model_with(mutate))


def test_custom_op_without_name_is_rejected() -> None:
    def mutate(m) -> None:
        m.operatorCodes.append(_opcode(schema.BuiltinOperator.CUSTOM))

    with pytest.raises(TFLiteError, match="custom operator code 1 has no name"):
        inspect_tflite(_model_with(mutate))


def test_random_corruption_never_escapes_as_another_exception() -> None:
    rng = np.random.default_rng(7)
    data = build_model(
        extra_opcodes=(_opcode(schema.BuiltinOperator.CUSTOM, "FlexAdd"),), extra_ops=(_op(1, [2], [2]),)
    )
    for _ in range(2000):
        b = bytearray(data)
        for pos in rng.integers(8, len(b), size=3):
            b[pos] = int(rng.integers(0, 256))
        with contextlib.suppress(TFLiteError):
            inspect_tflite(bytes(b))
