"""Reading what TensorFlow Lite's ``benchmark_model`` printed, whatever its release.

Why a tolerant, version-spanning parser: phones in a farm carry whatever binary was pushed
to them, and the tool's output changed many times (TF 1.x ``Average inference timings``,
2.3+ ``Inference timings in us``, ``p5/median/p95`` in the stat line of recent builds, the
LiteRT CompiledModel tool's ``BENCHMARK RESULTS`` block in milliseconds). Lines arrive with
or without ``INFO:``/glog/absl/logcat prefixes, interleaved with driver noise.

Why failures are typed rather than raised: a run that failed is still a result for the
user (``the model is not a valid Flatbuffer``, ``Failed to apply GPU delegate``), so the
caller needs a reason it can show, and a kind it can act on (retry a crash, not a bad
model). A run is also reported as failed when the output contradicts what was asked even
though timings were printed: a delegate that could not be created (the run silently fell
back to CPU) or a flag the binary did not consume (the setting was ignored). Numbers from
such a run would be stored under the wrong configuration.

Only the numbers the tool printed are returned; statistics across trials live elsewhere.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

# ---- result types ----------------------------------------------------------------------


@dataclass(frozen=True)
class RunStats:
    """One ``count=… first=… curr=… min=… max=… avg=… std=…`` line (microseconds)."""

    count: int
    first_us: float | None = None
    curr_us: float | None = None
    min_us: float | None = None
    max_us: float | None = None
    avg_us: float | None = None
    std_us: float | None = None
    p5_us: float | None = None
    median_us: float | None = None
    p95_us: float | None = None
    all_same: bool = False
    extra: dict[str, float] = field(default_factory=dict)  # keys a future build may add


@dataclass(frozen=True)
class OpTypeRow:
    """A row of ``Summary by node type``."""

    node_type: str
    count: int
    avg_ms: float
    pct: float
    cdf_pct: float | None = None
    mem_kb: float | None = None
    times_called: int | None = None


@dataclass(frozen=True)
class OpNodeRow:
    """A row of the ``Run Order`` table: one node of the graph."""

    node_type: str
    name: str
    avg_ms: float
    pct: float
    first_ms: float | None = None
    times_called: int | None = None


@dataclass(frozen=True)
class BenchmarkResult:
    format: str  # "tf1" (Average inference timings), "tflite2" (Inference timings in us), "litert"
    avg_us: float
    init_us: float | None = None
    first_inference_us: float | None = None
    warmup_avg_us: float | None = None
    min_us: float | None = None
    max_us: float | None = None
    std_us: float | None = None
    count: int | None = None
    median_us: float | None = None
    p5_us: float | None = None
    p95_us: float | None = None
    warmup: RunStats | None = None
    inference: RunStats | None = None
    memory_init_mb: float | None = None
    memory_overall_mb: float | None = None
    peak_memory_mb: float | None = None
    # delegates: requested from the params echo; applied = what runs (most of) the graph
    delegate_requested: str | None = None  # cpu, xnnpack, gpu, nnapi, hexagon, npu
    delegate_applied: str | None = None
    delegate_coverage: str | None = None  # full, partial, none (fell back to CPU)
    delegate_kernels: int | None = None
    cpu_fallback: bool = False
    delegates_created: list[str] = field(default_factory=list)
    threads: int | None = None
    tool_version: str | None = None
    model_path: str | None = None
    model_size_mb: float | None = None
    params: dict[str, str] = field(default_factory=dict)
    op_profile: list[OpTypeRow] = field(default_factory=list)
    op_nodes: list[OpNodeRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def warmup_count(self) -> int | None:
        return self.warmup.count if self.warmup else None


FAILURE_KINDS = (
    "model_missing",  # file not there or unreadable
    "model_invalid",  # not a flatbuffer, wrong schema
    "unsupported_op",  # op missing from this binary (Flex, newer op version)
    "delegate",  # delegate could not be created or applied
    "bad_flag",  # flag the binary does not know, or usage printed
    "allocation",  # AllocateTensors failed
    "invoke",  # an inference failed
    "crash",  # signal, abort
    "binary",  # the benchmark binary itself could not run
    "no_timings",  # ran, but printed no timing summary
)


@dataclass(frozen=True)
class BenchmarkFailure:
    message: str
    kind: str  # one of FAILURE_KINDS


# ---- line cleaning ---------------------------------------------------------------------

_PREFIXES = [
    # logcat -v threadtime: "11-25 01:02:03.456  1234  1234 I tflite  : msg"
    re.compile(r"^\d\d-\d\d \d\d:\d\d:\d\d\.\d+\s+\d+\s+\d+\s+[VDIWEF]\s+[^:]*?\s*:\s?"),
    # logcat -v brief: "I/tflite  ( 1234): msg"
    re.compile(r"^[VDIWEF]/[^(:]+\(\s*\d+\):\s?"),
    # glog (TF 1.x): "2018-09-10 12:36:15.624324: I tensorflow/.../benchmark_model.cc:469] msg"
    re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [VDIWEF] [^\]]*\]\s?"),
    # absl: "I0000 00:00:1795572449.778432   16436 file.cc:736] msg"
    re.compile(r"^[IWEF]\d{4} \d\d:\d\d:[\d.]+\s+\d+ [^\]]*\]\s?"),
    # python logging of LiteRT's tool: "2026-11-25 02:07:29 INFO benchmark_litert_model: msg"
    re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:,\d+)? (?:DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: "),
    # TFLITE_LOG / LITERT_LOG: "INFO: msg", "WARN: msg", "INFO: [file.cc:12] msg"
    re.compile(r"^(?:VERBOSE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL|SILENT): (?:\[[\w./-]+:\d+\] ?)?"),
]


def _clean(line: str) -> str:
    line = line.rstrip("\r\n").rstrip()
    for _ in range(3):
        before = line
        stripped = line.lstrip(" ")
        for rx in _PREFIXES:
            stripped = rx.sub("", stripped, count=1)
        line = stripped
        if line == before:
            break
    return line


# ---- patterns --------------------------------------------------------------------------

_NUM = r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|-?nan|-?inf)"
_STAT_PAIR = re.compile(rf"(\w+)=({_NUM})")
_STAT_LINE = re.compile(r"^(?:count=\d+|curr=\S+ count=\d+)")
_RUNNING = re.compile(r"^Running benchmark for")
_TFLITE2 = re.compile(r"^Inference timings in us:\s*(.*)$")
_TF1 = re.compile(r"^Average inference timings in us:\s*(.*)$")
_PAIR = re.compile(rf"([A-Za-z][A-Za-z ()]*?):\s*({_NUM})")
_MEM_DELTA = re.compile(
    rf"^(?:Memory footprint delta from the start of the tool|Peak memory footprint) \(MB\):\s*"
    rf"init=({_NUM})\s+overall=({_NUM})"
)
_MEM_PEAK = re.compile(rf"^Overall peak memory footprint \(MB\) via periodic monitoring:\s*({_NUM})")
_MODEL_SIZE = re.compile(rf"^The input model file size \(MB\):\s*({_NUM})")
_PARAM = re.compile(r"^(?P<k>[A-Za-z#][^:\[\]]*?)\s*:\s*\[(?P<v>[^\]]*)\]\s*$")
_LITERT_KV = re.compile(r"^(?P<k>[A-Z][A-Za-z ()0-9]*?):\s{1,}(?P<v>\S.*)$")
_VERSION = re.compile(
    r"(?:TensorFlow Lite|TF ?Lite|LiteRT|benchmark_model)(?: runtime| tool)? [Vv]ersion:?\s*\[?v?"
    r"(?P<v>\d+\.\d+[\w.+-]*)"
)
_CREATED = re.compile(r"^Created TensorFlow Lite (?:(?P<x>XNNPACK) )?delegate for (?P<d>[\w ]+?)\.?$")
_APPLIED = re.compile(
    r"^(?:Explicitly )?[Aa]pplied (?P<d>[\w ]+?) delegate(?:[.,]|$)"
    r"(?:.*?graph will be (?P<how>completely|partially) executed)?(?:.*?w/ (?P<n>\d+) delegate kernels)?"
)
_NOT_EXECUTED = re.compile(
    r"^Though (?P<d>[\w ]+?) delegate is explicitly applied, the model graph will not be"
)
_REPLACING = re.compile(
    r"^Replacing (?P<n>\d+)(?: out of (?P<m>\d+))? node\(s\) with delegate \((?P<name>\w+)\) node, "
    r"yielding (?P<p>\d+) partitions?"
)
_GPU_SPLIT = re.compile(
    r"^(?P<g>\d+) operations will run on the GPU, and the remaining (?P<c>\d+) operations? will run on the CPU"
)
_NO_GPU_NODE = re.compile(
    r"has no node that can be accelerated by the GPU|will not be executed by the delegate"
)
_TABLE_TITLE = re.compile(r"^=+ (?P<t>.+?) =+$")
_DELEGATE_NAMES = {
    "tflitegpudelegatev2": "gpu",
    "tflitegpudelegate": "gpu",
    "tflitexnnpackdelegate": "xnnpack",
    "tflitennapidelegate": "nnapi",
    "tflitehexagondelegate": "hexagon",
    "coremldelegate": "coreml",
}

# failures: (kind, pattern); searched in this order on cleaned lines when no timings came out
_FAILURES: list[tuple[str, re.Pattern[str]]] = [
    (
        "binary",
        re.compile(
            r"CANNOT LINK EXECUTABLE|not executable: (?:32|64)-bit|Exec format error|"
            r"benchmark_model\S*: (?:not found|Permission denied|inaccessible|can't execute)"
        ),
    ),
    (
        "crash",
        re.compile(
            r"Segmentation fault|SIGSEGV|SIGABRT|SIGBUS|SIGILL|Fatal signal \d+|^Aborted\b|"
            r"\bAborted \(core dumped\)|Bus error|Illegal instruction|terminating with uncaught "
            r"exception|^Killed$|Check failed:"
        ),
    ),
    (
        "bad_flag",
        re.compile(
            r"Unconsumed cmdline flags:|Failed to parse (?:the )?(?:command line )?flag|"
            r"^usage: \S*benchmark|Please specify the name of your TF Lite input file"
        ),
    ),
    (
        "model_invalid",
        re.compile(
            r"not a valid Flatbuffer|Failed to load model|Model provided has model "
            r"identifier|Model provided is schema version|Failed to build (?:the )?model|"
            r"Failed to verify|buffer is not a valid|Invalid (?:flatbuffer|model)"
        ),
    ),
    (
        "model_missing",
        re.compile(
            r"Could not open '|Failed to mmap model|Model file not found|"
            r"Failed to get the input model file size|"
            r"(?:\.tflite|model)\S*: No such file or directory|Permission denied"
        ),
    ),
    (
        "unsupported_op",
        re.compile(
            r"Didn't find op for builtin opcode|Encountered unresolved custom op|"
            r"Select TensorFlow op\(s\)|is not supported by this interpreter|"
            r"Op builtin_code out of range|Registration failed"
        ),
    ),
    (
        "delegate",
        re.compile(
            r"Failed to apply \w+ delegate|(?:GPU|NNAPI|Hexagon|XNNPACK) acceleration is "
            r"(?:unsupported|not supported)|(?:GPU|NNAPI|Hexagon) delegate is not supported|"
            r"Failed to create (?:the )?\w+ delegate|Disallowed CPU fallback|"
            r"TfLiteGpuDelegate (?:Init|Prepare|Invoke)|Failed to initialize WebGPU|"
            r"Failed to get or create delegate|delegate .*not initialized|"
            r"NNAPI delegate (?:failed|requested but not available)|"
            r"Could not create \w+ delegate|Fully accelerated:\s+False.*required"
        ),
    ),
    ("allocation", re.compile(r"Failed to allocate tensors|AllocateTensors\(\) failed")),
    ("invoke", re.compile(r"Failed to invoke|failed to invoke|failed to prepare|Run failed")),
    ("crash", re.compile(r"^Traceback \(most recent call last\)|RuntimeError:")),
    ("model_invalid", re.compile(r"Failed to initialize the interpreter|Failed to construct interpreter")),
]

# creation failures that leave timings behind: the tool went on without the delegate
_DELEGATE_NOT_CREATED = re.compile(
    r"(?:GPU|NNAPI|Hexagon|XNNPACK) acceleration is (?:unsupported|not supported)|"
    r"(?:GPU|NNAPI|Hexagon) delegate is not supported|Failed to create (?:the )?\w+ delegate|"
    r"Could not create \w+ delegate|NNAPI delegate requested but not available"
)


def _num(text: str) -> float:
    return float(text)


def _finite(v: float | None) -> float | None:
    return v if v is not None and math.isfinite(v) else None


def _stats(line: str) -> RunStats:
    pairs = {k: _num(v) for k, v in _STAT_PAIR.findall(line)}
    known = {"count", "first", "curr", "min", "max", "avg", "std", "p5", "median", "p95"}
    all_same = "(all same)" in line or (
        "curr" in pairs and "avg" not in pairs and "min" not in pairs and pairs.get("count", 0) >= 1
    )
    curr = pairs.get("curr")
    s = RunStats(
        count=int(pairs.get("count", 0)),
        first_us=pairs.get("first", curr if all_same else None),
        curr_us=curr,
        min_us=pairs.get("min", curr if all_same else None),
        max_us=pairs.get("max", curr if all_same else None),
        avg_us=pairs.get("avg", curr if all_same else None),
        std_us=pairs.get("std", 0.0 if all_same else None),
        p5_us=pairs.get("p5"),
        median_us=pairs.get("median"),
        p95_us=pairs.get("p95"),
        all_same=all_same,
        extra={k: v for k, v in pairs.items() if k not in known},
    )
    return s


def _delegate_key(name: str) -> str:
    n = name.strip().lower()
    return _DELEGATE_NAMES.get(n.replace(" ", ""), n.split()[0] if n else n)


def _truthy(v: str | None) -> bool:
    return v is not None and v.strip().lower() in ("1", "true", "yes")


# ---- op profiling tables ----------------------------------------------------------------


def _table_rows(header: str, lines: list[str]) -> list[dict[str, str]]:
    cols = [c.strip().lower() for c in re.findall(r"\[([^\]]+)\]", header)]
    if not cols or cols[0] != "node type":
        return []
    has_name = cols[-1] == "name"
    numeric = cols[1 : len(cols) - (1 if has_name else 0)]
    rx = re.compile(
        r"^\s*(?P<c0>\S.*?)"
        + "".join(rf"\s+(?P<c{i + 1}>{_NUM})%?" for i in range(len(numeric)))
        + (r"(?:\s+(?P<name>.*?))?\s*$" if has_name else r"\s*$")
    )
    rows = []
    for line in lines:
        m = rx.match(line)
        if not m:
            continue
        row = {"node type": m["c0"].strip()}
        row.update({col: m[f"c{i + 1}"] for i, col in enumerate(numeric)})
        if has_name:
            row["name"] = (m["name"] or "").strip()
        rows.append(row)
    return rows


def _f(row: dict[str, str], *keys: str) -> float | None:
    for k in keys:
        if k in row:
            return float(row[k])
    return None


def _parse_tables(lines: list[str]) -> tuple[list[OpTypeRow], list[OpNodeRow]]:
    """Tables of the regular runs (or the last ones when the sections are not labelled)."""
    section = "regular"
    by_type: dict[str, list[OpTypeRow]] = {}
    nodes: dict[str, list[OpNodeRow]] = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        if "Profiling Info for Benchmark Initialization" in line:
            section = "init"
        elif "Profiling Info for Regular Benchmark Runs" in line:
            section = "regular"
        m = _TABLE_TITLE.match(line)
        if not m or i + 1 >= len(lines):
            i += 1
            continue
        title = m["t"].strip()
        header = lines[i + 1]
        body: list[str] = []
        j = i + 2
        while j < len(lines) and lines[j].strip() and not _TABLE_TITLE.match(lines[j]):
            body.append(lines[j])
            j += 1
        rows = _table_rows(header, body)
        if title == "Summary by node type":
            by_type[section] = [
                OpTypeRow(
                    node_type=r["node type"],
                    count=int(float(r.get("count", "0"))),
                    avg_ms=_f(r, "avg ms") or 0.0,
                    pct=_f(r, "avg %", "%") or 0.0,
                    cdf_pct=_f(r, "cdf %", "cdf%"),
                    mem_kb=_f(r, "mem kb"),
                    times_called=int(float(r["times called"])) if "times called" in r else None,
                )
                for r in rows
            ]
        elif title == "Run Order":
            nodes[section] = [
                OpNodeRow(
                    node_type=r["node type"],
                    name=r.get("name", ""),
                    avg_ms=_f(r, "avg ms") or 0.0,
                    pct=_f(r, "%") or 0.0,
                    first_ms=_f(r, "first"),
                    times_called=int(float(r["times called"])) if "times called" in r else None,
                )
                for r in rows
            ]
        i = j
    return by_type.get("regular", []), nodes.get("regular", [])


# ---- main entry --------------------------------------------------------------------------


def parse(text: str) -> BenchmarkResult | BenchmarkFailure:
    """Parse one run's combined stdout/stderr. Never raises on odd input."""
    lines = [_clean(raw) for raw in (text or "").splitlines()]
    stripped = [ln.strip() for ln in lines]

    blocks: list[RunStats] = []
    summary: dict[str, float] = {}
    fmt: str | None = None
    litert: dict[str, str] = {}
    in_litert = False
    params: dict[str, str] = {}
    mem_init = mem_overall = peak = model_size = None
    version: str | None = None
    created: list[str] = []
    applied: str | None = None
    coverage: str | None = None
    kernels: int | None = None
    fallback = False
    warnings: list[str] = []

    for ln in stripped:
        if not ln:
            continue
        if _STAT_LINE.match(ln):
            blocks.append(_stats(ln))
            continue
        if m := _TFLITE2.match(ln):
            summary = {k.strip().lower(): _num(v) for k, v in _PAIR.findall(m[1])}
            fmt = "tflite2"
            continue
        if m := _TF1.match(ln):
            body = m[1]
            pairs = {k.strip().lower(): _num(v) for k, v in _PAIR.findall(body)}
            lead = re.match(rf"^({_NUM})\s*,", body)  # very early builds: "<avg> , Warmup: <w>,"
            if lead:
                pairs.setdefault("inference", _num(lead[1]))
            summary = pairs
            fmt = "tf1"
            continue
        if "BENCHMARK RESULTS" in ln:
            in_litert, fmt, litert = True, "litert", {}
            continue
        if in_litert and litert and re.fullmatch(r"=+", ln):
            in_litert = False
            continue
        if in_litert and (m := _LITERT_KV.match(ln)):
            litert[m["k"].strip().lower()] = m["v"].strip()
            continue
        if m := _MEM_DELTA.match(ln):
            mem_init, mem_overall = _num(m[1]), _num(m[2])
            continue
        if m := _MEM_PEAK.match(ln):
            peak = _num(m[1])
            continue
        if m := _MODEL_SIZE.match(ln):
            model_size = _num(m[1])
            continue
        if version is None and (m := _VERSION.search(ln)):
            version = m["v"]
        if m := _PARAM.match(ln):
            params[m["k"].strip()] = m["v"].strip()
            continue
        if (
            not in_litert
            and (m := _LITERT_KV.match(ln))
            and m["k"] in ("Num threads", "Accelerators", "Model")
        ):
            params[m["k"]] = m["v"].strip()  # LiteRT's Python tool echoes its settings this way
        if m := _CREATED.match(ln):
            created.append("xnnpack" if m["x"] else _delegate_key(m["d"]))
        elif m := _APPLIED.match(ln):
            applied = _delegate_key(m["d"])
            how = m["how"]
            coverage = {"completely": "full", "partially": "partial"}.get(how or "", coverage or "full")
            if m["n"]:
                kernels = int(m["n"])
        elif m := _NOT_EXECUTED.match(ln):
            applied, coverage, fallback = _delegate_key(m["d"]), "none", True
        elif m := _REPLACING.match(ln):
            # "for the whole graph" only says partitions were counted graph-wide; coverage comes
            # from "N out of M" (newer builds) or from the "Explicitly applied" line
            d = _DELEGATE_NAMES.get(m["name"].lower(), m["name"])
            if applied is None or applied == d:
                applied, kernels = d, int(m["p"])
                if m["m"] is not None:
                    coverage = "full" if int(m["m"]) == int(m["n"]) else "partial"
                    fallback = fallback or coverage == "partial"
        elif m := _GPU_SPLIT.match(ln):
            if int(m["c"]) > 0:
                coverage, fallback = "partial", True
        elif _NO_GPU_NODE.search(ln):
            coverage, fallback = "none", True
        if ln.startswith("Unconsumed cmdline flags:") or _DELEGATE_NOT_CREATED.search(ln):
            warnings.append(ln)

    failure = _failure(stripped, bool(summary or litert))
    if failure is not None:
        return failure
    if fmt is None or not (summary or litert):
        return _no_timings(stripped, blocks)

    # params echo: threads, graph, requested delegate
    threads = _int(
        params.get("#threads used for CPU inference")
        or params.get("Num threads")
        or params.get("num_threads")
    )
    requested = _requested(params)
    model_path = params.get("Graph") or params.get("Model")

    warmup = blocks[0] if len(blocks) >= 2 else None
    measured = blocks[-1] if blocks else None

    if fmt == "litert":
        res = _litert_values(litert)
        if res is None:
            return _no_timings(stripped, blocks)
        avg, init, first, warm_avg, count, mn, mx, std, med, p5, p95 = res
        if measured is not None and measured.count == count and measured.avg_us is not None:
            # the stat line is in microseconds; the results block rounds to 10 us
            avg, mn, mx, std = measured.avg_us, measured.min_us, measured.max_us, measured.std_us
            med = med if med is not None else measured.median_us
            p5 = p5 if p5 is not None else measured.p5_us
            p95 = p95 if p95 is not None else measured.p95_us
        if warmup is not None and warmup.count and warmup.avg_us is not None:
            first = warmup.first_us if warmup.first_us is not None else first
            warm_avg = warmup.avg_us
        fa = litert.get("fully accelerated")
        if fa is not None:
            coverage = "full" if _truthy(fa) else "partial"
            fallback = fallback or not _truthy(fa)
        mem_init = _mb(litert.get("init footprint")) if mem_init is None else mem_init
        mem_overall = _mb(litert.get("overall footprint")) if mem_overall is None else mem_overall
        peak = _mb(litert.get("peak memory")) if peak is None else peak
        if requested is None and params.get("Accelerators"):
            requested = params["Accelerators"].split(",")[0].strip().lower()
    else:
        avg_v = summary.get("inference (avg)", summary.get("inference", summary.get("no stats")))
        if avg_v is None:
            return _no_timings(stripped, blocks)
        avg = avg_v
        init = summary.get("init")
        warm_avg = summary.get("warmup (avg)", summary.get("warmup"))
        first = summary.get("first inference")
        if first is None and warmup is not None:
            first = warmup.first_us
        if len(blocks) > 2:  # TF's own tool: warm-up, no-stats and with-stats blocks; take the closest
            measured = min(blocks[1:], key=lambda b: abs((b.avg_us or math.inf) - avg))
        count = measured.count if measured else None
        mn = measured.min_us if measured else None
        mx = measured.max_us if measured else None
        std = measured.std_us if measured else None
        med = measured.median_us if measured else None
        p5 = measured.p5_us if measured else None
        p95 = measured.p95_us if measured else None

    if not math.isfinite(avg) or avg <= 0 or count == 0:
        return BenchmarkFailure(
            "the benchmark timed no inference (avg is not a positive number): "
            "was it a dry run, or num_runs=0 with min_secs<=0?",
            "no_timings",
        )

    accelerators = ("gpu", "nnapi", "hexagon", "npu")
    if applied is None:
        others = [d for d in created if d != "xnnpack"]
        if requested in accelerators:
            if requested in created:
                applied = requested
            elif created:  # asked for one delegate, another one got created
                applied, fallback = created[-1], True
            # nothing logged about delegates at all: unknown rather than guessed
        elif others:
            applied = others[-1]
        elif "xnnpack" in created:
            applied = "xnnpack"
        elif requested == "cpu" or fmt != "tf1":
            applied = "cpu"
    if coverage == "none":
        applied = "xnnpack" if "xnnpack" in created else "cpu"

    op_types, op_nodes = _parse_tables(lines)
    return BenchmarkResult(
        format=fmt,
        avg_us=avg,
        init_us=_finite(init),
        first_inference_us=_finite(first),
        warmup_avg_us=_finite(warm_avg),
        min_us=_finite(mn),
        max_us=_finite(mx),
        std_us=_finite(std),
        count=count,
        median_us=_finite(med),
        p5_us=_finite(p5),
        p95_us=_finite(p95),
        warmup=warmup,
        inference=measured,
        memory_init_mb=mem_init,
        memory_overall_mb=mem_overall,
        peak_memory_mb=peak,
        delegate_requested=requested,
        delegate_applied=applied,
        delegate_coverage=coverage,
        delegate_kernels=kernels,
        cpu_fallback=fallback,
        delegates_created=created,
        threads=threads,
        tool_version=version,
        model_path=model_path,
        model_size_mb=model_size,
        params=params,
        op_profile=op_types,
        op_nodes=op_nodes,
        warnings=warnings,
    )


