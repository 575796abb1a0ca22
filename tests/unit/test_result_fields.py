"""The result's fields are listed once (server.results.models.MEASUREMENTS); table, API and
export must agree with that list, so a new column cannot be half added."""

from __future__ import annotations

from server.jobs.schemas import ResultOut
from server.results.models import MEASUREMENTS, RESULT_KEYS, Result
from server.results.service import COLUMNS


def test_every_result_column_is_a_key_or_a_measurement() -> None:
    columns = {c.key for c in Result.__table__.columns}
    assert columns - {"env", "created_at"} == set(RESULT_KEYS) | set(MEASUREMENTS)


def test_the_api_schema_shows_every_measurement() -> None:
    assert set(RESULT_KEYS) | set(MEASUREMENTS) <= set(ResultOut.model_fields)


def test_the_export_has_every_measurement_in_order() -> None:
    exported = [c for c in COLUMNS if c in MEASUREMENTS]
    assert exported == list(MEASUREMENTS)
