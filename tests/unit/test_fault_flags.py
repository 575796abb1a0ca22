"""`farm phone --fault NAME=VALUE` parses into PhoneFleet's own Faults."""

from __future__ import annotations

import pytest

from device_agent.virtual.device import Faults
from device_agent.virtual.fault_flags import help_text, names, parse_faults


def test_fault_flags_set_the_fields_of_the_same_name() -> None:
    f = parse_faults(
        ["slowdown=1.03", "trial_slowdown=1.1,1.0", "disconnect_after_bytes=4096", "hot=45", "hang=true"]
    )
    assert f == Faults(
        disconnect_after_bytes=4096, hang=True, slowdown=1.03, trial_slowdowns=[1.1, 1.0], hot=45.0
    )


@pytest.mark.parametrize(
    "bad", ["bogus=1", "slowdown", "slowdown=fast", "slowdown=0", "hot=nan", "hang=maybe"]
)
def test_bad_fault_flags_are_refused_with_the_reason(bad: str) -> None:
    with pytest.raises(ValueError, match="--fault"):
        parse_faults([bad])


def test_every_fault_name_is_in_the_help() -> None:
    text = help_text()
    assert all(n in text for n in names())
