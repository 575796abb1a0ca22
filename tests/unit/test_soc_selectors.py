"""A --soc value names phones by marketing name, codename, chip id or an unambiguous name prefix."""

from __future__ import annotations

from server.devices.models import Device
from server.jobs.service import soc_matches

PHONES = [
    Device(id=1, soc_name="Snapdragon 8 Gen 2 for Galaxy", soc_codename="kalama", platform="kalama"),
    Device(id=2, soc_name="Snapdragon 845", soc_codename="sdm845", platform="sdm845"),
    Device(id=3, soc_name="Tensor G2", soc_codename="gs201", platform="gs201"),
    Device(id=4, soc_name="Dimensity 1200", soc_codename="mt6893", platform="mt6893"),
]


def ids(wanted: str) -> list[int]:
    return [d.id for d in soc_matches(wanted, PHONES)]


def test_a_marketing_name_matches_in_any_case() -> None:
    assert ids("snapdragon 845") == [2]


def test_a_codename_or_chip_id_matches() -> None:
    assert ids("SDM845") == [2] and ids("kalama") == [1] and ids("mt6893") == [4]


def test_a_prefix_of_one_marketing_name_matches_it() -> None:
    assert ids("Snapdragon 8 Gen 2") == [1]
    assert ids("Tensor") == [3]


def test_an_ambiguous_prefix_matches_nothing() -> None:
    assert ids("Snapdragon 8") == []


def test_an_empty_or_unknown_value_matches_nothing() -> None:
    assert ids("  ") == [] and ids("Exynos 2100") == []
