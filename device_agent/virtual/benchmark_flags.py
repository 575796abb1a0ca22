"""The virtual benchmark_model's command line: its flags as TFLite 2.16 declares, parses and logs them.

Why apart from benchmark_tool.py: the flag table (names, types, defaults, usage text, LogParams
labels) is data the tool, `--help` and the tests read; the tool's run loop is another thing.
"""

from __future__ import annotations

from typing import Any

from device_agent.virtual.cpp_format import g

TOOL_VERSION = "2.16.1"

# ---- flags (name, type, default, usage) as benchmark_model 2.16 declares them -------------------

FLAG_SPECS: list[tuple[str, str, Any, str]] = [
    ("num_runs", "int32", 50, "expected number of runs, see also min_secs, max_secs"),
    (
        "min_secs",
        "float",
        1.0,
        "minimum number of seconds to rerun for, potentially making the actual number of runs to be greater than num_runs",
    ),
    (
        "max_secs",
        "float",
        150.0,
        "maximum number of seconds to rerun for, potentially making the actual number of runs to be less than num_runs. Note if --max-secs is exceeded in the middle of a run, the benchmark will continue to the end of the run but will not start the next run.",
    ),
    ("run_delay", "float", -1.0, "delay between runs in seconds"),
    (
        "run_frequency",
        "float",
        -1.0,
        "Execute at a fixed frequency, instead of a fixed delay.Note if the targeted rate per second cannot be reached, the benchmark would start the next run immediately, trying its best to catch up. If set, this will override run_delay.",
    ),
    ("num_threads", "int32", -1, "number of threads"),
    (
        "use_caching",
        "bool",
        False,
        "Enable caching of prepacked weights matrices in matrix multiplication routines. Currently implies the use of the Ruy library.",
    ),
    ("benchmark_name", "string", "", "benchmark name"),
    ("output_prefix", "string", "", "benchmark output prefix"),
    (
        "warmup_runs",
        "int32",
        1,
        "minimum number of runs performed on initialization, to allow performance characteristics to settle, see also warmup_min_secs",
    ),
    (
        "warmup_min_secs",
        "float",
        0.5,
        "minimum number of seconds to rerun for, potentially making the actual number of warm-up runs to be greater than warmup_runs",
    ),
    (
        "verbose",
        "bool",
        False,
        "Whether to log parameters whose values are not set. By default, only log those parameters that are set by parsing their values from the commandline flags.",
    ),
    (
        "dry_run",
        "bool",
        False,
        "Whether to run the tool just with simply loading the model, allocating tensors etc. but without actually invoking any op kernels.",
    ),
    (
        "report_peak_memory_footprint",
        "bool",
        False,
        "Report the peak memory footprint by periodically checking the memory footprint. Internally, a separate thread will be spawned for this periodic check. Therefore, the performance benchmark result could be affected.",
    ),
    (
        "memory_footprint_check_interval_ms",
        "int32",
        50,
        "The interval in millisecond between two consecutive memory footprint checks. This is only used when --report_peak_memory_footprint is set to true.",
    ),
    (
        "gpu_invoke_loop_times",
        "int32",
        1,
        "Number of GPU delegate invoke loop iterations. If > 0 then reported latency is divided by this number. Used only when TFLITE_GPU_ENABLE_INVOKE_LOOP is defined.",
    ),
    ("graph", "string", "", "graph file name"),
    ("input_layer", "string", "", "input layer names"),
    ("input_layer_shape", "string", "", "input layer shape"),
    (
        "input_layer_value_range",
        "string",
        "",
        "A map-like string representing value range for *integer* input layers. Each item is separated by ':', and the item value consists of input layer name and integer-only range values (both low and high are inclusive) separated by ',', e.g. input1,1,2:input2,0,254",
    ),
    (
        "input_layer_value_files",
        "string",
        "",
        "A map-like string representing value file. Each item is separated by ',', and the item value consists of input layer name and value file path separated by ':', e.g. input1:file_path1,input2:file_path2. If the input_name appears both in input_layer_value_range and input_layer_value_files, input_layer_value_range of the input_name will be ignored. The file format is binary and it should be array format or null separated strings format.",
    ),
    ("output_filepath", "string", "", "File path to export outputs layer as binary data."),
    ("allow_fp16", "bool", False, "allow fp16"),
    ("require_full_delegation", "bool", False, "require delegate to run the entire graph"),
    ("enable_op_profiling", "bool", False, "enable op profiling"),
    (
        "op_profiling_output_mode",
        "string",
        "stdout",
        "Output mode for op profiling results. Supported values are: 'stdout', 'csv' and 'proto'.",
    ),
    ("op_profiling_output_file", "string", "", "Output file for op profiling results."),
    ("max_profiling_buffer_entries", "int32", 1024, "max initial profiling buffer entries"),
    (
        "allow_dynamic_profiling_buffer_increase",
        "bool",
        False,
        "allow dynamic increase on profiling buffer entries",
    ),
    (
        "profiling_output_csv_file",
        "string",
        "",
        "File path to export profile data as CSV, if not set prints to stdout.",
    ),
    (
        "print_preinvoke_state",
        "bool",
        False,
        "print out the interpreter internals just before calling Invoke. The internals will include allocated memory size of each tensor etc.",
    ),
    (
        "print_postinvoke_state",
        "bool",
        False,
        "print out the interpreter internals just before benchmark completes (i.e. after all repeated Invoke calls complete). The internals will include allocated memory size of each tensor etc.",
    ),
    (
        "release_dynamic_tensors",
        "bool",
        False,
        "Ensure dynamic tensor's memory is released when they are not used.",
    ),
    (
        "optimize_memory_for_large_tensors",
        "int32",
        0,
        "Optimize memory usage for large tensors with sacrificing latency.",
    ),
    ("disable_delegate_clustering", "bool", False, "Disable delegate clustering."),
    ("help", "bool", False, "Print out all supported flags if true."),
    ("num_threads", "int32", -1, "number of threads used for inference on CPU."),
    ("max_delegated_partitions", "int32", 0, "Max number of partitions to be delegated."),
    (
        "min_nodes_per_partition",
        "int32",
        0,
        "The minimal number of TFLite graph nodes of a partition that has to be reached for it to be delegated.A negative value or 0 means to use the default choice of each delegate.",
    ),
    (
        "delegate_serialize_dir",
        "string",
        "",
        "Directory to be used by delegates for serializing any model data. This allows the delegate to save data into this directory to reduce init time after the first run. Currently supported by GPU (OpenCL) and NNAPI delegate with specific backends on Android. Note that delegate_serialize_token is also required to enable this feature.",
    ),
    (
        "delegate_serialize_token",
        "string",
        "",
        "Model-specific token acting as a namespace for delegate serialization. Unique tokens ensure that the delegate doesn't read inapplicable/invalid data. Note that delegate_serialize_dir is also required to enable this feature.",
    ),
    ("use_gpu", "bool", False, "use gpu"),
    (
        "gpu_precision_loss_allowed",
        "bool",
        True,
        "Allow to process computation in lower precision than FP32 in GPU. By default, it's enabled.",
    ),
    (
        "gpu_experimental_enable_quant",
        "bool",
        True,
        "Whether to enable the GPU delegate to run quantized models or not. By default, it's enabled.",
    ),
    (
        "gpu_inference_for_sustained_speed",
        "bool",
        False,
        "Whether to prefer maximizing the throughput. This mode will help when the same delegate will be used repeatedly on multiple inputs. This is supported on non-iOS platforms. By default, it's disabled.",
    ),
    (
        "gpu_backend",
        "string",
        "",
        "Force the GPU delegate to use a particular backend for execution, and fail if unsuccessful. Should be one of: cl, gl",
    ),
    ("use_nnapi", "bool", False, "use nnapi delegate api"),
    (
        "nnapi_execution_preference",
        "string",
        "",
        "execution preference for nnapi delegate. Should be one of the following: fast_single_answer, sustained_speed, low_power, undefined",
    ),
    (
        "nnapi_execution_priority",
        "string",
        "",
        "The model execution priority in nnapi, and it should be one of the following: default, low, medium and high. This requires Android 11+.",
    ),
    (
        "nnapi_accelerator_name",
        "string",
        "",
        "the name of the nnapi accelerator to use (requires Android Q+)",
    ),
    ("disable_nnapi_cpu", "bool", True, "Disable the NNAPI CPU device"),
    ("nnapi_allow_fp16", "bool", False, "Allow fp32 computation to be run in fp16"),
    (
        "use_xnnpack",
        "bool",
        False,
        "explicitly apply the XNNPACK delegate. Note the XNNPACK delegate could be implicitly applied by the TF Lite runtime regardless the value of this parameter. To disable this implicit application, set the value to false explicitly.",
    ),
    ("xnnpack_force_fp16", "bool", False, "enforce float16 inference."),
    ("use_hexagon", "bool", False, "Use Hexagon delegate"),
    ("use_external_delegate", "bool", False, "use external delegate"),
]
FLAG_TYPES: dict[str, str] = {}
FLAG_DEFAULTS: dict[str, Any] = {}
for _name, _kind, _default, _ in FLAG_SPECS:
    FLAG_TYPES.setdefault(_name, _kind)
    FLAG_DEFAULTS.setdefault(_name, _default)