def _int(v: str | None) -> int | None:
    if v is None:
        return None
    try:
        return int(v.strip())
    except ValueError:
        return None


def _mb(v: str | None) -> float | None:
    if not v:
        return None
    m = re.match(rf"({_NUM})\s*MB", v)
    return float(m[1]) if m else None


def _ms(v: str | None) -> float | None:
    if not v:
        return None
    m = re.match(rf"({_NUM})", v)
    return float(m[1]) * 1000.0 if m else None


def _litert_values(
    kv: dict[str, str],
) -> (
    tuple[
        float,
        float | None,
        float | None,
        float | None,
        int | None,
        float | None,
        float | None,
        float | None,
        float | None,
        float | None,
        float | None,
    ]
    | None
):
    avg = _ms(kv.get("inference (avg)"))
    if avg is None:
        return None
    runs = re.search(r"\((\d+) runs?\)", kv.get("inference (avg)", ""))
    return (
        avg,
        _ms(kv.get("model initialization")),
        _ms(kv.get("warmup (first)")),
        _ms(kv.get("warmup (avg)")),
        int(runs[1]) if runs else None,
        _ms(kv.get("inference (min)")),
        _ms(kv.get("inference (max)")),
        _ms(kv.get("inference (std)")),
        _ms(kv.get("inference (median)")),
        _ms(kv.get("inference (p5)")),
        _ms(kv.get("inference (p95)")),
    )


