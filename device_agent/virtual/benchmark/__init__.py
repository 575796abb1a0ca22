"""The virtual phone's `benchmark_model`: TensorFlow Lite's benchmark tool, run for real on the host.

Why: the farm pushes `benchmark_model` to a phone, runs it with TFLite's flags and parses
what it prints. A virtual phone cannot run ARM code: executing the ELF registered for its
ABI (see as_real.py), or the legacy stub file (`stub_binary()`, refused `as_real`), runs this
package, which loads the pushed .tflite with LiteRT on the host, feeds random inputs,
times real inferences and prints what the real tool prints, line for line, so the same
parser and the same failure handling are exercised.

Isolation: the model runs in the phone's interpreter process (interpreter.py,
interpreter_child.py), never in the process that serves the phones, under a memory budget
from the profile's RAM; past it the tool dies as lmkd kills it on a phone (program.py).

Output format: TensorFlow Lite 2.16 `benchmark_model` (tensorflow/lite/tools/benchmark/
benchmark_main.cc, benchmark_model.cc, benchmark_tflite_model.cc, command_line_flags.cc,
tools/logging.h with its `INFO: `/`WARN: `/`ERROR: ` prefixes, all on stderr as the real
tool's minimal logger writes them; the `count=… first=… curr=… min=… max=… avg=… std=…`
line is tensorflow's Stat::OutputToStream, doubles printed like C++ ostream's default
(%g), std as an integer). Where the runtime, not the tool, prints a line (delegate creation,
"Replacing N out of M node(s)…") the wording is the 2.16 runtime's.

Honesty: results from a virtual phone must never pass for a real phone's. The output
carries a `[phonefarm-virtual]` line naming the profile and the timing mode. In `host`
mode the timings are real host timings; in `profile` mode they are host timings multiplied
by the profile's per-delegate speed_factor. GPU and NNAPI "delegates" execute on the host
CPU (XNNPACK), which is said in the output; which nodes such a delegate would take is
derived from the model's op list. The per-op profile is an estimate (measured inference
time split by each op's arithmetic cost) because LiteRT's Python API has no op profiler,
and the output says so.

The modules: program.py (the shell's program, how a run ends), tool.py (BenchmarkRun, the
run's phases), interpreter.py / interpreter_child.py (the interpreter process, both sides),
delegates.py (delegate application lines), profile_tables.py (--enable_op_profiling),
stat.py (the count=... line), stub.py (the legacy stub file). Flags: benchmark_flags.py.
"""

from __future__ import annotations

from contracts.delegate_ops import GPU_OPS as GPU_OPS  # re-exported: tests use it here
from device_agent.virtual.benchmark import program as program  # registers the shell's programs
from device_agent.virtual.benchmark.program import run as run
from device_agent.virtual.benchmark.stat import Stat as Stat
from device_agent.virtual.benchmark.stub import STUB_MAGIC as STUB_MAGIC
from device_agent.virtual.benchmark.stub import stub_binary as stub_binary
from device_agent.virtual.benchmark.tool import SIGNAL_TEXT as SIGNAL_TEXT
from device_agent.virtual.benchmark.tool import BenchmarkRun as BenchmarkRun
from device_agent.virtual.benchmark.tool import Cancelled as Cancelled
from device_agent.virtual.benchmark_flags import TOOL_VERSION as TOOL_VERSION
from device_agent.virtual.benchmark_flags import usage as usage
from device_agent.virtual.cpp_format import g as g
