"""Through the farm: an image in, masks out, on virtual phones × cpu,gpu, with delegate-vs-CPU numerics."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from tests.integration.conftest import FIXTURE_MODEL
from tests.stack import AdbServer, FarmStack
from tests.tflite_builder import build_image_classifier

pytestmark = pytest.mark.integration
W, H = 120, 90  # not the model's 64 × 64: masks must come back at the image's own size


def scene() -> bytes:
    """A known scene: a red rectangle and a green ellipse on a grey background."""
    img = Image.new("RGB", (W, H), (128, 128, 128))
    draw = ImageDraw.Draw(img)
    draw.rectangle((10, 10, 50, 60), fill=(220, 40, 40))
    draw.ellipse((60, 20, 110, 80), fill=(40, 200, 60))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def infer(stack: FarmStack, model_id: int, devices: dict) -> dict:
    spec = {
        "model": str(model_id),
        "devices": devices,
        "delegates": ["cpu", "gpu"],
        "public": True,
        "preprocessing": {"range": "-1,1"},
    }
    resp = stack.http.post(
        "/inferences", files={"image": ("scene.png", scene(), "image/png")}, data={"spec": json.dumps(spec)}
    )
    assert resp.status_code == 202, resp.text
    body = resp.json()
    stack.wait_job(body["job_id"], timeout=180)
    return dict(stack.http.get(f"/inferences/{body['id']}").json())


def png_size(stack: FarmStack, url: str) -> tuple[int, int]:
    resp = stack.http.get(url.removeprefix("/api/v1"))
    assert resp.status_code == 200 and resp.headers["content-type"] == "image/png", resp.text
    return Image.open(io.BytesIO(resp.content)).size


@pytest.mark.parametrize("stack", ["embedded"], indirect=True)
def test_masks_per_phone_and_delegate_and_gpu_numerics_checked_against_cpu(
    stack: FarmStack, adb_server: AdbServer, fleet, tmp_path: Path
) -> None:
    from device_agent.virtual.device import Faults

    for profile in ("sm8550", "sdm845"):
        adb_server.connect(fleet.add(profile).address)
    # this phone's GPU path is made to change the answer
    adb_server.connect(fleet.add("gs201", faults=Faults(gpu_output_noise=0.5)).address)
    stack.start_api()
    stack.start_worker(adb_server)
    stack.start_agent(adb_server)
    phones = {d["model"]: d["id"] for d in stack.wait_online(3)}
    model = stack.upload(FIXTURE_MODEL)

    good = [phones["SM-S911B"], phones["Pixel 3"]]
    result = infer(stack, model["id"], {"ids": good})
    assert result["state"] == "succeeded", stack.logs()
    assert result["image"]["width"] == W and result["preprocessing"]["range"] == "-1,1"
    runs = result["runs"]
    assert len(runs) == 4 and all(r["state"] == "succeeded" for r in runs)
    for r in runs:  # four masks, each at the image's size
        assert r["has_mask"] and png_size(stack, r["mask_url"]) == (W, H)
        assert png_size(stack, r["overlay_url"]) == (W, H)
    gpu = [r for r in runs if r["delegate"] == "gpu"]
    for r in gpu:
        n = r["numerics"]
        assert n["pixel_agreement"] >= 0.99 and n["miou"] > 0.9
        assert not n["bit_exact"] and n["max_abs_diff"] > 0  # fp16: close, not identical
        assert not r["numerics_mismatch"]
    assert not result["numerics_mismatch"]
    assert all(r["numerics"] is None for r in runs if r["delegate"] == "cpu")

    diverging = infer(stack, model["id"], {"ids": [phones["Pixel 7"]]})
    (bad,) = [r for r in diverging["runs"] if r["delegate"] == "gpu"]
    assert bad["numerics_mismatch"] and bad["numerics"]["pixel_agreement"] < 0.99
    assert diverging["numerics_mismatch"]

    # a model without a spatial output: it runs, numerics are reported, no mask, and it says so
    path = tmp_path / "classifier.tflite"
    path.write_bytes(build_image_classifier())
    classifier = stack.upload(path)
    plain = infer(stack, classifier["id"], {"ids": good[:1]})
    assert plain["state"] == "succeeded", stack.logs()
    for r in plain["runs"]:
        assert not r["has_mask"] and r["mask_url"] is None and "no mask" in r["note"]
    (g,) = [r for r in plain["runs"] if r["delegate"] == "gpu"]
    assert g["numerics"] is not None and g["numerics"]["pixel_agreement"] is None
    resp = stack.http.get(f"/inferences/{plain['id']}/runs/{g['run_id']}/mask.png")
    assert resp.status_code == 404 and "no mask" in resp.json()["detail"]

    # the CLI: `farm infer MODEL IMAGE --device … --delegate cpu,gpu --wait` saves the masks and says where
    import os
    import subprocess
    import sys

    picture = tmp_path / "scene.png"
    picture.write_bytes(scene())
    out = tmp_path / "masks"
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli.main",
            "infer",
            str(FIXTURE_MODEL),
            str(picture),
            "--device",
            str(good[0]),
            "--delegate",
            "cpu,gpu",
            "--range=-1,1",
            "--wait",
            "--out",
            str(out),
        ],
        env=os.environ | stack.env | {"COLUMNS": "250"},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert "masks and overlays in" in cli.stdout
    masks = sorted(out.glob("*-mask.png"))
    assert len(masks) == 2 and len(list(out.glob("*-overlay.png"))) == 2
    assert Image.open(masks[0]).size == (W, H)
    # images are private unless the request says public: an anonymous caller sees nothing of it
    import re

    import httpx

    cli_id = re.search(r"inference (\d+):", cli.stdout)
    assert cli_id is not None
    anonymous = httpx.get(f"http://127.0.0.1:{stack.api_port}/api/v1/inferences/{cli_id[1]}")
    assert anonymous.status_code == 404
    assert (
        httpx.get(f"http://127.0.0.1:{stack.api_port}/api/v1/inferences/{cli_id[1]}/image").status_code == 404
    )
    bad_cli = subprocess.run(
        [sys.executable, "-m", "cli.main", "infer", str(FIXTURE_MODEL), str(FIXTURE_MODEL), "--all"],
        env=os.environ | stack.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad_cli.returncode == 1 and "PNG or JPEG" in bad_cli.stdout and "Traceback" not in bad_cli.stderr


@pytest.mark.parametrize("stack", ["embedded"], indirect=True)
def test_benchmark_jobs_with_numerics_compare_each_delegate_with_the_cpu(
    stack: FarmStack, adb_server: AdbServer, fleet
) -> None:
    import os
    import subprocess
    import sys

    from device_agent.virtual.device import Faults

    adb_server.connect(fleet.add("sm8550").address)
    adb_server.connect(fleet.add("gs201", faults=Faults(gpu_output_noise=0.5)).address)
    stack.start_api()
    worker_data = stack.tmp / "worker-data"  # a farm host's own disk, apart from the API's
    worker = ["-m", "cli.main", "worker", "--concurrency", "4"]
    stack.spawn("worker", worker, stack.host_env(adb_server) | {"FARM_DATA_DIR": str(worker_data)})
    stack.start_agent(adb_server)
    phones = {d["id"]: d["model"] for d in stack.wait_online(2)}
    model = stack.upload(FIXTURE_MODEL)
    resp = stack.http.post(
        "/benchmarks",
        json={
            "model": str(model["id"]),
            "devices": {"all": True},
            "delegates": ["gpu", "cpu"],  # the GPU run first: the comparison waits for both
            "threads": [2],
            "num_runs": 3,
            "min_secs": 0.01,
            "warmup_min_secs": 0.01,
            "trials": 1,
            "numerics": True,
            "op_profile": False,
        },
    )
    assert resp.status_code == 202, resp.text
    job = stack.wait_job(resp.json()["id"])
    assert job["state"] == "succeeded", stack.logs()
    rows = {phones[n["device_id"]]: n for n in stack.http.get(f"/benchmarks/{job['id']}/numerics").json()}
    assert set(rows) == {"SM-S911B", "Pixel 7"}
    ok, bad = rows["SM-S911B"], rows["Pixel 7"]
    assert ok["numerics"]["pixel_agreement"] >= 0.99 and not ok["numerics"]["bit_exact"]
    assert not ok["numerics_mismatch"]
    assert bad["numerics_mismatch"] and bad["numerics"]["pixel_agreement"] < 0.99
    # the worker kept each run's numerics output only until it was uploaded: nothing remains
    assert sorted(p.name for p in worker_data.iterdir()) == ["cache", "scratch"]
    assert list((worker_data / "scratch").iterdir()) == []
    page = stack.http.get(f"http://127.0.0.1:{stack.api_port}/jobs/{job['id']}").text
    assert 'id="numerics"' in page and "numerics_mismatch" in page
    cli = subprocess.run(
        [sys.executable, "-m", "cli.main", "compare", str(job["id"]), str(job["id"])],
        env=os.environ | stack.env | {"COLUMNS": "250"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert "numerics_mismatch: Pixel 7 gpu" in cli.stdout
