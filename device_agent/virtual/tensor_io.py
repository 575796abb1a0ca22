"""Real inputs in, real outputs out, and the GPU's reduced precision, for the virtual benchmark_model.

Why: the farm runs a user's image through a model on a phone with the official tool's
``--input_layer=… --input_layer_shape=… --input_layer_value_files=NAME:PATH`` (raw tensor
bytes) and ``--output_filepath=PATH`` (every output tensor's raw bytes, in output order,
concatenated, from the last inference). The virtual phone honours the same flags with
LiteRT on the host, so the farm's inference path is the same for both.

GPU numerics: a phone's GPU delegate computes in fp16 when precision loss is allowed (the
default), so its outputs differ slightly from the CPU's. The virtual "gpu" reproduces that
deterministically: float32 weights rounded to fp16, the input rounded to fp16 and every
output rounded to fp16. With ``--gpu_precision_loss_allowed=false`` it computes in fp32.
A fault (``Faults.gpu_output_noise``) adds deterministic noise to GPU outputs, to test that
the farm flags a delegate that changes the answer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np


class InputError(Exception):
    """A value file the tool refuses (the message is the tool's error line)."""


def split_map(spec: str) -> list[tuple[str, str]]:
    """``name1:path1,name2:path2`` with ``::`` standing for a literal colon in a name."""
    items = []
    for item in (i for i in spec.split(",") if i):
        name, path, i = [], "", 0
        while i < len(item):
            if item.startswith("::", i):
                name.append(":")
                i += 2
            elif item[i] == ":":
                path = item[i + 1 :]
                break
            else:
                name.append(item[i])
                i += 1
        if not path:
            raise InputError(f"Wrong input value file item specified: {item}")
        items.append(("".join(name), path))
    return items


def load_inputs(
    details: list[dict[str, Any]], p: dict[str, Any], resolve: Callable[[str], Path]
) -> dict[int, np.ndarray]:
    """Input index -> array read from --input_layer_value_files (only inputs named in --input_layer)."""
    names = [n for n in str(p["input_layer"]).split(",") if n]
    files = split_map(str(p["input_layer_value_files"]))
    by_name = {d["name"]: d for d in details}
    out: dict[int, np.ndarray] = {}
    for name, path in files:
        if name not in names:
            raise InputError(f"Cannot find the corresponding input_layer name({name}) in --input_layer.")
        d = by_name.get(name)
        if d is None:
            raise InputError(f"Cannot find input layer '{name}' in the model.")
        dtype = np.dtype(d["dtype"])
        expected = int(np.prod(d["shape"])) * dtype.itemsize
        try:
            data = resolve(path).read_bytes()
        except OSError as exc:
            raise InputError(f"Failed to read the input_layer_value_file: {path}") from exc
        if len(data) != expected:
            raise InputError(
                f"The number of bytes in {path} ({len(data)}) doesn't match the size of input "
                f"tensor {name} ({expected})."
            )
        out[int(d["index"])] = np.frombuffer(data, dtype=dtype).reshape(d["shape"]).copy()
    return out


def write_outputs(path: Path, outputs: list[np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(np.ascontiguousarray(o).tobytes() for o in outputs))


@lru_cache(maxsize=4)
def fp16_weights(data: bytes) -> bytes:
    """The model with every float32 constant rounded to the nearest fp16 (kept as float32)."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    float_buffers = {
        t.buffer
        for sg in model.subgraphs or []
        for t in sg.tensors or []
        if t.type == schema.TensorType.FLOAT32 and t.buffer
    }
    for i in float_buffers:
        buf = model.buffers[i]
        if buf.data is None or len(buf.data) % 4:
            continue
        arr = np.frombuffer(bytes(bytearray(buf.data)), dtype=np.float32)
        buf.data = np.frombuffer(arr.astype(np.float16).astype(np.float32).tobytes(), dtype=np.uint8)
    builder = flatbuffers.Builder(len(data) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def fp16_round(a: np.ndarray) -> np.ndarray:
    return a.astype(np.float16).astype(a.dtype) if a.dtype.kind == "f" else a


def add_noise(a: np.ndarray, scale: float, seed_text: str) -> np.ndarray:
    """Deterministic noise (seeded by the output's bytes) for the divergence fault."""
    if scale <= 0 or a.dtype.kind != "f":
        return a
    seed = int.from_bytes(hashlib.sha256(seed_text.encode() + a.tobytes()[:4096]).digest()[:8], "little")
    rng = np.random.default_rng(seed)
    return (a + rng.normal(0.0, scale, size=a.shape)).astype(a.dtype)
