"""Placement and inference pages in headless Chromium after real jobs on virtual phones.

A farm (embedded mode) benchmarks the fixture with a CUMSUM (no GPU kernel) on two virtual
SoCs whose GPUs accept different ops; the pages must show what each phone's benchmark_model
reported, beside the upload-time prediction. Screenshots go with the others.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_pages import ARGS, CHROMIUM, SHOTS
from tests.stack import AdbServer, FarmStack

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (/usr/bin/chromium)"),
]
MODEL = Path(__file__).resolve().parents[1] / "fixtures" / "tiny_segmenter_cumsum.tflite"
PHONES = ("sm8550", "exynos7420")


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from device_agent.virtual.fleet import PhoneFleet

    tmp = tmp_path_factory.mktemp("placement")
    adb = AdbServer(tmp / "adbhome")
    adb.start()
    fleet = PhoneFleet()
    stack = FarmStack(tmp, mode="embedded")
    try:
        for profile in PHONES:
            adb.connect(fleet.add(profile).address)
        stack.start_api()
        stack.start_worker(adb)
        stack.start_agent(adb)
        devices = stack.wait_online(len(PHONES), timeout=60)
        model = stack.upload(MODEL)
        resp = stack.http.post(
            "/benchmarks",
            json={
                "model": str(model["id"]),
                "devices": {"all": True},
                "delegates": ["cpu", "gpu"],
                "threads": [2],
                "num_runs": 5,
                "min_secs": 0.01,
                "warmup_min_secs": 0.01,
                "trials": 1,
                "cooldown_s": 0,
            },
        )
        assert resp.status_code == 202, resp.text
        job = stack.wait_job(resp.json()["id"], timeout=180)
        assert job["state"] == "succeeded", stack.logs()
        yield {
            "base": f"http://127.0.0.1:{stack.api_port}",
            "model": model,
            "job": job,
            "devices": {d["soc_name"]: d["id"] for d in devices},
            "auth": {"Authorization": f"Bearer {stack.token}"},
        }
    finally:
        stack.close()
        fleet.close()
        adb.stop()


@pytest.fixture
def page() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 900})
        errors: list[str] = []
        pg.on("pageerror", lambda exc: errors.append(str(exc)))
        yield pg
        browser.close()
        assert not errors, f"JavaScript errors on the page: {errors}"


def _open(page: Any, url: str) -> None:
    resp = page.goto(url)
    assert resp is not None and resp.status == 200, f"{url}: {resp and resp.status}"


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_job_page_shows_nodes_on_gpu_fallbacks_and_top_ops(farm: dict[str, Any], page: Any) -> None:
    _open(page, f"{farm['base']}/jobs/{farm['job']['id']}")
    rows = page.locator("#placement tbody tr")
    assert rows.count() == 2  # the gpu runs; cpu runs are not profiled by default
    text = page.locator("#placement").inner_text()
    assert "15/16 nodes on GPU" in text  # the newer SoC: only CUMSUM stays on the CPU
    assert "13/16 nodes on GPU" in text  # the Mali also refuses the two bilinear resizes
    assert "CUMSUM ×1" in text and "RESIZE_BILINEAR ×2" in text
    page.wait_for_selector(".chart.ops .main-svg")
    assert page.locator(".chart.ops .js-plotly-plot").count() == 2
    _shot(page, "job-placement")


def test_model_page_sets_the_prediction_beside_the_measured_fallbacks(
    farm: dict[str, Any], page: Any
) -> None:
    _open(page, f"{farm['base']}/models/{farm['model']['id']}")
    assert "CUMSUM" in page.locator("#predicted-ops").inner_text()
    actual = page.locator("#actual-fallbacks").inner_text()
    assert "CUMSUM" in actual and "Exynos 7420" in actual
    _shot(page, "model-gpu-placement")


def test_op_level_compare_of_two_phones(farm: dict[str, Any], page: Any) -> None:
    ids = sorted(farm["devices"].values())
    _open(page, f"{farm['base']}/compare/ops?model={farm['model']['id']}&a={ids[0]}&b={ids[1]}&delegate=gpu")
    by_type = page.locator("#ops-by-type").inner_text()
    assert "TfLiteGpuDelegateV2" in by_type and "CUMSUM" in by_type
    page.wait_for_selector("#ops-compare .main-svg")
    _shot(page, "compare-ops")

    _open(page, f"{farm['base']}/compare?models={farm['model']['id']}&include_virtual=1")
    share = page.locator("#delegated-share").inner_text()
    assert "15/16 (94%)" in share and "13/16 (81%)" in share
    _shot(page, "compare-delegated-share")


def test_inference_page_shows_the_image_and_overlays_side_by_side(farm: dict[str, Any], page: Any) -> None:
    import io
    import json
    import time

    import httpx
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (160, 100), (90, 90, 90))
    ImageDraw.Draw(img).ellipse((30, 10, 120, 90), fill=(200, 60, 60))
    buf = io.BytesIO()
    img.save(buf, format="JPEG")
    spec = {
        "model": str(farm["model"]["id"]),
        "devices": {"all": True},
        "delegates": ["cpu", "gpu"],
        "public": True,
    }
    api = httpx.Client(base_url=farm["base"] + "/api/v1", headers=farm["auth"], timeout=30)
    resp = api.post(
        "/inferences", files={"image": ("street.jpg", buf.getvalue())}, data={"spec": json.dumps(spec)}
    )
    assert resp.status_code == 202, resp.text
    inf = resp.json()
    deadline = time.monotonic() + 120
    while inf["state"] not in ("succeeded", "failed", "partial") and time.monotonic() < deadline:
        time.sleep(0.5)
        inf = api.get(f"/inferences/{inf['id']}").json()
    assert inf["state"] == "succeeded", inf

    _open(page, f"{farm['base']}/inferences/{inf['id']}")
    assert page.locator("section.phone").count() == 2
    overlays = page.locator("img.overlay")
    assert overlays.count() == 4
    page.wait_for_function("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)")
    assert page.evaluate("() => document.querySelector('img.overlay').naturalWidth") == 160
    text = page.locator("section.phone").first.inner_text()
    assert "agreement with CPU" in text and "numerics_mismatch" not in text
    _shot(page, "inference")
    _open(page, f"{farm['base']}/jobs/{inf['job_id']}")
    assert page.locator("#inference-link a").get_attribute("href") == f"/inferences/{inf['id']}"
