"""Imports every ORM module so `Base.metadata` is complete (Alembic and tests need it)."""

from server.auth.models import ApiToken, User
from server.binaries.models import BenchmarkBinary
from server.counters import FarmCounter
from server.db import Base
from server.devices.models import Device, FarmHost
from server.inferences.models import Inference, InferenceOutput
from server.jobs.models import Job, Run
from server.models.models import Model
from server.results.models import Result, ResultGroupRollup, ResultRollup

__all__ = [
    "ApiToken",
    "Base",
    "BenchmarkBinary",
    "Device",
    "FarmCounter",
    "FarmHost",
    "Inference",
    "InferenceOutput",
    "Job",
    "Model",
    "Result",
    "ResultGroupRollup",
    "ResultRollup",
    "Run",
    "User",
]