# LogParams labels, in the order the 2.16 tool logs them (BenchmarkModel, BenchmarkTfLiteModel,
# then the delegate providers: default, gpu, nnapi, hexagon, xnnpack, external).
PARAM_LABELS: list[tuple[str, str]] = [
    ("num_runs", "Min num runs"),
    ("min_secs", "Min runs duration (seconds)"),
    ("max_secs", "Max runs duration (seconds)"),
    ("run_delay", "Inter-run delay (seconds)"),
    ("run_frequency", "Number of prorated runs per second"),
    ("num_threads", "Num threads"),
    ("use_caching", "Use caching"),
    ("benchmark_name", "Benchmark name"),
    ("output_prefix", "Output prefix"),
    ("warmup_runs", "Min warmup runs"),
    ("warmup_min_secs", "Min warmup runs duration (seconds)"),
    ("dry_run", "Run w/o invoking kernels"),
    ("report_peak_memory_footprint", "Report the peak memory footprint"),
    ("memory_footprint_check_interval_ms", "Memory footprint check interval (ms)"),
    ("graph", "Graph"),
    ("input_layer", "Input layers"),
    ("input_layer_shape", "Input shapes"),
    ("input_layer_value_range", "Input value ranges"),
    ("input_layer_value_files", "Input value files"),
    ("output_filepath", "File path to export outputs layer to"),
    ("allow_fp16", "Allow fp16"),
    ("require_full_delegation", "Require full delegation"),
    ("enable_op_profiling", "Enable op profiling"),
    ("op_profiling_output_mode", "Op profiling output mode"),
    ("op_profiling_output_file", "Op profiling output file"),
    ("max_profiling_buffer_entries", "Max initial profiling buffer entries"),
    ("allow_dynamic_profiling_buffer_increase", "Allow dynamic increase on profiling buffer entries"),
    ("profiling_output_csv_file", "CSV File to export profiling data to"),
    ("print_preinvoke_state", "Print pre-invoke interpreter state"),
    ("print_postinvoke_state", "Print post-invoke interpreter state"),
    ("release_dynamic_tensors", "Release dynamic tensor memory"),
    ("optimize_memory_for_large_tensors", "Optimize memory usage for large tensors"),
    ("disable_delegate_clustering", "Disable delegate clustering"),
    ("num_threads", "#threads used for CPU inference"),
    ("max_delegated_partitions", "Max number of delegated partitions"),
    ("min_nodes_per_partition", "Min nodes per partition"),
    ("delegate_serialize_dir", "Directory for delegate serialization"),
    ("delegate_serialize_token", "Model-specific token/key for delegate serialization."),
    ("use_gpu", "Use gpu"),
    ("gpu_precision_loss_allowed", "Allow lower precision in gpu"),
    ("gpu_experimental_enable_quant", "Enable running quant models in gpu"),
    ("gpu_inference_for_sustained_speed", "Prefer maximizing the throughput in gpu"),
    ("gpu_backend", "GPU backend"),
    ("use_nnapi", "Use NNAPI"),
    ("nnapi_execution_preference", "NNAPI execution preference"),
    ("nnapi_execution_priority", "Model execution priority in nnapi"),
    ("nnapi_accelerator_name", "NNAPI accelerator name"),
    ("disable_nnapi_cpu", "Disable NNAPI cpu"),
    ("nnapi_allow_fp16", "Allow fp16 in NNAPI"),
    ("use_hexagon", "Use Hexagon"),
    ("use_xnnpack", "Use xnnpack"),
    ("xnnpack_force_fp16", "xnnpack force fp16"),
    ("use_external_delegate", "Use external delegate"),
]
ALWAYS_LOGGED = {"graph"}


