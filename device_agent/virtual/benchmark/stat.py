"""tensorflow::Stat<int64_t>: the `count=… first=… curr=… min=… max=… avg=… std=…` line.

Why its own module: the tool's loops, its op profile and tests all print or check this one
line, whose format (C++ ostream doubles, std as an integer) the farm's parser relies on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from device_agent.virtual.cpp_format import g


@dataclass
class Stat:
    """tensorflow::Stat<int64_t>: what OutputToStream prints."""

    values: list[int] = field(default_factory=list)

    def add(self, v: int) -> None:
        self.values.append(int(v))

    @property
    def count(self) -> int:
        return len(self.values)

    def avg(self) -> float:
        return sum(self.values) / len(self.values) if self.values else math.nan

    def std(self) -> int:
        if not self.values or self.all_same():
            return 0
        n = len(self.values)
        sq = sum(float(v) * v for v in self.values) / n
        return int(math.sqrt(max(0.0, sq - self.avg() ** 2)))

    def all_same(self) -> bool:
        return bool(self.values) and min(self.values) == max(self.values)

    def first(self) -> int:
        return self.values[0] if self.values else 0

    def line(self) -> str:
        if not self.values:
            return "count=0"
        if self.all_same():
            return f"count={self.count} curr={self.values[-1]}" + ("(all same)" if self.count > 1 else "")
        return (
            f"count={self.count} first={self.values[0]} curr={self.values[-1]} min={min(self.values)} "
            f"max={max(self.values)} avg={g(self.avg())} std={self.std()}"
        )