def _requested(params: dict[str, str]) -> str | None:
    flags = {k.lower().replace(" ", ""): v for k, v in params.items()}
    for key, name in (
        ("usegpu", "gpu"),
        ("usennapi", "nnapi"),
        ("usehexagon", "hexagon"),
        ("usenpu", "npu"),
    ):
        if _truthy(flags.get(key)):
            return name
    if "usexnnpack" in flags:
        return "xnnpack" if _truthy(flags["usexnnpack"]) else "cpu"
    return None


def _failure(lines: list[str], has_timings: bool) -> BenchmarkFailure | None:
    if has_timings:
        # timings were printed, but the run did not measure what was asked
        for ln in lines:
            if ln.startswith("Unconsumed cmdline flags:"):
                flags = ln.split(":", 1)[1].strip()
                return BenchmarkFailure(
                    f"benchmark_model ignored flags it does not know ({flags}); this binary is too old "
                    "or too new for the requested settings, so its timings do not match the job",
                    "bad_flag",
                )
            if _DELEGATE_NOT_CREATED.search(ln):
                return BenchmarkFailure(
                    f"{ln} (the run went on without the requested delegate; its timings are not stored)",
                    "delegate",
                )
        return None
    for kind, rx in _FAILURES:
        for ln in lines:
            if rx.search(ln):
                return BenchmarkFailure(_failure_message(kind, ln, lines), kind)
    return None


def _failure_message(kind: str, line: str, lines: list[str]) -> str:
    line = line[:300]
    if kind == "bad_flag" and line.startswith("usage:"):
        return "benchmark_model rejected its command line and printed its usage"
    if kind == "crash" and (line.startswith("Traceback") or "RuntimeError" in line):
        errs = [ln for ln in lines if re.search(r"\bERROR\b|Error:|Failed", ln)]
        return (errs[-1] if errs else line)[:300]
    return line


def _no_timings(lines: list[str], blocks: list[RunStats]) -> BenchmarkFailure:
    errs = [ln for ln in lines if re.search(r"(?i)\berror\b|failed|fatal", ln)]
    tail = errs[-1] if errs else next((ln for ln in reversed(lines) if ln), "")
    what = f"{len(blocks)} run block(s) but no timing summary" if blocks else "no timing summary"
    msg = f"benchmark_model printed {what}"
    if tail:
        msg += f"; last line of note: {tail[:200]}"
    return BenchmarkFailure(msg, "no_timings")
