"""The virtual benchmark_model's op-profiling outputs that a parser reads: CSV file and GPU op refusals.

Why apart from benchmark_tool.py: the tool module is shared by several changes; what the
farm's op-profile parser (device_agent/op_profile.py) consumes is kept here, written in the
real tool's format so the parser is tested against the same bytes a phone would give:

* ``--op_profiling_output_mode=csv --op_profiling_output_file=PATH`` writes the profiler's
  tables as tensorflow::StatsCalculator prints them with ``format_as_csv`` (headers
  ``node type, first, avg_ms, %, cdf%, mem KB, times called, name`` and
  ``node type, count, avg_ms, avg %, cdf %, mem KB, times called``; numbers as C++ ostream's
  default; commas in node names replaced by tabs), the init profile first, then the regular
  runs' profile.
* the GPU delegate's "Following operations are not supported by GPU delegate:" block, with
  the ops a phone profile marks unsupported (``[delegates] gpu_unsupported_ops``), so the
  same model is placed differently on different virtual SoCs.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from contracts.delegate_ops import GPU_OPS
from device_agent.virtual.cpp_format import g

# (node type, label, first ms, avg ms): one profiled node
Row = tuple[str, str, float, float]


def gpu_ops(unsupported: Iterable[str]) -> frozenset[str]:
    """The ops this phone's GPU delegate takes: the 2.16 list minus what its profile refuses."""
    return GPU_OPS - frozenset(unsupported)


def unsupported_lines(op_names: Iterable[str], supported: frozenset[str]) -> list[str]:
    """The GPU delegate's report of the ops it leaves to the CPU (empty when it takes them all)."""
    names = list(op_names)
    refused = list(dict.fromkeys(n for n in names if n not in supported))
    if not refused:
        return []
    taken = sum(1 for n in names if n in supported)
    lines = ["Following operations are not supported by GPU delegate:"]
    lines += [f"{op}: Operation is not supported." for op in refused]
    lines.append(
        f"{taken} operations will run on the GPU, and the remaining {len(names) - taken} operations "
        "will run on the CPU."
    )
    return lines


def cdf_rows(rows: Iterable[Row], total_ms: float) -> list[tuple[Row, float, float]]:
    """Each node with its % of the total and the running (cdf) %, as a node table lists them.

    Shared by the CSV file here and benchmark_tool's log tables, so both give the same figures."""
    out = []
    cdf = 0.0
    for row in rows:
        pct = row[3] / total_ms * 100 if total_ms else 0.0
        cdf += pct
        out.append((row, pct, cdf))
    return out


def type_summary(rows: list[Row], total_ms: float) -> list[tuple[str, int, float, float, float]]:
    """ "Summary by node type": (type, count, ms, %, cdf %), the type that took longest first."""
    groups: dict[str, list[float]] = {}
    for kind, _, _, avg in rows:
        groups.setdefault(kind, []).append(avg)
    by_time = sorted(groups.items(), key=lambda kv: -sum(kv[1]))
    summed = cdf_rows([(kind, "", 0.0, sum(avgs)) for kind, avgs in by_time], total_ms)
    return [(kind, len(groups[kind]), ms, pct, cdf) for (kind, _, _, ms), pct, cdf in summed]


def _table(title: str, rows: list[Row], total_ms: float) -> list[str]:
    out = [
        f"============================== {title} ==============================",
        "node type, first, avg_ms, %, cdf%, mem KB, times called, name",
    ]
    for (kind, label, first, avg), pct, cdf in cdf_rows(rows, total_ms):
        name = label.replace(",", "\t")
        out.append(f"{kind}, {g(first)}, {g(avg)}, {g(pct)}%, {g(cdf)}%, 0, 1, {name}")
    out.append("")
    return out


def _by_type(rows: list[Row], total_ms: float) -> list[str]:
    out = [
        f"Number of nodes executed: {len(rows)}",
        "============================== Summary by node type ==============================",
        "node type, count, avg_ms, avg %, cdf %, mem KB, times called",
    ]
    for kind, count, ms, pct, cdf in type_summary(rows, total_ms):
        out.append(f"{kind}, {count}, {g(ms)}, {g(pct)}%, {g(cdf)}%, 0, {count}")
    out.append("")
    return out


def _profile(rows: list[Row], timings_line: str) -> list[str]:
    total = sum(r[3] for r in rows) or 1.0
    out = _table("Run Order", rows, total)
    out += _table("Top by Computation Time", sorted(rows, key=lambda r: -r[3])[:10], total)
    out += _by_type(rows, total)
    out += [
        f"Timings (microseconds): {timings_line}",
        "Memory (bytes): count=0",
        f"{len(rows)} nodes observed",
        "",
    ]
    return out


def csv_text(init_rows: list[Row], rows: list[Row], init_timings: str, timings: str) -> str:
    lines = ["Profiling Info for Benchmark Initialization:"]
    lines += _profile(init_rows, init_timings)
    lines += ["Operator-wise Profiling Info for Regular Benchmark Runs:"]
    lines += _profile(rows, timings)
    return "\n".join(lines) + "\n"


def write_csv(path: Path, init_rows: list[Row], rows: list[Row], init_timings: str, timings: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(csv_text(init_rows, rows, init_timings, timings))
