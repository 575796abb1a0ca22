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

Why it is linear: phone output is hostile input. A 60 KB line ``count=1 aaaa…`` once froze
every worker thread for ~40 s in a backtracking ``findall``. The text is cut to a head and a
tail (MAX_TEXT), every line to MAX_LINE, key=value and "a: b, c: d" lists are split rather
than matched, and the regexes left are anchored or have a bounded gap, with no adjacent
unbounded quantifiers over the same characters.

How it is organised: `parse` runs small passes over a `_Scan` (the facts found in the
lines): `_scan` reads every line once through the `_LINE_PASSES` handlers, then
`_failure`, `_timings`, `_delegates` and `_parse_tables` each work on what was found. A new
section of output (an op-profile summary, a delegate summary) is one more handler or pass.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from contracts.output import bound

MAX_TEXT = 256 * 1024  # kept from each end of the output before parsing (as the farm stores it)
MAX_LINE = 4096  # characters of one line that are looked at
MAX_MESSAGE_LINE = 512  # characters of a line searched for an error message

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
    re.compile(r"^\d\d-\d\d \d\d:\d\d:\d\d\.\d+\s+\d+\s+\d+\s+[VDIWEF] [^:]*:\s?"),
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
_NUM_PREFIX = re.compile(_NUM)
_STAT_LINE = re.compile(r"^(?:count=\d+|curr=\S+ count=\d+)")
_RUNNING = re.compile(r"^Running benchmark for")
_MEM_DELTA = re.compile(
    rf"^(?:Memory footprint delta from the start of the tool|Peak memory footprint) \(MB\):\s*"
    rf"init=({_NUM})\s+overall=({_NUM})"
)
_MEM_PEAK = re.compile(rf"^Overall peak memory footprint \(MB\) via periodic monitoring:\s*({_NUM})")
_MODEL_SIZE = re.compile(rf"^The input model file size \(MB\):\s*({_NUM})")
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
            r"benchmark_model\S{0,100}: (?:not found|Permission denied|inaccessible|can't execute)"
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
            r"(?:\.tflite|model)\S{0,200}: No such file or directory|Permission denied"
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
            r"Failed to get or create delegate|delegate .{0,200}not initialized|"
            r"NNAPI delegate (?:failed|requested but not available)|"
            r"Could not create \w+ delegate|Fully accelerated:\s{1,20}False.{0,200}required"
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


def _number_prefix(text: str) -> float | None:
    """The number a value starts with ("12.5", "3e4us", "nan"), or None. Anchored: linear."""
    m = _NUM_PREFIX.match(text)
    return float(m[0]) if m else None


def _key_values(line: str) -> dict[str, float]:
    """``count=50 first=1 avg=2.5 (all same)`` → numbers by key, by splitting (no findall)."""
    pairs: dict[str, float] = {}
    for token in line.split():
        key, sep, value = token.partition("=")
        if sep and key.isidentifier() and (v := _number_prefix(value)) is not None:
            pairs.setdefault(key, v)
    return pairs


def _colon_pairs(body: str) -> dict[str, float]:
    """``Init: 1, First inference: 2, Warmup (avg): 3`` → numbers by lower-case name."""
    pairs: dict[str, float] = {}
    for part in body.split(","):
        name, sep, value = part.partition(":")
        name = name.strip()
        if not sep or not name or not name[0].isalpha():
            continue
        if not all(c.isalpha() or c in " ()" for c in name):
            continue
        if (v := _number_prefix(value.strip())) is not None:
            pairs[name.lower()] = v
    return pairs


def _bracket_param(line: str) -> tuple[str, str] | None:
    """``Num threads: [4]`` → ("Num threads", "4"): the tool's echo of its parameters."""
    key, sep, rest = line.partition(":")
    key, rest = key.strip(), rest.strip()
    if not sep or not key or not (key[0].isalpha() or key[0] == "#") or "[" in key or "]" in key:
        return None
    if not (rest.startswith("[") and rest.endswith("]")) or "]" in rest[1:-1]:
        return None
    return key, rest[1:-1].strip()


def _litert_kv(line: str) -> tuple[str, str] | None:
    """``Inference (avg):   1.23 ms (50 runs)`` → ("Inference (avg)", "1.23 ms (50 runs)")."""
    key, sep, rest = line.partition(":")
    if not sep or not key or not key[0].isupper() or not rest[:1].isspace() or not rest.strip():
        return None
    if not all(c.isalnum() or c in " ()" for c in key):
        return None
    return key.strip(), rest.strip()


