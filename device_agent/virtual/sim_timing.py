"""`sim` timing: a virtual phone's latency from a cost model instead of the host's clock.

Why: in `host` mode a virtual phone's timings are the host's, so eight phones on two cores
time each other's load and heat never slows anything. In `sim` mode the model is still
loaded and validated by LiteRT (so a broken model fails exactly as before), but the time of
one inference is computed, per op, from

    max(MACs / unit throughput, bytes moved / unit bandwidth) + the unit's fixed per-op cost

where the unit is the delegate that takes the op (profile `[sim]` tables); ops a delegate
does not take run on the CPU, and every crossing between delegate and CPU pays a transfer
(boundary tensor bytes / transfer bandwidth + a fixed cost). The CPU part slows with the
thermal governor's frequency cap (thermal.py); noise is drawn from a per-phone seeded
stream (profile id + serial): small log-normal jitter per inference, a small offset per
invocation, rare background-load spikes. Nothing depends on host load, so hundreds of sim
phones fit on one host; the tool still paces itself to the simulated time so a run takes
as long on the wall clock as it would on the phone.
"""

from __future__ import annotations

import hashlib
import math
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from device_agent.virtual.profile import Cluster, Profile, Sim, Unit
from device_agent.virtual.thermal import Governor

if TYPE_CHECKING:
    from device_agent.virtual.device import VirtualDevice

MAC_OPS = ("CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV", "BATCH_MATMUL")


@dataclass(frozen=True)
class OpCost:
    """One op's work: multiply-accumulates (element ops for the rest) and bytes it moves."""

    index: int
    name: str
    macs: float
    bytes: float  # inputs (weights included) + outputs
    out_bytes: float  # what crosses a delegate boundary after this op
    output: str


def _nbytes(t: dict[str, Any]) -> float:
    shape = [int(d) if d > 0 else 1 for d in t["shape"]]
    return (
        float(np.prod(shape)) * np.dtype(t["dtype"]).itemsize
        if shape
        else float(np.dtype(t["dtype"]).itemsize)
    )


def op_costs(interp: Any) -> list[OpCost]:
    """Per-op MACs and bytes from a LiteRT interpreter's op and tensor details."""
    tensors = {t["index"]: t for t in interp.get_tensor_details()}
    out = []
    for op in interp._get_ops_details():
        outs = [tensors[i] for i in op["outputs"] if i in tensors]
        ins = [tensors[i] for i in op["inputs"] if i >= 0 and i in tensors]
        out_elems = sum(int(np.prod(t["shape"])) for t in outs) or 1
        macs = float(out_elems)
        name = str(op["op_name"])
        if name in MAC_OPS and len(ins) > 1:
            w = ins[1]["shape"]
            macs = float(out_elems) * max(1, int(np.prod(w[1:])) if len(w) > 1 else 1)
        elif name == "DEPTHWISE_CONV_2D" and len(ins) > 1:
            w = ins[1]["shape"]
            macs = float(out_elems) * max(1, int(np.prod(w[1:3])) if len(w) >= 3 else 1)
        out_b = sum(_nbytes(t) for t in outs)
        label = outs[0]["name"] if outs else f"op{op['index']}"
        out.append(OpCost(int(op["index"]), name, macs, sum(_nbytes(t) for t in ins) + out_b, out_b, label))
    return out


def thread_factor(clusters: tuple[Cluster, ...], threads: int) -> float:
    """Compute throughput with `threads` threads relative to all fast cores (what [sim] gives).

    Fast cores are those within 80 % of the top clock; threads beyond them land on slower
    cores at 40 % of a fast core. threads <= 0 is the tool's default: one thread."""
    top = max(c.max_freq_khz for c in clusters)
    fast = sum(c.cores for c in clusters if c.max_freq_khz >= 0.8 * top)
    slow = sum(c.cores for c in clusters) - fast
    t = threads if threads > 0 else 1
    eff = min(t, fast) + 0.4 * min(max(t - fast, 0), slow)
    return eff / fast


