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


class Role(StrEnum):
    viewer = "viewer"
    submitter = "submitter"
    admin = "admin"
    agent = "agent"


ROLE_RANK = {Role.viewer: 0, Role.submitter: 1, Role.agent: 1, Role.admin: 2}


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
