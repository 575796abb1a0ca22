"""The dashboard in a real headless Chromium, after a real benchmark on virtual phones.

Nothing is faked: a production-mode farm (Postgres, Redis, uvicorn, Celery worker, agent)
benchmarks the fixture model on four virtual phones over adb; then Playwright drives
Debian's Chromium through every page, checks the comparison table against the results
the REST API returns, downloads the CSV and Markdown exports and saves a screenshot of
each page under test-artifacts/screenshots/.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import FIXTURE_MODEL, SEED_PHONES
from tests.stack import ROOT, AdbServer, FarmStack

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "test-artifacts" / "screenshots"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (/usr/bin/chromium)"),
]


SEED_SOCS = ["Snapdragon 625", "Snapdragon 845", "Snapdragon 430", "Exynos 7420"]
BROKEN, BROKEN_SOC = "sm8550", "Snapdragon 8 Gen 2"  # its benchmark_model crashes: a failed job


@dataclass
class Farm:
    mode: str
    stack: FarmStack
    base: str
    model: dict[str, Any]
    job: dict[str, Any]
    failed_job: dict[str, Any]
    results: list[dict[str, Any]]


@pytest.fixture(scope="module", params=["production", "embedded"])
def farm(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Farm]:
    from device_agent.virtual.device import Faults
    from device_agent.virtual.fleet import PhoneFleet

    tmp = tmp_path_factory.mktemp(f"dashboard-{request.param}")
    adb = AdbServer(tmp / "adbhome")
    adb.start()
    fleet = PhoneFleet()
    stack = FarmStack(tmp, mode=request.param)
    stack.env["FARM_QUARANTINE_AFTER"] = "1"
    try:
        for profile in SEED_PHONES:
            adb.connect(fleet.add(profile).address)
        adb.connect(fleet.add(BROKEN, faults=Faults(benchmark_crash_signal=11)).address)
        stack.start_api()
        stack.start_worker(adb)
        stack.start_agent(adb)
        stack.wait_online(len(SEED_PHONES) + 1, timeout=60)
        model = stack.upload(FIXTURE_MODEL)
        resp = stack.http.post(
            "/benchmarks",
            json={
                "model": str(model["id"]),
                "devices": {"socs": SEED_SOCS},
                "delegates": ["cpu", "gpu"],
                "threads": [2],
                "num_runs": 10,
                "warmup_runs": 1,
                "min_secs": 0.05,
                "warmup_min_secs": 0.01,
                "trials": 2,
                "cooldown_s": 0,
            },
        )
        assert resp.status_code == 202, resp.text
        job = stack.wait_job(resp.json()["id"], timeout=180)
        assert job["state"] == "succeeded", stack.logs()
        (broken,) = [d for d in stack.devices() if d["soc_name"].startswith(BROKEN_SOC)]
        resp = stack.http.post(
            "/benchmarks",
            json={
                "model": str(model["id"]),
                "devices": {"ids": [broken["id"]]},
                "delegates": ["cpu"],
                "num_runs": 5,
                "min_secs": 0.01,
                "warmup_min_secs": 0.01,
                "trials": 1,
            },
        )
        assert resp.status_code == 202, resp.text
        failed = stack.wait_job(resp.json()["id"], timeout=120)
        assert failed["state"] == "failed", stack.logs()
        found = stack.http.get("/results", params={"model": str(model["id"]), "limit": 1000}).json()
        results = found["items"]
        assert len(results) == 2 * len(SEED_PHONES)
        base = f"http://127.0.0.1:{stack.api_port}"
        yield Farm(request.param, stack, base, model, job, failed, results)
    finally:
        stack.close()
        fleet.close()
        adb.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def shot(page: Any, farm: Farm, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    suffix = "" if farm.mode == "production" else f"-{farm.mode}"
    page.screenshot(path=str(SHOTS / f"{name}{suffix}.png"), full_page=True)


def open_page(page: Any, url: str) -> None:
    resp = page.goto(url)
    assert resp is not None and resp.status == 200, f"{url}: {resp and resp.status}"
    assert page.locator("nav.top a", has_text="Leaderboard").count() == 1


def row_label(farm: Farm, delegate: str) -> str:
    shape = farm.model["inputs"][0]["shape"]
    return f"{farm.model['name']} [{shape[1]}x{shape[2]}] {delegate.upper()}"


def test_overview_devices_models_jobs(farm: Farm, page: Any) -> None:
    n_phones = len(SEED_PHONES) + 1
    open_page(page, farm.base + "/")
    assert page.locator(".card", has_text="phones").inner_text().startswith(str(n_phones))
    shot(page, farm, "home")

    open_page(page, farm.base + "/devices")
    rows = page.locator("#devices tbody tr")
    assert rows.count() == n_phones
    assert page.locator("#devices tbody .tag.virtual").count() == n_phones
    text = page.locator("#devices").inner_text()
    for soc in SEED_SOCS:
        assert soc in text
    broken = page.locator("#devices tbody tr", has_text=BROKEN_SOC)
    assert broken.locator(".state").inner_text() == "quarantined"
    assert "Quarantined after 1 failed run" in broken.locator(".hint").inner_text()
    shot(page, farm, "devices")

    open_page(page, farm.base + "/models")
    model_row = page.locator("#models tbody tr", has_text=farm.model["name"])
    assert model_row.count() == 1
    shape = "×".join(str(d) for d in farm.model["inputs"][0]["shape"])
    assert shape in model_row.inner_text()
    assert model_row.locator("td.num").last.inner_text() == "2"  # two jobs
    shot(page, farm, "models")

    open_page(page, farm.base + "/jobs")
    assert page.locator("#jobs tbody tr").count() == 2
    job_row = page.locator("#jobs tbody tr", has=page.locator(f'a[href="/jobs/{farm.job["id"]}"]'))
    assert "succeeded" in job_row.inner_text()
    assert "8/8 runs" in job_row.inner_text()
    failed_row = page.locator("#jobs tbody tr", has=page.locator(f'a[href="/jobs/{farm.failed_job["id"]}"]'))
    assert "failed" in failed_row.inner_text() and "1/1 runs, 1 failed" in failed_row.inner_text()
    shot(page, farm, "jobs")


def test_job_detail(farm: Farm, page: Any) -> None:
    open_page(page, f"{farm.base}/jobs/{farm.job['id']}")
    rows = page.locator("#results tbody tr")
    assert rows.count() == len(farm.results)
    by_run = {r["run_id"]: r for r in farm.results}
    cells = [rows.nth(i).locator("td").nth(4).inner_text() for i in range(rows.count())]
    assert sorted(cells) == sorted(f"{r['avg_us'] / 1000:.2f}" for r in by_run.values())
    # plotly.js came from our static route and drew the figures: latency and trials; no speed-up
    # chart, since these virtual phones run in host timing (a GPU there is the host's CPU)
    page.wait_for_selector("#latency .main-svg")
    # no speed-up chart: these virtual phones run in host timing (a GPU there is the host's CPU)
    assert page.locator(".chart:not(.ops) .js-plotly-plot").count() == 2
    host_timed = [r for r in farm.results if r["delegate"] in ("gpu", "nnapi")]
    assert page.locator("#results .tag", has_text="host timing, not a phone").count() == len(host_timed)
    assert page.locator("#latency .bars .point").count() >= len(farm.results)
    # raw output on demand
    first = page.locator("details.raw").first
    assert not first.locator("pre").is_visible()
    first.locator("summary").click()
    assert "Inference timings in us" in first.locator("pre").inner_text()
    assert page.locator("#failures").count() == 0
    shot(page, farm, "job")


def test_failed_job_shows_its_reason(farm: Farm, page: Any) -> None:
    open_page(page, f"{farm.base}/jobs/{farm.failed_job['id']}")
    assert page.locator("#results").count() == 0
    assert page.locator(".js-plotly-plot").count() == 0
    (run,) = farm.failed_job["runs"]
    assert run["error"]
    reason = page.locator("#failures tbody tr td.reason")
    assert reason.count() == 1
    assert reason.inner_text() == run["error"]
    shot(page, farm, "job-failed")


def test_leaderboard_tells_when_only_virtual_phones_have_results(farm: Farm, page: Any) -> None:
    open_page(page, f"{farm.base}/leaderboard?model={farm.model['id']}")
    assert page.locator("#leaderboard").count() == 0
    note = page.locator("#virtual-only")
    assert note.is_visible()
    note.locator("a").click()
    page.wait_for_selector("#leaderboard")
    assert "include_virtual=1" in page.url
    rows = page.locator("#leaderboard tbody tr")
    assert rows.count() == len(SEED_PHONES)
    best: dict[int, float] = {}
    for r in farm.results:
        best[r["device_id"]] = min(best.get(r["device_id"], float("inf")), r["avg_us"])
    expected = [f"{v / 1000:.2f}" for v in sorted(best.values())]
    got = [rows.nth(i).locator("td").nth(4).inner_text() for i in range(rows.count())]
    assert got == expected
    shot(page, farm, "leaderboard")

    page.select_option("select[name=delegate]", "gpu")
    page.click("form.filters button")
    page.wait_for_url(re.compile(r"delegate=gpu"))
    gpu = sorted(r["avg_us"] for r in farm.results if r["delegate"] == "gpu")
    got = [rows.nth(i).locator("td").nth(4).inner_text() for i in range(rows.count())]
    assert got == [f"{v / 1000:.2f}" for v in gpu]


def expected_cells(farm: Farm) -> dict[tuple[str, str], float]:
    """(row label, SoC) -> mean ms over that SoC's phones, from GET /api/v1/results."""
    per_phone: dict[tuple[str, str, int], list[float]] = defaultdict(list)
    for r in farm.results:
        per_phone[(row_label(farm, r["delegate"]), r["soc"], r["device_id"])].append(r["avg_us"] / 1000)
    cells: dict[tuple[str, str], list[float]] = defaultdict(list)
    for (label, soc, _), values in per_phone.items():
        cells[(label, soc)].append(sum(values) / len(values))
    return {k: sum(v) / len(v) for k, v in cells.items()}


