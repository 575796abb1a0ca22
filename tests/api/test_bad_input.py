"""Bad input gets a problem+json answer a person can act on, and changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import make_token

TINY = (Path(__file__).resolve().parents[1] / "fixtures" / "tiny_segmenter.tflite").read_bytes()


def problem(resp, status: int) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["status"] == status and body["detail"]
    return body


def upload(api: TestClient, headers: dict[str, str], data: bytes, name: str = "m.tflite"):
    return api.post("/api/v1/models", headers=headers, files={"file": (name, data)})


def models(api: TestClient, headers: dict[str, str]) -> list[dict]:
    return list(api.get("/api/v1/models", headers=headers).json())


def test_same_bytes_twice_are_one_model(api: TestClient) -> None:
    h = make_token("submitter")
    first = upload(api, h, TINY)
    assert first.status_code == 201
    again = upload(api, h, TINY, name="other-name.tflite")
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert first.json()["inputs"][0]["shape"] == [1, 64, 64, 3]


@pytest.mark.parametrize(
    ("data", "status", "needle"),
    [
        (b"", 422, "empty"),
        (b"definitely not a flatbuffer" * 10, 422, "TFLite"),
        (TINY[: len(TINY) // 2], 422, ""),
        (b"\x00" * (2 << 20), 413, "MiB"),
    ],
    ids=["empty", "not-tflite", "truncated", "too-large"],
)
def test_bad_uploads_are_refused_and_nothing_is_stored(
    api: TestClient, data: bytes, status: int, needle: str
) -> None:
    h = make_token("submitter")
    body = problem(upload(api, h, data), status)
    assert needle.lower() in (body["title"] + body["detail"]).lower()
    assert models(api, h) == []


def test_names_with_path_separators_are_refused(api: TestClient) -> None:
    h = make_token("submitter")
    body = problem(
        api.post(
            "/api/v1/models", headers=h, files={"file": ("m.tflite", TINY)}, data={"name": "../../etc/x"}
        ),
        422,
    )
    assert "path separators" in body["detail"]
    assert models(api, h) == []


def test_benchmark_requests_are_validated(api: TestClient) -> None:
    h = make_token("submitter")
    model = upload(api, h, TINY).json()
    base: dict[str, object] = {"model": str(model["id"]), "devices": {"all": True}}
    cases: list[tuple[dict[str, object], str]] = [
        ({"delegates": ["tpu"]}, "delegates"),
        ({"num_runs": 10**9}, "num_runs"),
        ({"threads": [0]}, "threads"),
        ({"extra_flags": "--foo"}, "extra_flags"),
        ({"devices": {}}, "devices"),
    ]
    for bad, field in cases:
        body = problem(api.post("/api/v1/benchmarks", headers=h, json=base | bad), 422)
        assert field in body["detail"], body
    body = problem(
        api.post(
            "/api/v1/benchmarks", headers=h | {"Content-Type": "application/json"}, content=b"{not json"
        ),
        422,
    )
    assert "JSON" in body["detail"] or "json" in body["detail"]
    body = problem(api.post("/api/v1/benchmarks", headers=h, json=base), 422)
    assert body["title"] == "No matching phone"
    assert api.get("/api/v1/benchmarks", headers=h).json() == []


def test_huge_json_body_is_refused_unread(api: TestClient) -> None:
    h = make_token("submitter")
    problem(
        api.post(
            "/api/v1/benchmarks",
            headers=h | {"Content-Type": "application/json"},
            content=b"[" + b"1," * (1 << 20) + b"1]",
        ),
        413,
    )


def test_unknown_model_is_named(api: TestClient) -> None:
    h = make_token("submitter")
    body = problem(
        api.post("/api/v1/benchmarks", headers=h, json={"model": "nope", "devices": {"all": True}}), 422
    )
    assert "nope" in body["detail"]
