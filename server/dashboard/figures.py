"""Plotly figures for the job page, rendered to HTML fragments on the server.

Why server-side: the dashboard ships no hand-written JavaScript; plotly.io writes each
figure as a <div> plus a call into plotly.js, which the page loads once from the copy
bundled in the installed plotly package (the farm may have no internet, so no CDN).

Honesty about distributions: TFLite's benchmark_model prints summary statistics
(count, min, max, avg, std, sometimes median) per invocation, never each inference.
The distribution figure therefore draws one box per trial from those statistics and
says so in its title instead of pretending to show raw samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import plotly.graph_objects as go
import plotly.io as pio

if TYPE_CHECKING:
    from server.dashboard.service import RunRow

DELEGATE_COLOURS = {"cpu": "#4c78a8", "gpu": "#f58518", "nnapi": "#54a24b", "xnnpack": "#b279a2"}
LAYOUT = {"margin": {"l": 60, "r": 20, "t": 50, "b": 80}, "height": 420, "template": "plotly_white"}


def to_html(fig: go.Figure, div_id: str) -> str:
    """A fragment; plotly.js itself is loaded once by the page (include_plotlyjs=False)."""
    return str(
        pio.to_html(
            fig, include_plotlyjs=False, full_html=False, div_id=div_id, config={"displaylogo": False}
        )
    )


def _ms(us: float | None) -> float | None:
    return None if us is None else us / 1000.0


def latency_bars(runs: Sequence[RunRow]) -> go.Figure:
    """Mean latency per phone, one bar per delegate, error bars from min to max."""
    fig = go.Figure()
    delegates = sorted(
        {r.delegate for r in runs if r.result},
        key=lambda d: list(DELEGATE_COLOURS).index(d) if d in DELEGATE_COLOURS else 9,
    )
    for delegate in delegates:
        rows = [r for r in runs if r.result and r.delegate == delegate]
        avg = [_ms(r.result["avg_us"]) or 0.0 for r in rows if r.result]
        lo = [_ms(r.result["min_us"]) for r in rows if r.result]
        hi = [_ms(r.result["max_us"]) for r in rows if r.result]
        fig.add_trace(
            go.Bar(
                name=delegate.upper(),
                x=[r.phone for r in rows],
                y=avg,
                marker_color=DELEGATE_COLOURS.get(delegate),
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [(h - a) if h is not None else 0 for h, a in zip(hi, avg, strict=True)],
                    "arrayminus": [
                        (a - low) if low is not None else 0 for low, a in zip(lo, avg, strict=True)
                    ],
                },
                hovertemplate="%{x}<br>avg %{y:.2f} ms<extra>" + delegate.upper() + "</extra>",
            )
        )
    fig.update_layout(
        title="Mean latency per phone (error bars: min–max)",
        yaxis_title="ms",
        barmode="group",
        **LAYOUT,
    )
    return fig


def speedup_bars(runs: Sequence[RunRow], fast: str = "gpu", base: str = "cpu") -> go.Figure | None:
    """CPU ms / GPU ms per phone; None when no phone has both."""
    by_phone: dict[str, dict[str, float]] = {}
    for r in runs:
        # a speed-up only where it was measured on a phone or simulated from a profile
        if r.result and not (r.is_virtual and getattr(r, "timing_mode", None) in (None, "host")):
            by_phone.setdefault(r.phone, {})[r.delegate] = float(r.result["avg_us"])
    pairs = [(p, d[base] / d[fast]) for p, d in by_phone.items() if base in d and fast in d and d[fast] > 0]
    if not pairs:
        return None
    fig = go.Figure(
        go.Bar(
            x=[p for p, _ in pairs],
            y=[s for _, s in pairs],
            marker_color=["#54a24b" if s >= 1 else "#e45756" for _, s in pairs],
            text=[f"×{s:.2f}" for _, s in pairs],
            textposition="outside",
        )
    )
    fig.add_hline(y=1, line_dash="dot", line_color="#888")
    fig.update_layout(
        title=f"{fast.upper()} vs {base.upper()}: speed-up per phone ({base.upper()} ms / {fast.upper()} ms)",
        yaxis_title="speed-up",
        **LAYOUT,
    )
    return fig


def sustained_lines(runs: Sequence[RunRow]) -> go.Figure | None:
    """Latency and hottest CPU zone over a sustained run (job option sustained_s); None without one."""
    fig = go.Figure()
    found = False
    for r in runs:
        s = (r.result or {}).get("sustained") or {}
        samples = s.get("samples") or []
        if not samples:
            continue
        found = True
        label = f"{r.phone} {r.delegate.upper()}"
        ratio = s.get("ratio")
        t10 = s.get("time_to_plus10_s")
        note = f" (sustained/cold ×{ratio:.2f}" if ratio else " ("
        note += f", +10 % at {t10:.0f} s)" if t10 is not None else ", never +10 %)"
        fig.add_trace(
            go.Scatter(
                x=[x["t_s"] for x in samples],
                y=[_ms(x["latency_us"]) for x in samples],
                name=f"{label} latency{note}",
                mode="lines+markers",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=[x["t_s"] for x in samples],
                y=[x["temp_c"] for x in samples],
                name=f"{label} °C",
                yaxis="y2",
                line={"dash": "dot"},
            )
        )
    if not found:
        return None
    fig.update_layout(
        title="Sustained run: latency and hottest CPU zone over time",
        xaxis_title="s",
        yaxis_title="ms",
        yaxis2={"title": "°C", "overlaying": "y", "side": "right"},
        **LAYOUT,
    )
    return fig


def trial_boxes(runs: Sequence[RunRow]) -> go.Figure:
    """One box per trial from its summary statistics: whiskers min–max, box mean ± std, line median."""
    fig = go.Figure()
    for r in runs:
        if not r.result:
            continue
        trials = r.result.get("trial_stats") or [
            {
                "avg_us": r.result["avg_us"],
                "min_us": r.result["min_us"],
                "max_us": r.result["max_us"],
                "std_us": r.result["std_us"],
                "median_us": r.result["median_us"],
            }
        ]
        for i, t in enumerate(trials, 1):
            avg = _ms(t.get("avg_us"))
            if avg is None:
                continue
            std = _ms(t.get("std_us")) or 0.0
            lo = _ms(t.get("min_us"))
            hi = _ms(t.get("max_us"))
            lo = avg if lo is None else lo
            hi = avg if hi is None else hi
            med = _ms(t.get("median_us"))
            fig.add_trace(
                go.Box(
                    name=f"{r.phone} {r.delegate.upper()} #{i}",
                    x=[f"{r.phone} {r.delegate.upper()}"],
                    lowerfence=[lo],
                    q1=[max(lo, avg - std)],
                    median=[med if med is not None else avg],
                    mean=[avg],
                    q3=[min(hi, avg + std)],
                    upperfence=[hi],
                    marker_color=DELEGATE_COLOURS.get(r.delegate),
                    showlegend=False,
                )
            )
    fig.update_layout(
        title="Timings per trial: whiskers min–max, box mean ± std, line median "
        "(benchmark_model reports summary statistics, not each inference)",
        title_font_size=13,
        yaxis_title="ms",
        boxmode="group",
        **LAYOUT,
    )
    return fig