def column_for(headers: list[str], soc: str) -> int:
    matches = [i for i, h in enumerate(headers) if h.startswith(soc + " (") and h.endswith("[virtual]")]
    assert len(matches) == 1, (soc, headers)
    return matches[0]


def test_compare_table_and_exports(farm: Farm, page: Any) -> None:
    url = f"{farm.base}/compare?models={farm.model['id']}"
    open_page(page, url)
    assert page.locator("#virtual-only").is_visible()
    assert page.locator("#compare").count() == 0
    open_page(page, url + "&include_virtual=1")
    headers = [h.strip() for h in page.locator("#compare thead th").all_inner_texts()]
    assert headers[0] == "" and headers[-1] == "Size (MB)"
    assert all(" GB RAM" in h for h in headers[1:-1]), headers
    body = page.locator("#compare tbody tr")
    labels = [body.nth(i).locator("th").inner_text() for i in range(body.count())]
    assert labels == [row_label(farm, "cpu"), row_label(farm, "gpu")]
    expected = expected_cells(farm)
    assert len(expected) == 2 * len(SEED_PHONES)
    for (label, soc), ms in expected.items():
        col = column_for(headers, soc)
        tr = body.nth(labels.index(label))
        cell = tr.locator("td").nth(col - 1)
        assert cell.inner_text() == f"{ms:.2f}", (label, soc)
        assert "hsl(" in (cell.get_attribute("style") or "")
    size = body.nth(0).locator("td").last.inner_text()
    assert size == f"{farm.model['size_bytes'] / 1e6:.2f}"
    assert page.locator("#speedup tbody tr").count() == 1
    shot(page, farm, "compare")

    with page.expect_download() as info:
        page.click("#csv")
    download = info.value
    assert download.suggested_filename == "compare.csv"
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text())))
    assert rows[0][0] == "model" and rows[0][1:] == headers[1:]
    for (label, soc), ms in expected.items():
        line = next(r for r in rows if r[0] == label)
        assert float(line[column_for(headers, soc)]) == pytest.approx(ms, abs=0.001)

    with page.expect_download() as info:
        page.click("#markdown")
    download = info.value
    assert download.suggested_filename == "compare.md"
    md = Path(download.path()).read_text().splitlines()
    assert md[0] == "|  | " + " | ".join(headers[1:]) + " |"
    assert md[1] == "|" + "|".join(["---"] * len(headers)) + "|"
    for (label, soc), ms in expected.items():
        md_line = next(x for x in md if x.startswith(f"| {label} |"))
        cells = [c.strip() for c in md_line.strip("|").split("|")]
        assert cells[column_for(headers, soc)] == f"{ms:.2f}"


def test_model_pickers_offer_the_models_with_results(farm: Farm, page: Any) -> None:
    open_page(page, farm.base + "/compare?include_virtual=1")
    options = page.locator("#model-picker option")
    labels = [options.nth(i).inner_text() for i in range(options.count())]
    assert labels == [
        f"{farm.model['name']} [{'x'.join(map(str, farm.model['inputs'][0]['shape'][1:3]))}] (#{farm.model['id']})"
    ]
    page.select_option("#model-picker", [str(farm.model["id"])])
    page.click("form.filters button")
    page.wait_for_url(re.compile(rf"model={farm.model['id']}"))
    assert page.locator("#compare tbody tr").count() >= 1
    open_page(page, farm.base + "/leaderboard")
    assert page.locator("#model-picker option").count() == 1
