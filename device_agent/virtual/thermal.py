"""Heat that matters: the governor's frequency cap and the battery's drain, from a phone's load.

Why: a real phone under sustained load heats up; past a trip point the thermal governor
lowers the big cores' frequency and every inference gets slower; at rest it cools back
towards ambient. Without that, the farm's protocol (cool-downs, thermal gate) has nothing
to guard against on a virtual phone. `ThermalModel` (device.py) keeps the temperatures;
this module turns busy time into heat (`busy_heat_c`), a temperature into a frequency
scale (`Governor`), and busy time into battery percent (`BatteryModel`). All of it is
plain arithmetic on the phone's clock, so tests inject time instead of sleeping.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from device_agent.virtual.profile import Profile


def busy_heat_c(profile: Profile, busy_s: float, tau_s: float | None = None) -> float:
    """Die temperature impulse for `busy_s` seconds of full load.

    Sized so that continuous load settles at `full_load_rise_c` above ambient (the die's
    first-order lag has time constant tau: rise rate = impulse per second / tau)."""
    th = profile.thermal
    return th.full_load_rise_c * busy_s / (tau_s or th.tau_heat_s)


@dataclass(frozen=True)
class Governor:
    """Step-wise thermal governor: above `trip_c` the big cores' cap falls linearly to a floor.

    At `trip_c` the cap is the maximum frequency; `ramp_c` degrees above it the cap reaches
    `floor` (a fraction of the maximum). Compute-bound latency scales with 1/cap.
    """

    trip_c: float
    ramp_c: float
    floor: float

    @classmethod
    def for_profile(cls, profile: Profile) -> Governor:
        th = profile.thermal
        top = th.ambient_c + th.max_rise_c
        return cls(th.trip_c, max(1.0, top - th.trip_c), th.throttle_floor)

    def scale(self, die_c: float) -> float:
        """Fraction of the big cores' maximum frequency allowed at this die temperature."""
        over = (die_c - self.trip_c) / self.ramp_c
        return 1.0 - (1.0 - self.floor) * min(1.0, max(0.0, over))


@dataclass
class BatteryModel:
    """Battery level from busy time: drains with load, charges slowly when powered."""

    profile: Profile
    clock: Callable[[], float]
    _start: float | None = None
    _busy_s: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_busy(self, seconds: float) -> None:
        with self._lock:
            self._busy_s += seconds

    def level(self) -> int:
        b = self.profile.battery
        now = self.clock()
        with self._lock:
            if self._start is None:
                self._start = now
            elapsed = max(0.0, now - self._start)
            busy = self._busy_s
        level = b.level - b.drain_pct_per_busy_hour * busy / 3600
        if b.status == "Charging":
            level += b.charge_pct_per_hour * elapsed / 3600
        return int(min(100.0, max(0.0, level)))