def _stats(line: str) -> RunStats:
    pairs = _key_values(line)
    known = {"count", "first", "curr", "min", "max", "avg", "std", "p5", "median", "p95"}
    all_same = "(all same)" in line or (
        "curr" in pairs and "avg" not in pairs and "min" not in pairs and pairs.get("count", 0) >= 1
    )
    curr = pairs.get("curr")
    count = pairs.get("count", 0)
    return RunStats(
        count=int(count) if math.isfinite(count) and 0 <= count < 1 << 62 else 0,
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
        extra={k: v for k, v in list(pairs.items())[:32] if k not in known},
    )


def _delegate_key(name: str) -> str:
    n = name.strip().lower()
    return _DELEGATE_NAMES.get(n.replace(" ", ""), n.split()[0] if n else n)


def _truthy(v: str | None) -> bool:
    return v is not None and v.strip().lower() in ("1", "true", "yes")


# ---- op profiling tables ----------------------------------------------------------------


def _table_rows(header: str, lines: list[str]) -> list[dict[str, str]]:
    """Rows of a profiling table: a node type (may hold spaces), k numbers, maybe a name.

    Split on whitespace and look for the first run of k numeric tokens: O(tokens x k), where
    a regex with k optional groups backtracked polynomially on a line that did not fit.
    """
    cols = [c.strip().lower() for c in re.findall(r"\[([^\]]+)\]", header)]
    if not cols or cols[0] != "node type":
        return []
    has_name = cols[-1] == "name"
    numeric = cols[1 : len(cols) - (1 if has_name else 0)]
    k = len(numeric)
    rows = []
    for line in lines:
        tokens = line.split()
        values = [t[:-1] if t.endswith("%") else t for t in tokens]
        ok = [_NUM_PREFIX.fullmatch(v) is not None for v in values]
        start = next(
            (i for i in range(1, len(tokens) - k + 1) if all(ok[i : i + k])),
            None,
        )
        if start is None or (not has_name and start + k != len(tokens)):
            continue
        row = {"node type": " ".join(tokens[:start])}
        row.update({col: values[start + i] for i, col in enumerate(numeric)})
        if has_name:
            row["name"] = " ".join(tokens[start + k :])
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


# ---- main entry: passes over a _Scan -------------------------------------------------------


@dataclass
class _Scan:
    """What one pass over the cleaned lines found; later passes read and complete it."""

    lines: list[str]  # cleaned, capped, in order (the tables pass needs their layout)
    stripped: list[str]
    blocks: list[RunStats] = field(default_factory=list)
    summary: dict[str, float] = field(default_factory=dict)
    fmt: str | None = None
    litert: dict[str, str] = field(default_factory=dict)
    in_litert: bool = False
    params: dict[str, str] = field(default_factory=dict)
    mem_init: float | None = None
    mem_overall: float | None = None
    peak: float | None = None
    model_size: float | None = None
    version: str | None = None
    created: list[str] = field(default_factory=list)
    applied: str | None = None
    coverage: str | None = None
    kernels: int | None = None
    fallback: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def has_timings(self) -> bool:
        return bool(self.summary or self.litert)


@dataclass
class _Timings:
    avg: float
    init: float | None = None
    first: float | None = None
    warm_avg: float | None = None
    count: int | None = None
    mn: float | None = None
    mx: float | None = None
    std: float | None = None
    med: float | None = None
    p5: float | None = None
    p95: float | None = None
    warmup: RunStats | None = None
    measured: RunStats | None = None


def _prepare(text: str) -> list[str]:
    """Head and tail of the text, each line capped, prefixes removed."""
    kept, _ = bound(text or "", MAX_TEXT)
    return [_clean(raw[:MAX_LINE]) for raw in (kept or "").splitlines()]


# each line handler returns True when the line is consumed (no later handler looks at it)


def _on_stat_line(sc: _Scan, ln: str) -> bool:
    if _STAT_LINE.match(ln):
        sc.blocks.append(_stats(ln))
        return True
    return False


def _on_summary(sc: _Scan, ln: str) -> bool:
    if ln.startswith("Inference timings in us:"):
        sc.summary, sc.fmt = _colon_pairs(ln.partition(":")[2]), "tflite2"
        return True
    if ln.startswith("Average inference timings in us:"):
        body = ln.partition(":")[2]
        pairs = _colon_pairs(body)
        lead = body.partition(",")[0].strip() if "," in body else ""
        if lead and _NUM_PREFIX.fullmatch(lead):  # very early builds: "<avg> , Warmup: <w>,"
            pairs.setdefault("inference", float(lead))
        sc.summary, sc.fmt = pairs, "tf1"
        return True
    return False


def _on_litert_block(sc: _Scan, ln: str) -> bool:
    if "BENCHMARK RESULTS" in ln:
        sc.in_litert, sc.fmt, sc.litert = True, "litert", {}
        return True
    if sc.in_litert and sc.litert and ln.strip("=") == "":
        sc.in_litert = False
        return True
    if sc.in_litert and (kv := _litert_kv(ln)):
        sc.litert[kv[0].lower()] = kv[1]
        return True
    return False


