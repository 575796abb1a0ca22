"""The shared vocabulary: one spelling for a phone's chip, states grouped once."""

from __future__ import annotations

from contracts.vocabulary import (
    ACTIVE_JOB_STATES,
    TERMINAL_JOB_STATES,
    JobState,
    soc_label,
)


def test_a_known_chip_is_named_by_its_marketing_name() -> None:
    assert soc_label("Snapdragon 845", True) == "Snapdragon 845"


def test_an_unknown_chip_is_flagged_with_what_the_phone_said() -> None:
    assert soc_label("msm9999", False) == "unknown (msm9999)"


def test_a_phone_that_said_nothing_is_never_unknown_none() -> None:
    assert soc_label(None, False) == "unknown SoC"
    assert soc_label("unknown", False) == "unknown SoC"


def test_every_job_state_is_either_active_or_terminal() -> None:
    assert set(JobState) == ACTIVE_JOB_STATES | TERMINAL_JOB_STATES
    assert not ACTIVE_JOB_STATES & TERMINAL_JOB_STATES
