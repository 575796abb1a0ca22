"""Delegate placement on the dashboard: "N/M nodes on GPU", what fell back, where the time goes.

Why a module apart from service.py: placement comes from the op-profile trial each run may
add (stored in the result's ``env["placement"]``, see worker/op_profile_trial.py), not from
the timing columns the rest of the dashboard aggregates; keeping its reading and its figures
here keeps the timing pages' code unchanged. Everything shown is what the phone's
benchmark_model reported; the upload-time prediction (server/models/gpu_compat.py) is set
beside it, never mixed into it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import plotly.graph_objects as go
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.auth.service import Principal
from server.dashboard.figures import to_html
from server.dashboard.service import job_visible
from server.devices.models import Device
from server.jobs.models import Job
from server.models.models import Model
from server.results.models import Result

DELEGATE_LABEL = {"gpu": "GPU", "nnapi": "NNAPI", "xnnpack": "XNNPACK", "cpu": "CPU"}
MAX_RESULTS = 2000


@dataclass
class PlacementRow:
    run_id: int
    phone: str
    soc: str
    delegate: str
    nodes_total: int | None
    nodes_delegated: int | None
    partitions: int | None
    fallback_ops: list[dict[str, Any]]
    top_ops: list[dict[str, Any]]
    source: str | None
    error: str | None = None

    @property
    def nodes_label(self) -> str:
        if self.nodes_total is None or self.nodes_delegated is None:
            return "–"
        return f"{self.nodes_delegated}/{self.nodes_total} nodes on {DELEGATE_LABEL.get(self.delegate, self.delegate)}"

    @property
    def share(self) -> float | None:
        if not self.nodes_total or self.nodes_delegated is None:
            return None
        return self.nodes_delegated / self.nodes_total

    @property
    def full(self) -> bool:
        return self.nodes_total is not None and self.nodes_total == self.nodes_delegated


def row_from(
    run_id: int, phone: str, soc: str, delegate: str, placement: dict[str, Any] | None
) -> PlacementRow | None:
    if not placement:
        return None
    return PlacementRow(
        run_id=run_id,
        phone=phone,
        soc=soc,
        delegate=delegate,
        nodes_total=placement.get("nodes_total"),
        nodes_delegated=placement.get("nodes_delegated"),
        partitions=placement.get("partitions"),
        fallback_ops=list(placement.get("fallback_ops") or []),
        top_ops=list(placement.get("top_ops") or []),
        source=placement.get("source"),
        error=placement.get("error"),
    )


def job_rows(runs: list[Any]) -> list[PlacementRow]:
    """Placement rows of a job page's runs (service.RunRow with result["placement"])."""
    out = []
    for r in runs:
        if r.result is None:
            continue
        row = row_from(r.run_id, r.phone, r.soc, r.delegate, r.result.get("placement"))
        if row is not None:
            out.append(row)
    return out


def top_ops_figure(row: PlacementRow, div_id: str) -> str:
    """Horizontal bars of the run's top ops by average time (ms), delegate kernels in one colour."""
    ops = list(reversed(row.top_ops[:10]))
    labels = [f"{o['node_type']} {o.get('name', '')[:40]}" for o in ops]
    colours = ["#4c78a8" if "delegate" in o["node_type"].lower() else "#e45756" for o in ops]
    fig = go.Figure(
        go.Bar(
            x=[o["avg_ms"] for o in ops],
            y=labels,
            orientation="h",
            marker_color=colours,
            hovertemplate="%{y}<br>%{x:.3f} ms<extra></extra>",
        )
    )
    fig.update_layout(
        title=f"{row.phone} · {row.delegate.upper()}: top ops by time (red: on the CPU)",
        xaxis_title="avg ms per inference (op-profile trial)",
        height=120 + 26 * len(ops),
        margin={"l": 10, "r": 10, "t": 40, "b": 40},
        yaxis={"automargin": True},
    )
    return to_html(fig, div_id)


# ---------------------------------------------------------------- across results


def _latest(
    db: Session, principal: Principal, model_ids: list[int], device_ids: list[int] | None = None
) -> list[tuple[Result, Device]]:
    q = (
        select(Result, Device)
        .join(Job, Job.id == Result.job_id)
        .join(Device, Device.id == Result.device_id)
        .where(Result.model_id.in_(model_ids), job_visible(principal))
        .order_by(Result.id.desc())
        .limit(MAX_RESULTS)
    )
    if device_ids:
        q = q.where(Result.device_id.in_(device_ids))
    seen: set[tuple[int, int, str]] = set()
    out = []
    for res, dev in db.execute(q).tuples():
        key = (res.model_id, res.device_id, res.delegate)
        if key in seen or not (res.env or {}).get("placement"):
            continue
        seen.add(key)
        out.append((res, dev))
    return out


def _soc(dev: Device) -> str:
    return _soc_label(dev.soc_name, dev.soc_known)


def _soc_label(soc_name: str | None, soc_known: bool) -> str:
    return (soc_name or "unknown") if soc_known else f"unknown ({soc_name or '?'})"


