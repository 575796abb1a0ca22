"""Upload-time GPU prediction: LiteRT's analyzer behind a wrapper, beside the farm's op table."""

from __future__ import annotations

from pathlib import Path

from server.models import gpu_compat

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_the_op_the_gpu_delegate_cannot_run_is_predicted_on_the_cpu() -> None:
    path = FIXTURES / "tiny_segmenter_cumsum.tflite"
    pred = gpu_compat.cached(str(path), "cumsum-fixture")
    assert pred.analyzer_ran, pred.error
    assert pred.predicted_cpu_ops == ["CUMSUM"]
    (cumsum,) = [o for o in pred.ops if not o.gpu]
    assert cumsum.count == 1 and cumsum.why
    # LiteRT's analyzer calls this model compatible: a prediction, which is why the farm's table stands beside it
    assert pred.analyzer_compatible is True


def test_a_fully_supported_model_predicts_nothing_on_the_cpu() -> None:
    pred = gpu_compat.cached(str(FIXTURES / "tiny_segmenter.tflite"), "tiny-fixture")
    assert pred.predicted_cpu_ops == [] and {o.op_type for o in pred.ops} >= {"CONV_2D", "RESIZE_BILINEAR"}


def test_analyzer_warnings_are_read_per_op() -> None:
    text = (
        "Subgraph#0 main(T#0) -> [T#2]\n"
        "  Op#0 CONV_2D(T#0, T#1) -> [T#2]\n"
        "  Op#1 CUMSUM(T#2, T#3) -> [T#4] GPU COMPATIBILITY WARNING: Not supported op CUMSUM\n"
        "GPU COMPATIBILITY WARNING: Subgraph#0 has GPU delegate compatibility issues at nodes 1\n"
    )
    verdict, flags = gpu_compat.parse_analyzer(text)
    assert verdict is False and flags == {"CUMSUM": "Not supported op CUMSUM"}
    assert gpu_compat.parse_analyzer("garbage\x00") == (None, {})


def test_an_unreadable_file_is_said_not_raised(tmp_path: Path) -> None:
    bad = tmp_path / "x.tflite"
    bad.write_bytes(b"not a model")
    pred = gpu_compat.cached(str(bad), "bad")
    assert not pred.analyzer_ran and pred.error
