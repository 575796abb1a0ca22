"""The farm's vocabulary: one definition of each word the API, worker, agent, dashboard and CLI share.

Adding a delegate, a state or a role happens here and nowhere else; the database stores
these as plain strings, so a new value needs no migration unless a column is too short.
"""

from __future__ import annotations

from enum import StrEnum


class Delegate(StrEnum):
    """Accepted in any case ("GPU" is gpu): people type delegates as the TFLite docs spell them."""

    cpu = "cpu"
    gpu = "gpu"
    nnapi = "nnapi"
    xnnpack = "xnnpack"

    @classmethod
    def _missing_(cls, value: object) -> Delegate | None:
        if isinstance(value, str):
            return next((m for m in cls if m.value == value.strip().casefold()), None)
        return None


class DeviceState(StrEnum):
    """What the farm shows; `busy` and `disabled` are derived from the lease and the operator flag."""

    online = "online"
    busy = "busy"
    offline = "offline"
    unauthorized = "unauthorized"
    disabled = "disabled"
    quarantined = "quarantined"


class JobState(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"  # every run failed
    partial = "partial"  # some runs failed, some succeeded
    cancelled = "cancelled"


class RunState(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


TERMINAL_RUN_STATES = frozenset({RunState.succeeded, RunState.failed, RunState.cancelled})
ACTIVE_RUN_STATES = frozenset({RunState.queued, RunState.running})
TERMINAL_JOB_STATES = frozenset({JobState.succeeded, JobState.failed, JobState.partial, JobState.cancelled})
ACTIVE_JOB_STATES = frozenset({JobState.queued, JobState.running})
AVAILABLE_DEVICE_STATES = frozenset({DeviceState.online, DeviceState.busy})
"""Phones that are there and working (the dashboard counts both as online)."""


def soc_label(soc_name: str | None, soc_known: bool = True) -> str:
    """How every page and the CLI name a phone's chip.

    The marketing name; a chip the SoC table does not know is flagged 'unknown (name)', and
    a phone that reported no chip at all is 'unknown SoC' (never 'unknown (None)').
    """
    if not soc_name or soc_name == "unknown":
        return "unknown SoC"
    return soc_name if soc_known else f"unknown ({soc_name})"


class Role(StrEnum):
    viewer = "viewer"
    submitter = "submitter"
    admin = "admin"
    agent = "agent"


ROLE_RANK = {Role.viewer: 0, Role.submitter: 1, Role.agent: 1, Role.admin: 2}


class ClaimOutcome(StrEnum):
    """What asking for a run got the worker."""

    claimed = "claimed"
    finished = "finished"  # already terminal (or nothing queued): nothing to do
    elsewhere = "elsewhere"  # another live executor holds it, or its phone is on another host
    busy = "busy"  # the phone runs something else: its drain loop takes this run next
    waiting = "waiting"  # the phone is away; the run waits for it or for a twin
    moved = "moved"  # reassigned to another phone (the API sent a new message)


def host_queue(host_name: str) -> str:
    """The broker queue of a farm host's worker: a run is sent to its phone's host."""
    return f"host.{host_name}"


class Abi(StrEnum):
    """Android ABIs as `ro.product.cpu.abilist` names them."""

    arm64_v8a = "arm64-v8a"
    armeabi_v7a = "armeabi-v7a"
    x86_64 = "x86_64"
    x86 = "x86"


class FailureCause(StrEnum):
    """Who a failed run is blamed on. Only `phone` failures count towards quarantine."""

    phone = "phone"  # the benchmark failed on the phone (crash, bad output, tool error)
    device_lost = "device_lost"  # the phone went away mid-run: retried, maybe on a twin
    host_misconfigured = "host_misconfigured"  # the farm lacks something (no binary for the ABI)
    # recorded per failed run in runs.blame (contracts/failures.py decides):
    model = "model"  # the model cannot load/allocate, or failed the same way on a second phone
    spec = "spec"  # the job asked for what cannot fit (the timeout) or what this phone lacks
    repeat = "repeat"  # the same job already counted one failure against this phone