def parse_flags(args: list[str]) -> tuple[dict[str, Any], set[str], list[str], list[str]]:
    """(values, flags set on the command line, errors, unconsumed args) as Flags::Parse does."""
    values = dict(FLAG_DEFAULTS)
    given: set[str] = set()
    errors: list[str] = []
    unconsumed: list[str] = []
    for arg in args:
        if not arg.startswith("--") or "=" not in arg:
            unconsumed.append(arg)
            continue
        name, _, raw = arg[2:].partition("=")
        kind = FLAG_TYPES.get(name)
        if kind is None:
            unconsumed.append(arg)
            continue
        try:
            values[name] = _parse_value(kind, raw)
            given.add(name)
        except ValueError:
            errors.append(f"Failed to parse flag '{name}' against argv '{arg}'")
    return values, given, errors, unconsumed


def _parse_value(kind: str, raw: str) -> Any:
    if kind == "bool":
        if raw not in ("true", "false", "0", "1"):
            raise ValueError(raw)
        return raw in ("true", "1")
    if kind == "int32":
        # istringstream >> int32 reads a leading integer; trailing junk is an error unless EOF
        text = raw.strip()
        if not text or not (text.lstrip("+-").isdigit()):
            raise ValueError(raw)
        return int(text)
    if kind == "float":
        return float(raw)
    return raw


def usage(argv0: str, version: str = TOOL_VERSION) -> str:
    from device_agent.virtual.tool_versions import knows

    rows = [(f"--{n}={display(k, d)}", k, u) for n, k, d, u in FLAG_SPECS if knows(version, n)]
    width = max(len(r[0]) for r in rows)
    lines = [f"usage: {argv0} <flags>", "Flags:"]
    lines += [f"\t{name:<{width}}\t{kind}\toptional\t{text}" for name, kind, text in rows]
    return "\n".join(lines)


def display(kind: str, value: Any) -> str:
    if kind == "bool":
        return "true" if value else "false"
    if kind == "float":
        return g(float(value))
    return str(value)


def param_text(kind: str, value: Any) -> str:
    if kind == "bool":
        return "1" if value else "0"
    if kind == "float":
        return g(float(value))
    return str(value)
