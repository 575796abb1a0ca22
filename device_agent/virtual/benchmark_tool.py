"""The virtual `benchmark_model`, by its old name: it is the package device_agent.virtual.benchmark.

Why kept: tests and tools import `device_agent.virtual.benchmark_tool`; the names they use are
re-exported here unchanged.
"""

from __future__ import annotations

from device_agent.virtual.benchmark import (
    GPU_OPS as GPU_OPS,
)
from device_agent.virtual.benchmark import (
    STUB_MAGIC as STUB_MAGIC,
)
from device_agent.virtual.benchmark import (
    TOOL_VERSION as TOOL_VERSION,
)
from device_agent.virtual.benchmark import (
    BenchmarkRun as BenchmarkRun,
)
from device_agent.virtual.benchmark import (
    Stat as Stat,
)
from device_agent.virtual.benchmark import (
    g as g,
)
from device_agent.virtual.benchmark import (
    run as run,
)
from device_agent.virtual.benchmark import (
    stub_binary as stub_binary,
)
from device_agent.virtual.benchmark import (
    usage as usage,
)
