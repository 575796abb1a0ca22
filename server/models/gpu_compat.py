"""Before any phone is busy: which of a model's ops the GPU delegate is expected to refuse.

Two sources, shown side by side and both labelled a prediction:

* LiteRT's own model analyzer (``ai_edge_litert``'s ``ModelAnalyzer`` with its GPU
  compatibility check): its per-op ``GPU COMPATIBILITY WARNING`` lines and its overall verdict.
  It has called Flex models and ops the delegate has no kernel for "compatible"
  (field facts), so it is never the only word.
* the farm's table of builtin ops the GPU delegate (2.16) takes, the same table the virtual
  phones place nodes with.

Why a subprocess: the analyzer is C++ reading an uploaded flatbuffer; a crash there must
not take the API process down, and a hang is cut by a timeout. Results are cached per file
hash. The farm's own flatbuffer reader (contracts/tflite.py) stays the validator.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

TIMEOUT_S = 60.0
MAX_TEXT = 4 * 1024 * 1024
_OP_WARNING = re.compile(
    r"Op#(?P<i>\d+) (?P<op>[A-Z][A-Z0-9_]*)\b.*?GPU COMPATIBILITY WARNING: (?P<why>.{1,300})"
)
_COMPATIBLE = "Your model looks compatible with GPU delegate"


@dataclass(frozen=True)
class OpPrediction:
    op_type: str
    count: int
    gpu: bool
    why: str | None = None


@dataclass(frozen=True)
class GpuCompat:
    analyzer_ran: bool
    analyzer_compatible: bool | None
    analyzer_flags: dict[str, str] = field(default_factory=dict)  # op -> the analyzer's reason
    ops: list[OpPrediction] = field(default_factory=list)
    error: str | None = None

    @property
    def predicted_cpu_ops(self) -> list[str]:
        return [o.op_type for o in self.ops if not o.gpu]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"predicted_cpu_ops": self.predicted_cpu_ops}


def parse_analyzer(text: str) -> tuple[bool | None, dict[str, str]]:
    """(verdict, op -> reason) from the analyzer's text report."""
    flags: dict[str, str] = {}
    said_compatible = warned = False
    for line in text[:MAX_TEXT].splitlines():
        if _COMPATIBLE in line:
            said_compatible = True
        elif "GPU COMPATIBILITY WARNING" in line:
            warned = True
            if m := _OP_WARNING.search(line):
                flags.setdefault(m["op"], m["why"].strip())
    return (False if warned else True if said_compatible else None), flags


def _run_analyzer(path: Path) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "server.models.gpu_compat", str(path)],
        capture_output=True,
        timeout=TIMEOUT_S,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    if proc.returncode != 0:
        raise RuntimeError(f"the analyzer exited with {proc.returncode}")
    return proc.stdout[:MAX_TEXT].decode("utf-8", "replace")


def _gpu_ops() -> frozenset[str]:
    from device_agent.virtual.benchmark_tool import GPU_OPS

    return GPU_OPS


def predict(path: Path, operators: list[str]) -> GpuCompat:
    counts = Counter(operators)
    error = None
    try:
        text = _run_analyzer(path)
        verdict, flags = parse_analyzer(text)
        ran = True
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
        verdict, flags, ran, error = None, {}, False, f"LiteRT's analyzer could not run: {exc}"
    table = _gpu_ops()
    ops = []
    for op, n in sorted(counts.items()):
        if op in flags:
            ops.append(OpPrediction(op, n, False, f"analyzer: {flags[op]}"))
        elif op not in table:
            ops.append(
                OpPrediction(op, n, False, "not among the ops the GPU delegate (2.16) has kernels for")
            )
        else:
            ops.append(OpPrediction(op, n, True))
    return GpuCompat(ran, verdict, flags, ops, error)


@lru_cache(maxsize=256)
def cached(path: str, sha256: str) -> GpuCompat:
    """Per file hash: the analyzer runs once per model and process."""
    from contracts.tflite import TFLiteError, inspect_tflite

    try:
        info = inspect_tflite(Path(path).read_bytes())
    except (OSError, TFLiteError) as exc:
        return GpuCompat(False, None, error=f"the model file could not be read: {exc}")
    ops = [d.name for d in info.operator_details for _ in range(d.count)]
    return predict(Path(path), ops)


def _main(argv: list[str]) -> int:
    from ai_edge_litert import _pywrap_analyzer_wrapper as analyzer

    sys.stdout.write(analyzer.ModelAnalyzer(argv[0], True, True))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
