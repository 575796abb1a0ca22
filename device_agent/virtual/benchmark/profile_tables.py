"""The op profile the tool prints with --enable_op_profiling (or writes as CSV).

Why apart from the tool: it is a printing job only, on what the run measured. The per-op times
are ESTIMATED (the measured average inference time split by each op's arithmetic cost) because
LiteRT's Python API has no op profiler; the output says so. The tables' layout is TFLite 2.16's
profile_summary_formatter, which the farm's op-profile parser reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from contracts.delegate_ops import NNAPI_OPS, XNNPACK_OPS
from device_agent.virtual import op_profiling
from device_agent.virtual.benchmark.interpreter_child import OpInfo
from device_agent.virtual.benchmark.stat import Stat

if TYPE_CHECKING:
    from device_agent.virtual.device import VirtualDevice


class Log(Protocol):
    def info(self, text: str) -> None: ...

    def error(self, text: str) -> None: ...


def print_op_profile(
    log: Log,
    device: VirtualDevice,
    cwd: str,
    ops: list[OpInfo],
    regular: Stat,
    init_us: int,
    delegate: str | None,
    cpu_kind: str,
    p: dict[str, Any],
) -> None:
    """The initialization and regular-run profiles, to the log or to --op_profiling_output_file."""
    # csv mode: the tables go to the file, not the log (the ESTIMATED note stays in the log)
    csv_file = p["op_profiling_output_file"] if p["op_profiling_output_mode"] == "csv" else ""
    info: Callable[[str], None] = log.info if not csv_file else (lambda _text: None)
    hdr = "\t             [node type]\t  [first]\t [avg ms]\t     [%]\t  [cdf%]\t  [mem KB]\t[times called]\t[Name]"
    sum_hdr = "\t             [Node type]\t  [count]\t  [avg ms]\t    [avg %]\t    [cdf %]\t  [mem KB]\t[times called]"
    init_ms = init_us / 1e3
    mgwd = init_ms * 0.9 if delegate or cpu_kind == "xnnpack" else 0.0
    alloc = max(0.001, init_ms * 0.01)
    info("Profiling Info for Benchmark Initialization:")
    info("============================== Run Order ==============================")
    info(hdr)
    init_rows = (
        [("ModifyGraphWithDelegate", mgwd, 1), ("AllocateTensors", alloc, 2)]
        if mgwd
        else [("AllocateTensors", alloc, 2)]
    )
    total = sum(r[1] for r in init_rows) or 1.0
    cdf = 0.0
    for name, ms, called in init_rows:
        cdf += ms / total * 100
        info(
            f"\t{name:>24}\t{ms:9.3f}\t{ms:9.3f}\t{ms / total * 100:7.3f}%\t{cdf:7.3f}%\t{0.0:10.3f}\t"
            f"{called:9d}\t{name}/0"
        )
    info("")
    info("============================== Summary by node type ==============================")
    info(sum_hdr)
    cdf = 0.0
    for name, ms, called in init_rows:
        cdf += ms / total * 100
        info(
            f"\t{name:>24}\t{1:9d}\t{ms:10.3f}\t{ms / total * 100:10.3f}%\t{cdf:10.3f}%\t{0.0:10.3f}\t{called:9d}"
        )
    info("")
    info(f"Timings (microseconds): count=1 curr={round(total * 1000)}")
    info("Memory (bytes): count=0")
    info(f"{len(init_rows)} nodes observed")
    info("")
    info("")
    log.info(
        "[phonefarm-virtual] operator times below are ESTIMATED: the measured average inference time split "
        "by each op's arithmetic cost (LiteRT's Python API has no per-op profiler)"
    )
    avg_ms = regular.avg() / 1e3
    first_ms = regular.first() / 1e3
    rows: list[tuple[str, str, float, float]] = []
    if delegate in ("gpu", "nnapi") or (cpu_kind == "xnnpack" and p["use_xnnpack"]):
        gpu = op_profiling.gpu_ops(device.profile.gpu_unsupported_ops)
        supported = gpu if delegate == "gpu" else NNAPI_OPS if delegate == "nnapi" else XNNPACK_OPS
        kernel = {"gpu": "TfLiteGpuDelegateV2", "nnapi": "TfLiteNnapiDelegate"}.get(
            delegate or "", "TfLiteXNNPackDelegate"
        )
        delegated = [o for o in ops if o.name in supported]
        rest = [o for o in ops if o.name not in supported]
        units: list[tuple[str, str, float]] = []
        if delegated:
            units.append((kernel, f"Delegate/{kernel}:{delegated[0].index}", sum(o.cost for o in delegated)))
        units += [(o.name, f"[{o.output}]:{o.index}", o.cost) for o in rest]
    else:
        units = [(o.name, f"[{o.output}]:{o.index}", o.cost) for o in ops]
    total_cost = sum(u[2] for u in units) or 1.0
    for kind, label, cost in units:
        share = cost / total_cost
        rows.append((kind, label, first_ms * share, avg_ms * share))
    info("Operator-wise Profiling Info for Regular Benchmark Runs:")
    for title, shown in (
        ("Run Order", rows),
        ("Top by Computation Time", sorted(rows, key=lambda r: -r[3])[:10]),
    ):
        info(f"============================== {title} ==============================")
        info(hdr)
        for (kind, label, first, avg), pct, cdf in op_profiling.cdf_rows(shown, avg_ms):
            info(
                f"\t{kind:>24}\t{first:9.3f}\t{avg:9.3f}\t{pct:7.3f}%\t{cdf:7.3f}%\t{0.0:10.3f}\t{1:9d}\t{label}"
            )
        info("")
    info(f"Number of nodes executed: {len(rows)}")
    info("============================== Summary by node type ==============================")
    info(sum_hdr)
    for kind, count, ms, pct, cdf in op_profiling.type_summary(rows, avg_ms):
        info(f"\t{kind:>24}\t{count:9d}\t{ms:10.3f}\t{pct:10.3f}%\t{cdf:10.3f}%\t{0.0:10.3f}\t{count:9d}")
    info("")
    info(f"Timings (microseconds): {regular.line()}")
    info("Memory (bytes): count=0")
    info(f"{len(rows)} nodes observed")
    info("")
    if csv_file:
        init_nodes = [(name, f"{name}/0", ms, ms) for name, ms, _ in init_rows]
        init_line = f"count=1 curr={round(total * 1000)}"
        try:
            target = device.resolve(csv_file, cwd=cwd, write=True)
            op_profiling.write_csv(target, init_nodes, rows, init_line, regular.line())
        except OSError:
            log.error(f"Failed to open output file for writing: {csv_file}")
