"""The `farm` CLI and the notebook client against a real farm: messages, never tracebacks.

One farm for the module (API, Celery worker, agent, adb server, two virtual Pixel 3 and a
Galaxy S6); every command runs as a subprocess, as a person would type it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import FIXTURE_MODEL
from tests.stack import ROOT, AdbServer, FarmStack, free_port

pytestmark = pytest.mark.integration

FAST = ["--runs", "5", "--warmup", "0"]
FAST_SPEC: dict[str, Any] = {"min_secs": 0.02, "warmup_min_secs": 0.0, "trials": 1, "cooldown_s": 0}


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FarmStack]:
    from device_agent.virtual.fleet import PhoneFleet

    tmp = tmp_path_factory.mktemp("cli-farm")
    stack = FarmStack(tmp, mode="production")
    adb = AdbServer(tmp / "adbhome")
    adb.start()
    fleet = PhoneFleet()
    try:
        for profile in ("sdm845", "sdm845", "exynos7420"):
            adb.connect(fleet.add(profile).address)
        stack.start_api()
        stack.start_worker(adb)
        stack.start_agent(adb)
        stack.wait_online(3, timeout=60)
        yield stack
    finally:
        fleet.close()
        stack.close()
        adb.stop()


def farm_cli(env: dict[str, str], *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """`farm ARGS` as a subprocess; fails the test on any traceback."""
    run_env = dict(env)
    run_env.setdefault("PYTHONPATH", str(ROOT))
    run_env["COLUMNS"] = "200"
    proc = subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        env=run_env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out, out
    return proc


def short_error(proc: subprocess.CompletedProcess[str]) -> str:
    """The error, checked to be one or two lines on stderr with a non-zero exit."""
    assert proc.returncode != 0, proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert 1 <= len(lines) <= 2 and lines[0].startswith("error:"), proc.stderr
    return proc.stderr


def cancel_submitted(stack: FarmStack, proc: subprocess.CompletedProcess[str]) -> None:
    """Free the phones for the next test: `farm submit` printed 'benchmark N: ...'."""
    job_id = proc.stdout.split("benchmark ", 1)[1].split(":", 1)[0]
    stack.http.post(f"/benchmarks/{job_id}/cancel")


def token(role: str) -> str:
    from contracts.vocabulary import Role
    from server.auth.service import create_token, free_token_name
    from server.db import session_scope

    user = f"cli-{role}"
    with session_scope() as db:
        return create_token(db, free_token_name(db, user, user), Role(role), user=user)


def test_farm_devices_with_the_api_elsewhere_says_where_it_looked(farm: FarmStack) -> None:
    env = dict(farm.env, FARM_API_URL=f"http://127.0.0.1:{free_port()}")
    err = short_error(farm_cli(env, "devices"))
    assert "cannot reach the farm" in err and "FARM_API_URL" in err


def test_comparing_with_a_benchmark_that_does_not_exist_is_a_404_message(farm: FarmStack) -> None:
    farm.apply_env()
    err = short_error(farm_cli(farm.env, "compare", "3", "999"))
    assert "No benchmark with id" in err


def test_a_submitter_tagging_a_phone_is_told_it_needs_another_role(farm: FarmStack) -> None:
    farm.apply_env()
    env = dict(farm.env, FARM_TOKEN=token("submitter"))
    err = short_error(farm_cli(env, "device", "tag", "1", "mine"))
    assert "admin" in err


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["submit", "m.tflite", "--all", "--threads", "four"], "--threads"),
        (["submit", "m.tflite", "--all", "--delegate", "tpu"], "--delegate"),
        (["compare", "1", "2", "--fail-on-regression", "five"], "--fail-on-regression"),
        (["compare", "1", "2", "--format", "html"], "--format"),
    ],
)
def test_bad_options_name_the_flag(farm: FarmStack, args: list[str], flag: str) -> None:
    err = short_error(farm_cli(farm.env, *args))
    assert flag in err


def test_models_build_without_tensorflow_says_which_extra_to_install(farm: FarmStack, tmp_path: Path) -> None:
    fake = tmp_path / "no-tf"
    for name in ("tensorflow", "keras"):
        (fake / name).mkdir(parents=True)
        (fake / name / "__init__.py").write_text(
            f'raise ModuleNotFoundError("No module named {name}", name="{name}")\n'
        )
    env = dict(farm.env, PYTHONPATH=f"{fake}{os.pathsep}{ROOT}")
    err = short_error(farm_cli(env, "models", "build", "--only", "unet_224", "--out", str(tmp_path)))
    assert "pip install -e '.[zoo]'" in err


def test_token_create_finds_the_farm_from_another_directory(tmp_path: Path) -> None:
    from contracts.farm_config import write_config

    data = tmp_path / "farm-data"
    config = tmp_path / "config.toml"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FARM_")}
    env.update(FARM_CONFIG=str(config), PYTHONPATH=str(ROOT), FARM_DATA_DIR=str(data))
    subprocess.run(
        [sys.executable, "-m", "cli.main", "migrate"], env=env, cwd=ROOT, check=True, capture_output=True
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    del env["FARM_DATA_DIR"]
    missing = short_error(farm_cli(env, "token", "create", "--role", "viewer", cwd=elsewhere))
    assert "farm database" in missing and "FARM_DATA_DIR" in missing
    write_config({"api_url": "http://127.0.0.1:1", "data_dir": str(data)}, config)
    made = farm_cli(env, "token", "create", "--role", "viewer", cwd=elsewhere)
    assert made.returncode == 0 and made.stdout.strip().startswith("pf_"), made.stderr


def test_submit_refuses_a_soc_that_matches_nothing_and_lists_the_available_ones(farm: FarmStack) -> None:
    err = short_error(
        farm_cli(farm.env, "submit", str(FIXTURE_MODEL), "--soc", "sdm845", "--soc", "Snapdragon 9000", *FAST)
    )
    assert "Snapdragon 9000" in err and "available SoCs: Exynos 7420, Snapdragon 845" in err
    ok = farm_cli(
        farm.env,
        "submit",
        str(FIXTURE_MODEL),
        "--soc",
        "sdm845",
        "--soc",
        "Snapdragon 9000",
        "--allow-partial",
        *FAST,
    )
    assert ok.returncode == 0 and "2 runs queued" in ok.stdout, ok.stderr
    cancel_submitted(farm, ok)


def test_selectors_take_chip_ids_name_prefixes_and_any_case_delegates(farm: FarmStack) -> None:
    model = farm.upload(FIXTURE_MODEL)
    for soc, phones in (("SDM845", 2), ("Exynos 74", 1), ("snapdragon 845", 2)):
        resp = farm.http.post(
            "/benchmarks",
            json={"model": model["id"], "devices": {"socs": [soc]}, "delegates": ["GPU"], **FAST_SPEC},
        )
        assert resp.status_code == 202, resp.text
        assert resp.json()["progress"]["total"] == phones
        farm.http.post(f"/benchmarks/{resp.json()['id']}/cancel")
    nothing = farm.http.post(
        "/benchmarks", json={"model": model["id"], "devices": {"socs": ["Snapdragon 8 Gen 2"]}}
    )
    assert nothing.status_code == 422 and "Snapdragon 8 Gen 2" in nothing.json()["detail"]
    assert nothing.json()["available_socs"] == ["Exynos 7420", "Snapdragon 845"]


def test_submit_takes_a_file_an_id_or_a_name(farm: FarmStack) -> None:
    model = farm.upload(FIXTURE_MODEL)
    for ref in (str(FIXTURE_MODEL), str(model["id"]), model["name"]):
        proc = farm_cli(farm.env, "submit", ref, "--soc", "Exynos 7420", "--delegate", "CPU", *FAST)
        assert proc.returncode == 0 and f"#{model['id']}" in proc.stdout, proc.stderr
        cancel_submitted(farm, proc)
    unknown = short_error(farm_cli(farm.env, "submit", "no-such-model", "--all", *FAST))
    assert "no-such-model" in unknown
    missing = short_error(farm_cli(farm.env, "submit", "./missing.tflite", "--all", *FAST))
    assert "no such file" in missing


def test_submit_help_advertises_no_option_that_does_not_exist(farm: FarmStack) -> None:
    out = farm_cli(farm.env, "submit", "--help").stdout
    assert "--model-ref" not in out and "--allow-partial" in out


def test_devices_fit_80_columns_and_tell_twin_phones_apart(farm: FarmStack) -> None:
    env = dict(farm.env, COLUMNS="80")
    proc = subprocess.run(
        [sys.executable, "-m", "cli.main", "devices"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = proc.stdout.splitlines()
    assert proc.returncode == 0 and max(len(line) for line in lines) <= 80, proc.stdout
    pixels = [line for line in lines if "Pixel 3" in line]
    assert len(pixels) == 2 and pixels[0].split("│")[2] != pixels[1].split("│")[2]
    assert "GB" in proc.stdout and "serial" not in proc.stdout
    wide = farm_cli(farm.env, "devices", "--wide").stdout
    assert "serial" in wide and "host" in wide


def test_the_notebook_client_runs_a_benchmark_and_returns_frames(farm: FarmStack) -> None:
    from phonefarm import Farm, FarmError

    client = Farm(url=farm.env["FARM_API_URL"], token=farm.token)
    assert len(client.devices()) == 3
    job = client.benchmark(FIXTURE_MODEL, socs=["sdm845"], delegates=["cpu", "GPU"], num_runs=5, **FAST_SPEC)
    job.wait(progress=True, timeout=180)
    assert job.state == "succeeded", farm.logs()
    df = job.results()
    assert len(df) == 4 and df["avg_ms"].gt(0).all()
    assert df["phone"].nunique() == 2 and all(p.startswith("Pixel 3 · ") for p in df["phone"])
    table = job.table()
    assert list(table.columns) == ["Snapdragon 845"] and len(table) == 2
    again = client.benchmark(job.data["model_id"], socs=["Snapdragon 845"], num_runs=5, **FAST_SPEC).wait()
    cmp = client.compare(job, again)
    assert len(cmp.pairs) == 2 and "| phone |" in cmp.to_markdown(0.05)
    with pytest.raises(FarmError) as refused:
        client.benchmark(FIXTURE_MODEL, socs=["Dimensity 1200", "sdm845"])
    assert "Snapdragon 845" in refused.value.available_socs


def test_farm_reads_where_the_farm_is_from_the_config(farm: FarmStack, tmp_path: Path) -> None:
    from contracts.farm_config import write_config
    from phonefarm import Farm

    token_file = tmp_path / "admin.token"
    token_file.write_text(farm.token + "\n")
    config = write_config(
        {"api_url": farm.env["FARM_API_URL"], "token_file": str(token_file)}, tmp_path / "c.toml"
    )
    env = {k: v for k, v in farm.env.items() if k not in ("FARM_API_URL", "FARM_TOKEN")}
    env["FARM_CONFIG"] = str(config)
    proc = farm_cli(env, "device", "tag", "1", "from-config")
    assert proc.returncode == 0 and "from-config" in proc.stdout, proc.stderr
    saved = {k: os.environ.pop(k, None) for k in ("FARM_API_URL", "FARM_TOKEN", "FARM_CONFIG")}
    try:
        os.environ["FARM_CONFIG"] = str(config)
        assert Farm().url == farm.env["FARM_API_URL"]
    finally:
        for k, v in saved.items():
            if v is not None:
                os.environ[k] = v


def test_compare_writes_markdown_for_a_pr_comment(farm: FarmStack) -> None:
    model = farm.upload(FIXTURE_MODEL)
    ids = []
    for _ in range(2):
        resp = farm.http.post(
            "/benchmarks", json={"model": str(model["id"]), "devices": {"socs": ["exynos7420"]}, **FAST_SPEC}
        )
        ids.append(farm.wait_job(resp.json()["id"], 180)["id"])
    proc = farm_cli(
        farm.env, "compare", str(ids[0]), str(ids[1]), "--format", "markdown", "--fail-on-regression", "5%"
    )
    # two runs on a loaded machine may differ: the verdict line and the exit code must agree
    regressed = "regression(s)** beyond 5%" in proc.stdout
    assert regressed or "No regression beyond 5%" in proc.stdout, proc.stdout
    assert proc.returncode == (1 if regressed else 0), proc.stderr
    assert proc.stdout.startswith("### PhoneFarm") and "SM-G920F" in proc.stdout
    narrow = subprocess.run(
        [sys.executable, "-m", "cli.main", "compare", str(ids[0]), str(ids[1])],
        env=dict(farm.env, COLUMNS="80"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert narrow.returncode == 0 and max(len(line) for line in narrow.stdout.splitlines()) <= 80, (
        narrow.stdout
    )
    assert "SM-G920F" in narrow.stdout and "cpu ×4" in narrow.stdout
