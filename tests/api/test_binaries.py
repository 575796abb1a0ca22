"""The binaries API: admins register ELF executables (ABI from the header), everyone may list them."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from contracts.elf import fake_elf
from tests.api.conftest import make_token


def test_admins_register_binaries_and_the_abi_comes_from_the_header(api: TestClient) -> None:
    admin = make_token("admin")
    blob = fake_elf("armeabi-v7a", b"bm")
    resp = api.post("/api/v1/binaries", headers=admin, files={"file": ("bm", blob)})
    assert resp.status_code == 201, resp.text
    row = resp.json()
    assert row["abi"] == "armeabi-v7a" and row["flags"] is None and row["added_by"] == "admin-user"
    again = api.post("/api/v1/binaries", headers=admin, files={"file": ("bm", blob)})
    assert again.status_code == 200
    assert [b["sha256"] for b in api.get("/api/v1/binaries").json()] == [row["sha256"]]
    assert api.get(f"/api/v1/binaries/{row['sha256'][:10]}").json()["abi"] == "armeabi-v7a"
    gone = api.delete(f"/api/v1/binaries/{row['sha256']}", headers=admin)
    assert gone.status_code == 200 and api.get("/api/v1/binaries").json() == []
    assert api.delete(f"/api/v1/binaries/{row['sha256']}", headers=admin).status_code == 404


def test_a_file_that_is_not_an_executable_is_refused_with_a_problem(api: TestClient) -> None:
    admin = make_token("admin")
    resp = api.post("/api/v1/binaries", headers=admin, files={"file": ("x.sh", b"#!/bin/sh\necho hi\n")})
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert "not an ELF file" in resp.json()["detail"]
    wrong = api.post(
        "/api/v1/binaries", headers=admin, files={"file": ("bm", fake_elf("arm64-v8a"))}, data={"abi": "x86"}
    )
    assert wrong.status_code == 422 and "arm64-v8a" in wrong.json()["detail"]


def test_only_admins_change_binaries(api: TestClient) -> None:
    submitter = make_token("submitter")
    resp = api.post("/api/v1/binaries", headers=submitter, files={"file": ("bm", fake_elf("x86_64"))})
    assert resp.status_code == 403
    assert api.delete("/api/v1/binaries/" + "a" * 64, headers=submitter).status_code == 403
    assert api.get("/api/v1/binaries/not-hex").status_code == 422


def test_a_demo_farm_gets_a_stand_in_only_for_abis_without_a_real_build(api: TestClient) -> None:
    from server.binaries.service import STAND_IN, ensure_stand_ins
    from server.db import session_scope

    admin = make_token("admin")
    api.post("/api/v1/binaries", headers=admin, files={"file": ("bm", fake_elf("arm64-v8a", b"real"))})
    with session_scope() as db:
        made = [b.abi for b in ensure_stand_ins(db, ["arm64-v8a", "armeabi-v7a", "armeabi"])]
    assert made == ["armeabi-v7a"]
    with session_scope() as db:
        assert ensure_stand_ins(db, ["armeabi-v7a"]) == []
    rows = {b["abi"]: b for b in api.get("/api/v1/binaries").json()}
    assert rows["armeabi-v7a"]["source_url"] == STAND_IN and rows["arm64-v8a"]["source_url"] is None


def test_farm_benchmark_binary_is_registered_at_start_up(
    api: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server.db import reset_caches
    from server.main import create_app

    path = tmp_path / "android_arm_benchmark_model"
    path.write_bytes(fake_elf("armeabi-v7a", b"from the environment"))
    monkeypatch.setenv("FARM_BENCHMARK_BINARY", str(path))
    reset_caches()
    with TestClient(create_app(reconcile=False)) as client:
        (row,) = client.get("/api/v1/binaries").json()
    assert row["abi"] == "armeabi-v7a" and row["added_by"] == "FARM_BENCHMARK_BINARY"