@dataclass(frozen=True)
class Plan:
    """An inference split by where its time goes, at full clock and without noise."""

    cpu_us: float  # ops on CPU kernels (reference or XNNPACK): slows with the CPU cap
    accel_us: float  # ops on the GPU / NPU: slows half as much
    fixed_us: float  # transfers, partition crossings, invoke overhead
    on_delegate: int
    partitions: int

    def inference_us(self, cpu_scale: float = 1.0) -> float:
        accel_scale = 1.0 - (1.0 - cpu_scale) * 0.5
        return self.cpu_us / cpu_scale + self.accel_us / accel_scale + self.fixed_us


def _op_us(op: OpCost, unit: Unit, compute_scale: float) -> float:
    return max(op.macs / (unit.gmacs * compute_scale * 1e3), op.bytes / (unit.gbps * 1e3)) + unit.op_us


def plan(
    profile: Profile,
    ops: list[OpCost],
    *,
    cpu_kind: str,
    delegate: str | None,
    delegate_ops: frozenset[str] | None,
    xnnpack_ops: frozenset[str],
    threads: int,
) -> Plan:
    """Where each op runs and what it costs; `delegate_ops` None means the delegate took nothing."""
    sim = profile.sim or Sim({})
    units = sim.units
    tf = thread_factor(profile.clusters, threads)
    cpu_us = accel_us = fixed = 0.0
    on = partitions = 0
    prev_on = False
    for op in ops:
        if delegate in ("gpu", "nnapi") and delegate_ops is not None and op.name in delegate_ops:
            accel_us += _op_us(op, units[delegate], 1.0)
            on += 1
            if not prev_on:
                partitions += 1
            prev_on = True
            continue
        if prev_on:  # back from the delegate: the boundary tensor comes back to the CPU
            fixed += op.bytes / (sim.transfer_gbps * 1e3) + sim.partition_us
        prev_on = False
        xnn = cpu_kind == "xnnpack" and op.name in xnnpack_ops
        cpu_us += _op_us(op, units["xnnpack" if xnn else "cpu"], tf)
    if partitions:
        # into each partition: the tensors entering it cross too (first input ~ last CPU output)
        fixed += partitions * sim.partition_us
    return Plan(cpu_us, accel_us, fixed + sim.invoke_us, on, partitions)


class Noise:
    """A phone's seeded noise stream: jitter per inference, offset per invocation, rare spikes."""

    def __init__(self, sim: Sim, seed: str) -> None:
        self.sim = sim
        digest = hashlib.sha256(seed.encode()).digest()
        self.rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))

    def invocation(self) -> float:
        return math.exp(self.rng.normal(0.0, self.sim.trial_pct / 100))

    def inference(self) -> float:
        factor = math.exp(self.rng.normal(0.0, self.sim.jitter_pct / 100))
        if self.rng.random() < self.sim.spike_prob:
            factor *= 1.0 + self.rng.exponential(self.sim.spike_pct / 100)
        return factor


_noise: weakref.WeakKeyDictionary[VirtualDevice, Noise] = weakref.WeakKeyDictionary()


def noise_for(device: VirtualDevice) -> Noise:
    """The phone's own stream, created on first use: same profile and serial, same draws."""
    n = _noise.get(device)
    if n is None:
        n = _noise[device] = Noise(device.profile.sim or Sim({}), f"{device.profile.id}/{device.serial}")
    return n


def governor_scale(device: VirtualDevice) -> float:
    """The big cores' frequency cap now, as a fraction of their maximum."""
    return Governor.for_profile(device.profile).scale(device.thermal.die_c())


def init_us(profile: Profile, model_bytes: int, delegate: str | None, n_ops: int) -> int:
    """Model load and delegate preparation: reading the file, and compiling kernels on a GPU."""
    sim = profile.sim or Sim({})
    us = 4000.0 + model_bytes / (sim.units["cpu"].gbps * 1e3) * 2
    if delegate == "gpu":
        us += 150_000 + 1500 * n_ops
    elif delegate == "nnapi":
        us += 60_000 + 400 * n_ops
    return round(us)
