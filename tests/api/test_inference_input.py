"""Inference input is bounded and checked before it costs anything: problem+json answers, nothing stored."""

from __future__ import annotations

import io
import json
import struct
import time
import zlib
from pathlib import Path

from fastapi.testclient import TestClient
from PIL import Image

from tests.api.conftest import make_token
from tests.tflite_builder import build_two_input_model

TINY = (Path(__file__).resolve().parents[1] / "fixtures" / "tiny_segmenter.tflite").read_bytes()
SPEC = {"model": "", "devices": {"all": True}, "delegates": ["cpu", "gpu"]}


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def bomb_png(side: int = 30_000) -> bytes:
    """A valid greyscale PNG of side × side black pixels: under 1 MB on the wire, 900 MB decoded."""
    comp = zlib.compressobj(9)
    row = b"\0" * (side + 1)  # filter byte + pixels
    body = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")


def png(w: int = 40, h: int = 30) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (120, 30, 200)).save(buf, format="PNG")
    return buf.getvalue()


def submit(api: TestClient, headers: dict[str, str], image: bytes, model: str, name: str = "photo.png"):
    spec = json.dumps(SPEC | {"model": model})
    return api.post(
        "/api/v1/inferences", headers=headers, files={"image": (name, image)}, data={"spec": spec}
    )


def problem(resp, status: int) -> str:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    return str(resp.json()["detail"])


def _model(api: TestClient, headers: dict[str, str], data: bytes) -> str:
    resp = api.post("/api/v1/models", headers=headers, files={"file": ("m.tflite", data)})
    assert resp.status_code in (200, 201), resp.text
    return str(resp.json()["id"])


def test_a_file_that_is_not_an_image_is_refused_with_a_clear_message(api: TestClient) -> None:
    h = make_token("submitter")
    model = _model(api, h, TINY)
    detail = problem(submit(api, h, b"%PDF-1.7 not a picture", model, "doc.pdf"), 422)
    assert "PNG or JPEG" in detail
    assert api.get("/api/v1/benchmarks", headers=h).json() == []


def test_a_decompression_bomb_is_refused_before_decoding(api: TestClient) -> None:
    h = make_token("submitter")
    model = _model(api, h, TINY)
    bomb = bomb_png()
    assert len(bomb) < 1_500_000
    t0 = time.monotonic()
    detail = problem(submit(api, h, bomb, model), 413)
    assert "30000 × 30000" in detail and "before decoding" in detail
    # decoding 900 MB would take far longer than reading a header; generous, not a timing test
    assert time.monotonic() - t0 < 30


def test_a_model_with_two_inputs_gets_a_clear_422(api: TestClient) -> None:
    h = make_token("submitter")
    model = _model(api, h, build_two_input_model())
    detail = problem(submit(api, h, png(), model), 422)
    assert "2 inputs" in detail and "left" in detail and "right" in detail


def test_a_bad_spec_is_a_422_naming_the_field(api: TestClient) -> None:
    h = make_token("submitter")
    resp = api.post(
        "/api/v1/inferences",
        headers=h,
        files={"image": ("p.png", png())},
        data={"spec": json.dumps({"model": "1", "devices": {"all": True}, "delegates": ["tpu"]})},
    )
    assert "delegates" in problem(resp, 422)


def test_anonymous_callers_cannot_submit(api: TestClient) -> None:
    resp = api.post("/api/v1/inferences", files={"image": ("p.png", png())}, data={"spec": json.dumps(SPEC)})
    assert resp.status_code in (401, 403)