def _on_memory(sc: _Scan, ln: str) -> bool:
    if m := _MEM_DELTA.match(ln):
        sc.mem_init, sc.mem_overall = _num(m[1]), _num(m[2])
    elif m := _MEM_PEAK.match(ln):
        sc.peak = _num(m[1])
    elif m := _MODEL_SIZE.match(ln):
        sc.model_size = _num(m[1])
    else:
        return False
    return True


def _on_params(sc: _Scan, ln: str) -> bool:
    if sc.version is None and (m := _VERSION.search(ln)):
        sc.version = m["v"]
    if kv := _bracket_param(ln):
        if len(sc.params) < 256:
            sc.params[kv[0]] = kv[1]
        return True
    if not sc.in_litert and (kv := _litert_kv(ln)) and kv[0] in ("Num threads", "Accelerators", "Model"):
        sc.params[kv[0]] = kv[1]  # LiteRT's Python tool echoes its settings this way
    return False


def _on_delegate(sc: _Scan, ln: str) -> bool:
    if m := _CREATED.match(ln):
        sc.created.append("xnnpack" if m["x"] else _delegate_key(m["d"]))
    elif m := _APPLIED.match(ln):
        sc.applied = _delegate_key(m["d"])
        how = m["how"]
        sc.coverage = {"completely": "full", "partially": "partial"}.get(how or "", sc.coverage or "full")
        if m["n"]:
            sc.kernels = int(m["n"])
    elif m := _NOT_EXECUTED.match(ln):
        sc.applied, sc.coverage, sc.fallback = _delegate_key(m["d"]), "none", True
    elif m := _REPLACING.match(ln):
        # "for the whole graph" only says partitions were counted graph-wide; coverage comes
        # from "N out of M" (newer builds) or from the "Explicitly applied" line
        d = _DELEGATE_NAMES.get(m["name"].lower(), m["name"])
        if sc.applied is None or sc.applied == d:
            sc.applied, sc.kernels = d, int(m["p"])
            if m["m"] is not None:
                sc.coverage = "full" if int(m["m"]) == int(m["n"]) else "partial"
                sc.fallback = sc.fallback or sc.coverage == "partial"
    elif m := _GPU_SPLIT.match(ln):
        if int(m["c"]) > 0:
            sc.coverage, sc.fallback = "partial", True
    elif _NO_GPU_NODE.search(ln):
        sc.coverage, sc.fallback = "none", True
    if (ln.startswith("Unconsumed cmdline flags:") or _DELEGATE_NOT_CREATED.search(ln)) and len(
        sc.warnings
    ) < 64:
        sc.warnings.append(ln)
    return False


_LINE_PASSES: tuple[Callable[[_Scan, str], bool], ...] = (
    _on_stat_line,
    _on_summary,
    _on_litert_block,
    _on_memory,
    _on_params,
    _on_delegate,
)


def _scan(lines: list[str]) -> _Scan:
    sc = _Scan(lines=lines, stripped=[ln.strip() for ln in lines])
    for ln in sc.stripped:
        if ln:
            any(handler(sc, ln) for handler in _LINE_PASSES)
    return sc


def _timings(sc: _Scan) -> _Timings | None:
    """The headline numbers, from the summary line or LiteRT's block, completed by the stat lines."""
    warmup = sc.blocks[0] if len(sc.blocks) >= 2 else None
    measured = sc.blocks[-1] if sc.blocks else None
    if sc.fmt == "litert":
        res = _litert_values(sc.litert)
        if res is None:
            return None
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
        return _Timings(avg, init, first, warm_avg, count, mn, mx, std, med, p5, p95, warmup, measured)
    summary = sc.summary
    avg_v = summary.get("inference (avg)", summary.get("inference", summary.get("no stats")))
    if avg_v is None:
        return None
    first = summary.get("first inference")
    if first is None and warmup is not None:
        first = warmup.first_us
    if len(sc.blocks) > 2:  # TF's own tool: warm-up, no-stats and with-stats blocks; take the closest
        measured = min(sc.blocks[1:], key=lambda b: abs((b.avg_us or math.inf) - avg_v))
    return _Timings(
        avg=avg_v,
        init=summary.get("init"),
        first=first,
        warm_avg=summary.get("warmup (avg)", summary.get("warmup")),
        count=measured.count if measured else None,
        mn=measured.min_us if measured else None,
        mx=measured.max_us if measured else None,
        std=measured.std_us if measured else None,
        med=measured.median_us if measured else None,
        p5=measured.p5_us if measured else None,
        p95=measured.p95_us if measured else None,
        warmup=warmup,
        measured=measured,
    )


