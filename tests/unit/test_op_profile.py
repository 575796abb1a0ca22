"""Op-profile parsing: the profiler's CSV, its stdout tables and the delegate's own summary lines."""

from __future__ import annotations

from pathlib import Path

from device_agent import op_profile

DATA = Path(__file__).parent / "data" / "benchmark"

CSV = """Profiling Info for Benchmark Initialization:
============================== Run Order ==============================
node type, first, avg_ms, %, cdf%, mem KB, times called, name
ModifyGraphWithDelegate, 120.5, 120.5, 99%, 99%, 0, 1, ModifyGraphWithDelegate/0

Operator-wise Profiling Info for Regular Benchmark Runs:
============================== Run Order ==============================
node type, start, first, avg_ms, %, cdf%, mem KB, times called, name
TfLiteGpuDelegateV2, 0, 4.1, 4.0, 80%, 80%, 0, 1, Delegate/TfLiteGpuDelegateV2:0
CUMSUM, 4.0, 0.8, 0.75, 15%, 95%, 0, 1, [model/cumsum\tscaled]:13
TfLiteGpuDelegateV2, 4.8, 0.3, 0.25, 5%, 100%, 0, 1, Delegate/TfLiteGpuDelegateV2:14

Number of nodes executed: 3
============================== Summary by node type ==============================
node type, count, avg_ms, avg %, cdf %, mem KB, times called
TfLiteGpuDelegateV2, 2, 4.25, 85%, 85%, 0, 2
CUMSUM, 1, 0.75, 15%, 100%, 0, 1
"""

LOG = """INFO: Created TensorFlow Lite delegate for GPU.
INFO: Following operations are not supported by GPU delegate:
INFO: CUMSUM: Operation is not supported.
INFO: 15 operations will run on the GPU, and the remaining 1 operations will run on the CPU.
INFO: Replacing 15 out of 16 node(s) with delegate (TfLiteGpuDelegateV2) node, yielding 2 partitions.
"""


def test_csv_rows_come_from_the_regular_runs_with_commas_restored_in_names() -> None:
    rows, by_type = op_profile.parse_csv(CSV)
    assert [r.node_type for r in rows] == ["TfLiteGpuDelegateV2", "CUMSUM", "TfLiteGpuDelegateV2"]
    assert rows[1].name == "[model/cumsum,scaled]:13" and rows[1].avg_ms == 0.75 and rows[1].pct == 15.0
    assert by_type[0] == {"node_type": "TfLiteGpuDelegateV2", "count": 2, "avg_ms": 4.25, "pct": 85.0}


def test_placement_counts_delegated_nodes_and_lists_cpu_fallbacks_with_time_share() -> None:
    p = op_profile.placement("gpu", LOG, CSV)
    assert (p.source, p.nodes_total, p.nodes_delegated, p.partitions) == ("csv", 16, 15, 2)
    assert p.nodes_delegated is not None and p.nodes_total is not None and p.nodes_delegated < p.nodes_total
    (fb,) = p.fallback_ops
    assert (fb.op_type, fb.count, fb.reason) == ("CUMSUM", 1, "Operation is not supported.")
    assert fb.time_pct == 15.0
    assert p.top_ops[0].node_type == "TfLiteGpuDelegateV2"
    assert p.as_dict()["delegated_share"] == 15 / 16


def test_stdout_tables_are_read_when_there_is_no_csv() -> None:
    text = (DATA / "tflite_2.4_gpu_full_op_profiling.txt").read_text()
    rows, _by_type = op_profile.parse_stdout(text)
    assert [r.node_type for r in rows] == ["CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "SOFTMAX"]
    assert rows[0].avg_ms == 4.605 and rows[0].name == "[MobilenetV1/Conv2d_0/Relu6]:0"
    p = op_profile.placement("gpu", text)
    # "Replacing 4 node(s)" and "completely executed": the rows are the delegate's own, nothing fell back
    assert (p.source, p.nodes_total, p.nodes_delegated, p.fallback_ops) == ("stdout", 4, 4, [])
    assert p.top_ops[0].node_type == "CONV_2D"


def test_a_recorded_partial_gpu_run_names_the_op_left_on_the_cpu() -> None:
    text = (DATA / "tflite_2.x_gpu_partial_logcat.txt").read_text()
    p = op_profile.placement("gpu", text)
    assert (p.nodes_total, p.nodes_delegated, p.partitions) == (64, 58, 4)
    assert [f.op_type for f in p.fallback_ops] == ["MAX_POOL_WITH_ARGMAX"]


def test_the_requested_delegates_line_wins_over_xnnpack() -> None:
    log = (
        "INFO: Replacing 16 out of 16 node(s) with delegate (TfLiteXNNPackDelegate) node, yielding 1 partitions.\n"
        "INFO: Replacing 10 out of 16 node(s) with delegate (TfLiteNnapiDelegate) node, yielding 3 partitions.\n"
    )
    s = op_profile.parse_delegate_summary(log, "nnapi")
    assert (s.delegate, s.nodes_delegated, s.nodes_total, s.partitions) == ("nnapi", 10, 16, 3)
    s = op_profile.parse_delegate_summary(
        "INFO: 30 nodes delegated out of 31 nodes with 2 partitions.", "gpu"
    )
    assert (s.nodes_delegated, s.nodes_total, s.partitions) == (30, 31, 2)


def test_garbage_gives_an_empty_placement_not_an_error() -> None:
    p = op_profile.placement("gpu", "\x00" * 100 + "=== Run Order ===\nnode type\n,,,", "node type, x\n1,2")
    assert (p.nodes_total, p.nodes_delegated, p.fallback_ops, p.top_ops) == (None, None, [], [])
