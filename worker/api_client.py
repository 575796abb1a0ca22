"""The worker's only way to the farm: the API (and the broker, for run ids). No database URL.

Every transition of a run is a typed call (contracts/runs.py); the API applies it with
lifecycle's conditional updates, so a retried call is harmless (a second `complete` of a
run already stored answers stored=false).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx

from contracts.farm_http import problem
from contracts.runs import (
    RAW_OUTPUT_LIMIT,
    BeatReply,
    CapabilitiesIn,
    Claim,
    ClaimReply,
    CompleteIn,
    CompleteReply,
    FailIn,
    FailReply,
    ResultRecord,
    RunKey,
    bound_text,
)
from contracts.settings import Settings, get_settings
from contracts.vocabulary import FailureCause
from device_agent.api_client import ApiError, FarmApi, FarmUnreachable

log = logging.getLogger("phonefarm.worker.api")
T = TypeVar("T")
CHUNK = 1 << 20


def _transient(exc: Exception) -> bool:
    """Worth retrying: the API did not answer (restarting) or answered 5xx."""
    return isinstance(exc, httpx.TransportError | FarmUnreachable) or (
        isinstance(exc, ApiError) and exc.status >= 500
    )


class WorkerApi:
    def __init__(self, settings: Settings | None = None, worker: str = "") -> None:
        self.settings = settings or get_settings()
        self.api = FarmApi(self.settings)
        self.worker = worker

    def _retry(self, call: Callable[[], T], attempts: int = 5) -> T:
        """Retry what fails on the way (API restarting, a 503): a measured result is worth waiting for."""
        for i in range(attempts):
            try:
                return call()
            except Exception as exc:
                if not _transient(exc) or i == attempts - 1:
                    raise
                log.warning("API call failed (%s); retrying", exc)
                time.sleep(min(0.5 * 2**i, 8))
        raise AssertionError("unreachable")

    def _claimer(self) -> dict[str, str]:
        """Who claims: the worker, and its host (the API hands it only its own host's runs)."""
        return {"worker": self.worker, "host": self.settings.host_name}

    def claim(self, run_id: int) -> ClaimReply:
        data = self._retry(lambda: self.api.post(f"/runs/{run_id}/claim", json=self._claimer()))
        return ClaimReply.model_validate(data)

    def claim_next(self, device_id: int) -> ClaimReply:
        data = self._retry(lambda: self.api.post(f"/devices/{device_id}/claim-next", json=self._claimer()))
        return ClaimReply.model_validate(data)

    def beat(self, key: RunKey) -> bool:
        data = self.api.post(f"/runs/{key.run_id}/heartbeat", json=_key(key))
        return BeatReply.model_validate(data).alive

    def complete(self, claim: Claim, result: ResultRecord, raw_output: str, command: str) -> bool:
        body = CompleteIn(
            **_key(claim), result=result, raw_output=bound_text(raw_output) or "", command=command[:8000]
        )
        data = self._retry(
            lambda: self.api.post(f"/runs/{claim.run_id}/complete", json=body.model_dump(mode="json"))
        )
        return CompleteReply.model_validate(data).stored

    def fail(
        self,
        claim: Claim,
        error: str,
        raw_output: str | None,
        command: str | None,
        *,
        device_lost: bool,
        cause: FailureCause | None = None,
    ) -> bool:
        """Record a failed attempt. True when the run went back to the queue (phone or twin)."""
        body = FailIn(
            **_key(claim),
            error=bound_text(error, 4000) or "",
            raw_output=bound_text(raw_output, RAW_OUTPUT_LIMIT),
            command=command[:8000] if command else None,
            device_lost=device_lost,
            cause=cause,
        )
        data = self._retry(
            lambda: self.api.post(f"/runs/{claim.run_id}/fail", json=body.model_dump(mode="json"))
        )
        return FailReply.model_validate(data).retrying

    def capabilities(self, sha256: str, version: str | None, flags: list[str] | None) -> None:
        """Tell the farm what a binary's `--help` (or a real run) said, so no phone probes it again."""
        body = CapabilitiesIn(version=version[:64] if version else None, flags=flags)
        self._retry(lambda: self.api.post(f"/binaries/{sha256}/capabilities", json=body.model_dump()))

    def release(self, key: RunKey) -> None:
        self._retry(lambda: self.api.post(f"/runs/{key.run_id}/release", json=_key(key)))

    def upload_run_file(
        self, key: RunKey, what: str, path: Path, fields: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """POST a file a run produced (`inference-output`, `numerics-output`) with the run's key."""
        form = {k: str(v) for k, v in _key(key).items()} | (fields or {})

        def send() -> dict[str, Any]:
            with path.open("rb") as fh:
                files = {"file": (path.name, fh, "application/octet-stream")}
                return dict(self.api.post(f"/runs/{key.run_id}/{what}", data=form, files=files) or {})

        return self._retry(send)

    def stream(self, path: str) -> Iterator[bytes]:
        """The bytes at an API path (a model's or binary's file), chunk by chunk."""
        with self.api.http.stream("GET", path, timeout=httpx.Timeout(30.0, read=120.0)) as resp:
            if resp.status_code >= 400:
                resp.read()
                raise problem(resp)
            yield from resp.iter_bytes(CHUNK)


def _key(key: RunKey) -> dict[str, int]:
    return {"run_id": key.run_id, "attempt": key.attempt, "device_id": key.device_id}