def delegated_share(
    db: Session, principal: Principal, model_ids: list[int], include_virtual: bool
) -> list[dict[str, Any]]:
    """Rows (model, delegate) × columns SoC: the latest measured delegated share of nodes."""
    names = (
        {m.id: m.name for m in db.scalars(select(Model).where(Model.id.in_(model_ids)))} if model_ids else {}
    )
    cells: dict[tuple[int, str], dict[str, str]] = {}
    # plain columns, not Result/Device objects: the page reads up to MAX_RESULTS rows and
    # building that many ORM objects cost ~200 ms for a 100-model comparison
    q = (
        select(
            Result.model_id,
            Result.device_id,
            Result.delegate,
            Result.env,
            Device.is_virtual,
            Device.soc_name,
            Device.soc_known,
        )
        .join(Job, Job.id == Result.job_id)
        .join(Device, Device.id == Result.device_id)
        .where(Result.model_id.in_(model_ids), job_visible(principal))
        .order_by(Result.id.desc())
        .limit(MAX_RESULTS)
    )
    seen: set[tuple[int, int, str]] = set()
    for model_id, device_id, delegate, env, is_virtual, soc_name, soc_known in (
        db.execute(q) if model_ids else []
    ):
        p = (env or {}).get("placement")
        key = (model_id, device_id, delegate)
        if not p or key in seen:
            continue
        seen.add(key)
        if is_virtual and not include_virtual:
            continue
        total, taken = p.get("nodes_total"), p.get("nodes_delegated")
        if delegate == "cpu" or not total or taken is None:
            continue
        cells.setdefault((model_id, delegate), {})[_soc_label(soc_name, soc_known)] = (
            f"{taken}/{total} ({taken / total:.0%})"
        )
    return [
        {"model": f"#{mid} {names.get(mid, '?')}", "delegate": d, "cells": c}
        for (mid, d), c in sorted(cells.items())
    ]


def soc_fallbacks(db: Session, principal: Principal, model_id: int) -> list[PlacementRow]:
    """Per phone and accelerator, the ops that actually ran on the CPU (latest result each)."""
    rows = []
    for res, dev in _latest(db, principal, [model_id]):
        if res.delegate == "cpu":
            continue
        row = row_from(res.run_id, dev.model or dev.serial, _soc(dev), res.delegate, res.env["placement"])
        if row is not None:
            rows.append(row)
    return rows


@dataclass
class OpCompare:
    model: Model
    delegate: str
    a: PlacementRow | None
    b: PlacementRow | None
    types: list[dict[str, Any]] = field(default_factory=list)  # op type, ms on a, ms on b


def op_compare(
    db: Session, principal: Principal, model: Model, device_a: int, device_b: int, delegate: str
) -> OpCompare:
    """Where the time goes on each of two phones for one model: per op type, side by side."""
    found: dict[int, tuple[Result, Device]] = {}
    for res, dev in _latest(db, principal, [model.id], [device_a, device_b]):
        if res.delegate == delegate and res.device_id not in found:
            found[res.device_id] = (res, dev)

    def row(device_id: int) -> tuple[PlacementRow | None, dict[str, float]]:
        if device_id not in found:
            return None, {}
        res, dev = found[device_id]
        p = res.env["placement"]
        label = f"{dev.model or dev.serial} ({_soc(dev)})"
        by_type = {t["node_type"]: float(t["avg_ms"]) for t in p.get("by_type") or []}
        if not by_type:
            for o in p.get("top_ops") or []:
                by_type[o["node_type"]] = by_type.get(o["node_type"], 0.0) + float(o["avg_ms"])
        return row_from(res.run_id, label, _soc(dev), delegate, p), by_type

    a, ta = row(device_a)
    b, tb = row(device_b)
    kinds = sorted(set(ta) | set(tb), key=lambda k: -(ta.get(k, 0.0) + tb.get(k, 0.0)))
    types = [{"node_type": k, "a_ms": ta.get(k), "b_ms": tb.get(k)} for k in kinds]
    return OpCompare(model, delegate, a, b, types)


def op_compare_figure(cmp: OpCompare) -> str | None:
    if not cmp.types or cmp.a is None or cmp.b is None:
        return None
    kinds = [t["node_type"] for t in cmp.types][:15]
    fig = go.Figure(
        [
            go.Bar(name=cmp.a.phone, x=kinds, y=[t["a_ms"] for t in cmp.types][:15]),
            go.Bar(name=cmp.b.phone, x=kinds, y=[t["b_ms"] for t in cmp.types][:15]),
        ]
    )
    fig.update_layout(
        barmode="group",
        title=f"{cmp.model.name} · {cmp.delegate.upper()}: ms per inference by op type",
        yaxis_title="avg ms (op-profile trial)",
        height=420,
        margin={"l": 10, "r": 10, "t": 50, "b": 80},
    )
    return to_html(fig, "ops-compare")