def _litert_facts(sc: _Scan, requested: str | None) -> str | None:
    """LiteRT's block also says whether the graph was fully accelerated and the memory used."""
    fa = sc.litert.get("fully accelerated")
    if fa is not None:
        sc.coverage = "full" if _truthy(fa) else "partial"
        sc.fallback = sc.fallback or not _truthy(fa)
    sc.mem_init = _mb(sc.litert.get("init footprint")) if sc.mem_init is None else sc.mem_init
    sc.mem_overall = _mb(sc.litert.get("overall footprint")) if sc.mem_overall is None else sc.mem_overall
    sc.peak = _mb(sc.litert.get("peak memory")) if sc.peak is None else sc.peak
    if requested is None and sc.params.get("Accelerators"):
        requested = sc.params["Accelerators"].split(",")[0].strip().lower()
    return requested


def _delegates(sc: _Scan, requested: str | None) -> None:
    """Which delegate ran the graph, when the log did not say it outright."""
    accelerators = ("gpu", "nnapi", "hexagon", "npu")
    if sc.applied is None:
        others = [d for d in sc.created if d != "xnnpack"]
        if requested in accelerators:
            if requested in sc.created:
                sc.applied = requested
            elif sc.created:  # asked for one delegate, another one got created
                sc.applied, sc.fallback = sc.created[-1], True
            # nothing logged about delegates at all: unknown rather than guessed
        elif others:
            sc.applied = others[-1]
        elif "xnnpack" in sc.created:
            sc.applied = "xnnpack"
        elif requested == "cpu" or sc.fmt != "tf1":
            sc.applied = "cpu"
    if sc.coverage == "none":
        sc.applied = "xnnpack" if "xnnpack" in sc.created else "cpu"


def parse(text: str) -> BenchmarkResult | BenchmarkFailure:
    """Parse one run's combined stdout/stderr. Never raises on odd input; linear in its size."""
    sc = _scan(_prepare(text))
    failure = _failure(sc.stripped, sc.has_timings)
    if failure is not None:
        return failure
    if sc.fmt is None or not sc.has_timings:
        return _no_timings(sc.stripped, sc.blocks)
    t = _timings(sc)
    if t is None:
        return _no_timings(sc.stripped, sc.blocks)
    params = sc.params
    threads = _int(
        params.get("#threads used for CPU inference")
        or params.get("Num threads")
        or params.get("num_threads")
    )
    requested = _requested(params)
    if sc.fmt == "litert":
        requested = _litert_facts(sc, requested)
    if not math.isfinite(t.avg) or t.avg <= 0 or t.count == 0:
        return BenchmarkFailure(
            "the benchmark timed no inference (avg is not a positive number): "
            "was it a dry run, or num_runs=0 with min_secs<=0?",
            "no_timings",
        )
    _delegates(sc, requested)
    op_types, op_nodes = _parse_tables(sc.lines)
    return BenchmarkResult(
        format=sc.fmt,
        avg_us=t.avg,
        init_us=_finite(t.init),
        first_inference_us=_finite(t.first),
        warmup_avg_us=_finite(t.warm_avg),
        min_us=_finite(t.mn),
        max_us=_finite(t.mx),
        std_us=_finite(t.std),
        count=t.count,
        median_us=_finite(t.med),
        p5_us=_finite(t.p5),
        p95_us=_finite(t.p95),
        warmup=t.warmup,
        inference=t.measured,
        memory_init_mb=sc.mem_init,
        memory_overall_mb=sc.mem_overall,
        peak_memory_mb=sc.peak,
        delegate_requested=requested,
        delegate_applied=sc.applied,
        delegate_coverage=sc.coverage,
        delegate_kernels=sc.kernels,
        cpu_fallback=sc.fallback,
        delegates_created=sc.created,
        threads=threads,
        tool_version=sc.version,
        model_path=params.get("Graph") or params.get("Model"),
        model_size_mb=sc.model_size,
        params=params,
        op_profile=op_types,
        op_nodes=op_nodes,
        warnings=sc.warnings,
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
    lines = [ln[:MAX_MESSAGE_LINE] for ln in lines]  # messages are short; 11 searches per line
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


_NOTE = re.compile(r"(?i)\berror\b|failed|fatal")


def _no_timings(lines: list[str], blocks: list[RunStats]) -> BenchmarkFailure:
    errs = [ln for ln in lines if _NOTE.search(ln[:MAX_MESSAGE_LINE])]
    tail = errs[-1] if errs else next((ln for ln in reversed(lines) if ln), "")
    what = f"{len(blocks)} run block(s) but no timing summary" if blocks else "no timing summary"
    msg = f"benchmark_model printed {what}"
    if tail:
        msg += f"; last line of note: {tail[:200]}"
    return BenchmarkFailure(msg, "no_timings")
