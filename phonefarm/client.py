"""`Farm`: the farm's REST API for notebooks, scripts and the `farm` CLI.

Five lines from nothing to a DataFrame::

    from phonefarm import Farm
    farm = Farm()                                   # URL and token from `farm up`'s config
    job = farm.benchmark("model.tflite", socs=["Snapdragon 845"], delegates=["cpu", "gpu"])
    job.wait(progress=True)
    job.results()                                   # one row per run; job.table() pivots it

Where the farm is comes from the same place as for the CLI: arguments, then `FARM_API_URL`
/ `FARM_TOKEN` / `FARM_TOKEN_FILE`, then the file `farm up` writes
(contracts/farm_config.py). Errors are `FarmError` (the farm's problem+json) or
`FarmUnreachable` (nothing answered), never a bare HTTP exception.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from contracts.farm_http import FarmHttp, resolve_token
from contracts.settings import Settings
from phonefarm.frames import results_frame, seed_table

TERMINAL_JOB_STATES = frozenset({"succeeded", "failed", "partial", "cancelled"})


@dataclass
class Comparison:
    """Benchmark b against a, phone by phone, at 95% confidence (GET /api/v1/compare)."""

    a: int
    b: int
    pairs: pd.DataFrame
    missing: list[str] = field(default_factory=list)
    unfinished: list[str] = field(default_factory=list)  # runs of either job that did not succeed

    @property
    def complete(self) -> bool:
        """Every phone and setting of both jobs measured by both: what a regression gate needs."""
        return not self.pairs.empty and not self.missing and not self.unfinished

    def not_compared(self) -> list[str]:
        out = [*self.missing, *self.unfinished]
        if self.pairs.empty:
            out.append("no phone and setting was measured by both jobs")
        return out

    def regressions(self, tolerance: float) -> pd.DataFrame:
        """Pairs where b is slower beyond noise and by more than `tolerance` (0.05 = 5%)."""
        if self.pairs.empty:
            return self.pairs
        bad = (self.pairs["verdict"] == "slower") & (self.pairs["ratio"] > 1 + tolerance)
        return self.pairs[bad]

    def to_markdown(self, tolerance: float | None = None) -> str:
        """A GitHub-flavoured table for a PR comment, with a verdict line on top."""
        lines = [f"### PhoneFarm: benchmark {self.b} against {self.a}", ""]
        if tolerance is not None:
            bad = self.regressions(tolerance)
            verdict = (
                f"**{len(bad)} regression(s)** beyond {tolerance:.0%}"
                if len(bad)
                else f"No regression beyond {tolerance:.0%}"
            )
            lines += [verdict, ""]
        lines += [
            "| phone | SoC | delegate | threads | base ms | new ms | new/base | 95% interval | verdict |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        icons = {"slower": "🔴 slower", "faster": "🟢 faster"}
        for p in self.pairs.to_dict("records"):
            verdict = icons.get(p["verdict"], p["verdict"]) + (" (unstable)" if p["unstable"] else "")
            cells = [
                p["device"] or str(p["device_id"]),
                p["soc"] or "",
                p["delegate"],
                str(p["threads"]),
                f"{p['a_median_us'] / 1000:.3f}",
                f"{p['b_median_us'] / 1000:.3f}",
                f"{p['ratio']:.3f}",
                f"{p['ratio_low']:.3f}–{p['ratio_high']:.3f}"
                if p["ratio_low"] is not None and p["ratio_low"] == p["ratio_low"]
                else "none",
                verdict,
            ]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        lines += [f"\n_Not compared:_ {m}" for m in self.not_compared()]
        return "\n".join(lines) + "\n"


class Job:
    """A submitted benchmark: poll it, wait for it, read its results."""

    def __init__(self, farm: Farm, data: dict[str, Any]) -> None:
        self.farm = farm
        self.data = data

    @property
    def id(self) -> int:
        return int(self.data["id"])

    @property
    def state(self) -> str:
        return str(self.data["state"])

    @property
    def done(self) -> bool:
        return self.state in TERMINAL_JOB_STATES

    def __repr__(self) -> str:
        p = self.data.get("progress") or {}
        return f"<Job {self.id} {self.state} {p.get('done', 0)}/{p.get('total', '?')} runs>"

    def refresh(self) -> Job:
        self.data = self.farm.get(f"/benchmarks/{self.id}")
        return self

    def wait(self, progress: bool = False, timeout: float = 3600.0, interval: float = 0.5) -> Job:
        """Block until every run has finished; `progress=True` shows a tqdm bar (a widget in Jupyter)."""
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=self.data["progress"]["total"], desc=f"benchmark {self.id}", unit="run")
        deadline = time.monotonic() + timeout
        try:
            while True:
                self.refresh()
                if bar is not None:
                    p = self.data["progress"]
                    bar.n = p["done"]
                    bar.set_postfix_str(f"{self.state}: {p['running']} running, {p['failed']} failed")
                if self.done:
                    return self
                if time.monotonic() > deadline:
                    raise TimeoutError(f"benchmark {self.id} still {self.state} after {timeout:.0f} s")
                time.sleep(interval)
        finally:
            if bar is not None:
                bar.close()

    def results(self) -> pd.DataFrame:
        """One row per run: phone (told apart when two share a model), SoC, delegate, latencies in ms."""
        if not self.data.get("runs"):
            self.refresh()
        return results_frame(self.data, self.farm.devices())

    def table(self) -> pd.DataFrame:
        """The seed project's pivot: rows = delegate, columns = SoC, cells = mean ms."""
        model = self.farm.get(f"/models/{self.data['model_id']}")
        return seed_table(self.results(), str(model.get("name", "")))

    def cancel(self) -> Job:
        self.data = self.farm.post(f"/benchmarks/{self.id}/cancel")
        return self


