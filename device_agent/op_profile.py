"""Where a model's time goes and which nodes a delegate took: reading benchmark_model's op profile.

Why a module of its own: the measured trials must not pay for op profiling (it adds a
timer around every node), so the farm runs one extra trial with
``--enable_op_profiling=true`` and reads three things from it, each a pure function of text:

* the CSV file ``--op_profiling_output_mode=csv --op_profiling_output_file=…`` writes
  (tensorflow/core/util/stats_calculator.cc with ``format_as_csv``: a ``Run Order`` table
  ``node type, [start,] first, avg_ms, %, cdf%, mem KB, times called, name`` and a
  ``Summary by node type`` table ``node type, count, avg_ms, avg %, cdf %, mem KB, times called``,
  commas inside names replaced by tabs),
* the same tables as printed on stdout by builds without the CSV flag (tab-separated,
  bracketed headers),
* the delegate's own summary lines: ``Replacing N out of M node(s) with delegate (K) node,
  yielding P partitions``, ``N nodes delegated out of M nodes`` and the GPU delegate's
  ``Following operations are not supported by GPU delegate:`` list with reasons.

All parsers are linear in their input, never raise on odd text and bound what they keep.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from device_agent.benchmark_output import OpNodeRow, _clean

MAX_ROWS = 5000  # a graph has at most a few thousand nodes; more is not a profile
TOP_N = 10

# the kernel a delegate puts in place of the nodes it takes, as the profiler names it
DELEGATE_KERNELS = {
    "gpu": ("TfLiteGpuDelegateV2", "TfLiteGpuDelegate"),
    "nnapi": ("TfLiteNnapiDelegate",),
    "xnnpack": ("TfLiteXNNPackDelegate",),
    "hexagon": ("TfLiteHexagonDelegate",),
}
_KERNEL_TO_DELEGATE = {k.lower(): d for d, ks in DELEGATE_KERNELS.items() for k in ks}

_TITLE = re.compile(r"^=+ (?P<t>.+?) =+$")
_REPLACING = re.compile(
    r"Replacing (?P<n>\d+)(?: out of (?P<m>\d+))? node\(s\) with delegate \((?P<k>[\w:]+)\) node"
    r"(?:, yielding (?P<p>\d+) partitions?)?"
)
_DELEGATED_OUT_OF = re.compile(
    r"(?P<n>\d+) nodes? delegated out of (?P<m>\d+) nodes?(?: with (?P<p>\d+) partitions?)?"
)
_GPU_SPLIT = re.compile(
    r"(?P<g>\d+) operations will run on the GPU, and the remaining (?P<c>\d+) operations? will run on the CPU"
)
_UNSUPPORTED_HEAD = "Following operations are not supported by GPU delegate:"
_UNSUPPORTED_ROW = re.compile(r"^(?P<op>[A-Z][A-Z0-9_]*): (?P<why>.{1,300})$")


@dataclass(frozen=True)
class DelegateSummary:
    """What the delegate said about the nodes it took."""

    kernel: str | None = None
    delegate: str | None = None
    nodes_total: int | None = None
    nodes_delegated: int | None = None
    partitions: int | None = None
    unsupported: dict[str, str] = field(default_factory=dict)  # op type -> reason
    complete: bool = False  # "the model graph will be completely executed by the delegate"


@dataclass(frozen=True)
class FallbackOp:
    """Nodes of one type that stayed on the CPU."""

    op_type: str
    count: int
    time_pct: float | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Placement:
    """Per result: how much of the graph the delegate ran and where the time went."""

    delegate: str
    source: str  # csv, stdout, log (summary lines only)
    nodes_total: int | None
    nodes_delegated: int | None
    partitions: int | None
    fallback_ops: list[FallbackOp]
    top_ops: list[OpNodeRow]
    by_type: list[dict[str, Any]] = field(default_factory=list)

    @property
    def delegated_share(self) -> float | None:
        if not self.nodes_total or self.nodes_delegated is None:
            return None
        return self.nodes_delegated / self.nodes_total

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["delegated_share"] = self.delegated_share
        return d


# ---- tables -------------------------------------------------------------------------------------


def _num(text: str) -> float | None:
    t = text.strip().rstrip("%").strip()
    try:
        v = float(t)
    except ValueError:
        return None
    return v if v == v and abs(v) != float("inf") else None


def _regular_section(lines: list[str]) -> list[str]:
    """Lines of the regular-runs profile (the init profile times graph setup, not inference)."""
    start = 0
    for i, line in enumerate(lines):
        if "Profiling Info for Regular Benchmark Runs" in line:
            start = i
    return lines[start:]


def _tables(lines: list[str], csv: bool) -> dict[str, list[dict[str, str]]]:
    """title -> rows (column name -> raw text), the first table of each title only."""
    out: dict[str, list[dict[str, str]]] = {}
    i = 0
    while i < len(lines):
        m = _TITLE.match(lines[i].strip())
        if not m or i + 1 >= len(lines):
            i += 1
            continue
        title = m["t"].strip()
        header = lines[i + 1]
        if csv:
            cols = [c.strip().lower() for c in header.split(",")]
        else:
            cols = [c.strip().lower() for c in re.findall(r"\[([^\]]+)\]", header)]
        j = i + 2
        rows: list[dict[str, str]] = []
        while j < len(lines) and lines[j].strip() and not _TITLE.match(lines[j].strip()):
            if len(rows) < MAX_ROWS and cols:
                if csv:
                    parts = [p.strip() for p in lines[j].split(",", len(cols) - 1)]
                else:
                    parts = [p.strip() for p in lines[j].strip("\n").split("\t") if p.strip()]
                    if len(parts) > len(cols):  # a name with tabs in it
                        parts = [*parts[: len(cols) - 1], "\t".join(parts[len(cols) - 1 :])]
                if len(parts) >= len(cols) - (1 if cols[-1] == "name" else 0):
                    rows.append(dict(zip(cols, parts, strict=False)))
            j += 1
        if cols and cols[0] == "node type" and title not in out:
            out[title] = rows
        i = j
    return out


def _rows(table: list[dict[str, str]]) -> list[OpNodeRow]:
    rows = []
    for r in table:
        avg = _num(r.get("avg_ms", r.get("avg ms", "")))
        if avg is None:
            continue
        called = _num(r.get("times called", ""))
        rows.append(
            OpNodeRow(
                node_type=r["node type"],
                name=r.get("name", "").replace("\t", ","),
                avg_ms=avg,
                pct=_num(r.get("%", "")) or 0.0,
                first_ms=_num(r.get("first", "")),
                times_called=int(called) if called is not None else None,
            )
        )
    return rows


def _by_type(table: list[dict[str, str]]) -> list[dict[str, Any]]:
    out = []
    for r in table:
        avg = _num(r.get("avg_ms", r.get("avg ms", "")))
        count = _num(r.get("count", ""))
        if avg is None or count is None:
            continue
        out.append(
            {
                "node_type": r["node type"],
                "count": int(count),
                "avg_ms": avg,
                "pct": _num(r.get("avg %", "")) or 0.0,
            }
        )
    return out


def parse_csv(text: str) -> tuple[list[OpNodeRow], list[dict[str, Any]]]:
    """The op-profiling CSV file: (Run Order nodes, Summary by node type) of the regular runs."""
    lines = _regular_section((text or "").splitlines())
    tables = _tables(lines, csv=True)
    return _rows(tables.get("Run Order", [])), _by_type(tables.get("Summary by node type", []))


def parse_stdout(text: str) -> tuple[list[OpNodeRow], list[dict[str, Any]]]:
    """The same tables as printed on stdout/stderr by builds without the CSV output."""
    lines = _regular_section([_clean(raw) for raw in (text or "").splitlines()])
    tables = _tables(lines, csv=False)
    return _rows(tables.get("Run Order", [])), _by_type(tables.get("Summary by node type", []))


# ---- delegate summary lines ---------------------------------------------------------------------


def parse_delegate_summary(text: str, delegate: str | None = None) -> DelegateSummary:
    """The delegate's own lines. With several delegates applied, the requested one's line wins."""
    wanted = {k.lower() for k in DELEGATE_KERNELS.get(delegate or "", ())}
    found: list[DelegateSummary] = []
    unsupported: dict[str, str] = {}
    split: tuple[int, int] | None = None
    complete = False
    in_unsupported = False
    for raw in (text or "").splitlines():
        line = _clean(raw).strip()
        if in_unsupported:
            m = _UNSUPPORTED_ROW.match(line)
            if m and len(unsupported) < 200:
                unsupported.setdefault(m["op"], m["why"].strip())
                continue
            in_unsupported = False
        if "graph will be completely executed by the delegate" in line:
            complete = True
            continue
        if line.startswith(_UNSUPPORTED_HEAD):
            in_unsupported = True
            continue
        if m := _GPU_SPLIT.search(line):
            split = (int(m["g"]), int(m["c"]))
            continue
        if m := _REPLACING.search(line):
            k = m["k"]
            found.append(
                DelegateSummary(
                    kernel=k,
                    delegate=_KERNEL_TO_DELEGATE.get(k.lower()),
                    nodes_total=int(m["m"]) if m["m"] else None,
                    nodes_delegated=int(m["n"]),
                    partitions=int(m["p"]) if m["p"] else None,
                )
            )
            continue
        if m := _DELEGATED_OUT_OF.search(line):
            found.append(
                DelegateSummary(
                    delegate=delegate,
                    nodes_total=int(m["m"]),
                    nodes_delegated=int(m["n"]),
                    partitions=int(m["p"]) if m["p"] else None,
                )
            )
    chosen = next((f for f in reversed(found) if f.kernel and f.kernel.lower() in wanted), None)
    if chosen is None:
        chosen = next((f for f in reversed(found) if f.delegate == delegate), None)
    if chosen is None and found and delegate not in ("cpu", "xnnpack"):
        chosen = next((f for f in reversed(found) if f.delegate != "xnnpack"), None)
    if chosen is None:
        chosen = DelegateSummary(delegate=delegate)
    total, taken = chosen.nodes_total, chosen.nodes_delegated
    if split is not None and delegate == "gpu":
        taken = taken if taken is not None else split[0]
        total = total if total is not None else split[0] + split[1]
    return DelegateSummary(
        kernel=chosen.kernel,
        delegate=chosen.delegate or delegate,
        nodes_total=total,
        nodes_delegated=taken,
        partitions=chosen.partitions,
        unsupported=unsupported,
        complete=complete and not unsupported,
    )


# ---- putting it together -------------------------------------------------------------------------


def is_delegate_kernel(node_type: str) -> bool:
    t = node_type.strip().lower()
    return t in _KERNEL_TO_DELEGATE or t == "delegate" or (t.startswith("tflite") and "delegate" in t)


def placement(
    delegate: str,
    log_text: str,
    csv_text: str | None = None,
    *,
    top_n: int = TOP_N,
) -> Placement:
    """Combine the profile (CSV when there is one, else stdout tables) with the delegate's lines."""
    rows: list[OpNodeRow] = []
    by_type: list[dict[str, Any]] = []
    source = "log"
    if csv_text:
        rows, by_type = parse_csv(csv_text)
        source = "csv" if rows else source
    if not rows:
        rows, by_type = parse_stdout(log_text)
        source = "stdout" if rows else source
    summary = parse_delegate_summary(log_text, delegate)
    own = {k.lower() for k in DELEGATE_KERNELS.get(delegate, ())}
    cpu_rows = [r for r in rows if r.node_type.lower() not in own]
    groups: dict[str, list[OpNodeRow]] = {}
    for r in cpu_rows:
        groups.setdefault(r.node_type, []).append(r)
    total_ms = sum(r.avg_ms for r in rows) or None
    fallback = [
        FallbackOp(
            op_type=t,
            count=len(rs),
            time_pct=round(sum(r.avg_ms for r in rs) / total_ms * 100, 3) if total_ms else None,
            reason=summary.unsupported.get(t),
        )
        for t, rs in groups.items()
    ]
    # ops the delegate refused but the profile could not show (no profile, or a kernel merged them)
    for op, why in summary.unsupported.items():
        if op not in groups:
            fallback.append(FallbackOp(op_type=op, count=0, time_pct=None, reason=why))
    fallback.sort(key=lambda f: (-(f.time_pct or 0.0), f.op_type))
    nodes_total, nodes_delegated = summary.nodes_total, summary.nodes_delegated
    if summary.complete and nodes_delegated is not None and delegate != "cpu":
        # the whole graph ran in the delegate: op rows are its internal per-op events, not CPU work
        nodes_total = nodes_total or nodes_delegated
        fallback = []
    if delegate in ("cpu",) and nodes_delegated is None:
        nodes_delegated = 0
    if nodes_total is None and rows:
        # an older build said only "Replacing N node(s)": the nodes left on the CPU complete it
        nodes_total = (nodes_delegated or 0) + len(
            [r for r in cpu_rows if not is_delegate_kernel(r.node_type)]
        )
    if delegate in ("cpu",) and nodes_total is not None:
        fallback = []  # nothing was asked of an accelerator: nothing "fell back"
    top = sorted(rows, key=lambda r: -r.avg_ms)[:top_n]
    return Placement(
        delegate=delegate,
        source=source,
        nodes_total=nodes_total,
        nodes_delegated=nodes_delegated,
        partitions=summary.partitions,
        fallback_ops=fallback,
        top_ops=top,
        by_type=by_type[:50],
    )
