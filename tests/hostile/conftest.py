"""Fixtures for the hostile tests: real farm components (tests/stack.py), crafted inputs."""

from __future__ import annotations

import flatbuffers
from ai_edge_litert import schema_py_generated as schema

from tests.api.conftest import api, sent  # noqa: F401  (fixtures)
from tests.integration.conftest import adb_server, fleet  # noqa: F401  (fixtures)
from tests.tflite_builder import build_tiny_model


def unallocatable_model() -> bytes:
    """A valid flatbuffer whose ADD gets shapes [1,4] and [1,8], which do not broadcast:
    it loads on every phone and fails AllocateTensors on every phone, with or without XNNPACK."""
    m = schema.ModelT.InitFromPackedBuf(build_tiny_model(), 0)
    m.subgraphs[0].operators[1].inputs = [3, 0]
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())