class Farm(FarmHttp):
    """A PhoneFarm server. `Farm()` finds the farm `farm up` started; give url/token to override.

    `get`/`post`/`delete` are the transport (contracts/farm_http.py): problem+json errors become
    FarmError, no answer FarmUnreachable.
    """

    def __init__(self, url: str | None = None, token: str | None = None, timeout: float = 30.0) -> None:
        settings = Settings()
        super().__init__(
            url or settings.api_url, token if token is not None else resolve_token(settings), timeout
        )

    def __repr__(self) -> str:
        return f"Farm({self.url!r})"

    # -- the farm ---------------------------------------------------------------------------
    def devices(self) -> list[dict[str, Any]]:
        """Every phone the farm knows, as the API lists them (GET /api/v1/devices)."""
        return list(self.get("/devices"))

    def devices_frame(self) -> pd.DataFrame:
        return pd.DataFrame.from_records(self.devices())

    def models(self) -> list[dict[str, Any]]:
        return list(self.get("/models"))

    def upload(self, path: str | Path, public: bool = True) -> dict[str, Any]:
        """Upload a .tflite file (idempotent: the same bytes give the same model)."""
        path = Path(path)
        with path.open("rb") as fh:
            return dict(
                self.post(
                    "/models",
                    files={"file": (path.name, fh, "application/octet-stream")},
                    data={"public": str(public).lower()},
                )
            )

    def model_ref(self, model: str | int | Path) -> int | str:
        """A file is uploaded; an id, sha256 prefix, model or zoo name is passed on for the farm to find."""
        if isinstance(model, int):
            return model
        if isinstance(model, Path) or Path(str(model)).is_file():
            return int(self.upload(model)["id"])
        text = str(model).strip()
        return int(text) if text.isdecimal() else text

    def benchmark(
        self,
        model: str | int | Path,
        *,
        socs: Sequence[str] = (),
        ids: Sequence[int] = (),
        tags: Sequence[str] = (),
        serials: Sequence[str] = (),
        all: bool = False,
        delegates: Sequence[str] = ("cpu",),
        threads: Sequence[int] = (4,),
        num_runs: int = 50,
        allow_partial: bool = False,
        public: bool = True,
        **protocol: Any,
    ) -> Job:
        """Benchmark `model` (a file, a model id, or a model/zoo name) on the chosen phones.

        `protocol` takes the API's other measurement fields (warmup_runs, trials,
        cooldown_s, thermal_limit_c, ...; see /docs). A selector that matches nothing
        raises FarmError listing `available_socs`, unless allow_partial=True.
        """
        body: dict[str, Any] = {
            "model": self.model_ref(model),
            "devices": {
                "all": all,
                "socs": list(socs),
                "ids": list(ids),
                "tags": list(tags),
                "serials": list(serials),
                "allow_partial": allow_partial,
            },
            "delegates": [str(d).strip().lower() for d in delegates],
            "threads": list(threads),
            "num_runs": num_runs,
            "public": public,
            **protocol,
        }
        return Job(self, self.post("/benchmarks", json=body))

    def job(self, job_id: int) -> Job:
        return Job(self, self.get(f"/benchmarks/{job_id}"))

    def compare(self, a: int | Job, b: int | Job) -> Comparison:
        """Benchmark b against baseline a, phone by phone."""
        ia = a.id if isinstance(a, Job) else int(a)
        ib = b.id if isinstance(b, Job) else int(b)
        data = self.get("/compare", params={"a": ia, "b": ib})
        return Comparison(
            a=ia,
            b=ib,
            pairs=_pairs_frame(data.get("pairs", [])),
            missing=list(data.get("missing", [])),
            unfinished=list(data.get("unfinished", [])),
        )


PAIR_COLUMNS = [
    "device_id",
    "device",
    "soc",
    "delegate",
    "threads",
    "a_median_us",
    "b_median_us",
    "ratio",
    "ratio_low",
    "ratio_high",
    "verdict",
    "unstable",
]


def _pairs_frame(pairs: Iterable[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame.from_records(list(pairs), columns=PAIR_COLUMNS)
