"""An inference is a job (same queue, leases, tokens, privacy) plus its image, input tensor and outputs.

The job's runs are ordinary runs (one per phone × delegate); what an inference adds is kept
here: the image as uploaded, the raw input tensor the phones are fed, and per succeeded run
the output file benchmark_model wrote (``--output_filepath``), pulled from the phone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, utcnow


class Inference(Base):
    __tablename__ = "inferences"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), unique=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"), index=True)
    image_path: Mapped[str] = mapped_column(String(500))
    image_format: Mapped[str] = mapped_column(String(8))
    width: Mapped[int]
    height: Mapped[int]
    input_path: Mapped[str] = mapped_column(String(500))
    input_name: Mapped[str] = mapped_column(String(500))
    input_shape: Mapped[list[Any]] = mapped_column(default=list)
    input_dtype: Mapped[str] = mapped_column(String(16))
    preprocessing: Mapped[dict[str, Any]] = mapped_column(default=dict)
    threshold: Mapped[float] = mapped_column(Float, default=0.99)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InferenceOutput(Base):
    __tablename__ = "inference_outputs"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), unique=True)
    inference_id: Mapped[int] = mapped_column(ForeignKey("inferences.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"))
    delegate: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(String(500))
    size_bytes: Mapped[int]
    inference_us: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
