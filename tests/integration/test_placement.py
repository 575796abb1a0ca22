"""Through the farm: a gpu job profiles each run once more and stores where the nodes ran."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.stack import AdbServer, FarmStack

pytestmark = pytest.mark.integration
CUMSUM_MODEL = Path(__file__).resolve().parents[1] / "fixtures" / "tiny_segmenter_cumsum.tflite"


@pytest.mark.parametrize("stack", ["embedded"], indirect=True)
def test_gpu_runs_store_nodes_delegated_and_the_cpu_fallbacks_per_soc(
    stack: FarmStack, adb_server: AdbServer, fleet
) -> None:
    for profile in ("sm8550", "exynos7420"):
        adb_server.connect(fleet.add(profile).address)
    stack.start_api()
    stack.start_worker(adb_server)
    stack.start_agent(adb_server)
    stack.wait_online(2)
    model = stack.upload(CUMSUM_MODEL)
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
            "thermal_limit_c": None,
        },
    )
    assert resp.status_code == 202, resp.text
    job = stack.wait_job(resp.json()["id"])
    assert job["state"] == "succeeded", stack.logs()
    by_soc = {}
    for run in job["runs"]:
        env = run["result"]["env"]
        if run["delegate"] == "cpu":
            assert env["placement"] is None  # not asked for: the default profiles accelerators only
            continue
        placement = env["placement"]
        assert placement["source"] == "csv", placement
        by_soc[run["device_id"]] = placement
    assert len(by_soc) == 2
    for placement in by_soc.values():
        assert placement["nodes_delegated"] < placement["nodes_total"] == 16
        assert "CUMSUM" in {f["op_type"] for f in placement["fallback_ops"]}
        assert placement["top_ops"]
    assert len({p["nodes_delegated"] for p in by_soc.values()}) == 2  # the Mali refuses more

    # the pages, as HTML (the browser tests drive the same pages in Chromium)
    base = f"http://127.0.0.1:{stack.api_port}"
    html = stack.http.get(f"{base}/jobs/{job['id']}").text
    assert "15/16 nodes on GPU" in html and "13/16 nodes on GPU" in html and "CUMSUM ×1" in html
    model_html = stack.http.get(f"{base}/models/{model['id']}").text
    assert 'id="predicted-ops"' in model_html and "CUMSUM" in model_html
    a, b = sorted(by_soc)
    ops_html = stack.http.get(f"{base}/compare/ops", params={"model": model["id"], "a": a, "b": b}).text
    assert "TfLiteGpuDelegateV2" in ops_html and 'id="ops-compare"' in ops_html
    share_html = stack.http.get(f"{base}/compare", params={"models": model["id"], "include_virtual": 1}).text
    assert "15/16 (94%)" in share_html
