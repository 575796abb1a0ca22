"""Two phones of one model stay two bars, two rows and two legend entries.

The job page used to label phones by model alone: two "Pixel 3 (virtual)" phones stacked
into one bar of the latency chart and one vanished from the speed-up chart.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from contracts.labels import short_serial, unique_phone_labels
from contracts.vocabulary import Role
from server.all_models import Base, Device, FarmHost, Job, Model, Result, Run
from server.auth.service import Principal
from server.dashboard import figures, service

ADMIN = Principal("root", Role.admin)


@pytest.fixture
def twins() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as db:
        db.add(FarmHost(id=1, name="h", queue="host.h"))
        for i, serial in ((1, "127.0.0.1:5555"), (2, "127.0.0.1:5557"), (3, "R58M12ABCDEF")):
            model = "Pixel 3" if i < 3 else "SM-G920F"
            db.add(
                Device(
                    id=i,
                    serial=serial,
                    host_id=1,
                    model=model,
                    soc_name="Snapdragon 845",
                    is_virtual=True,
                    timing_mode="sim",  # a simulated speed-up is charted; host timing is not
                )
            )
        db.add(Model(id=1, sha256="x" * 64, name="Net", size_bytes=10, inputs=[], path="/m"))
        db.add(Job(id=1, model_id=1, public=True))
        db.flush()
        for device in (1, 2, 3):
            for delegate, avg in (("cpu", 1000.0 * device), ("gpu", 400.0 * device)):
                run = Run(
                    job_id=1,
                    device_id=device,
                    original_device_id=device,
                    delegate=delegate,
                    threads=4,
                    state="succeeded",
                )
                db.add(run)
                db.flush()
                db.add(
                    Result(
                        run_id=run.id,
                        job_id=1,
                        model_id=1,
                        device_id=device,
                        delegate=delegate,
                        threads=4,
                        avg_us=avg,
                    )
                )
        db.flush()
        from server.results import rollup

        rollup.rebuild(db.connection())  # results added by hand: the dashboard reads the rollups
        db.commit()
        yield db


def test_phones_of_one_model_get_a_short_serial_and_others_keep_their_name() -> None:
    labels = unique_phone_labels(
        [
            (1, "Pixel 3", "127.0.0.1:5555", True),
            (2, "Pixel 3", "127.0.0.1:5557", True),
            (3, "SM-G920F", "x", False),
        ]
    )
    assert labels == {1: "Pixel 3 (virtual) · :5555", 2: "Pixel 3 (virtual) · :5557", 3: "SM-G920F"}
    assert short_serial("8A9X1J4B2") == "X1J4B2"


def test_identical_short_serials_fall_back_to_the_device_id() -> None:
    labels = unique_phone_labels([(1, "Pixel 3", "a:5555", False), (2, "Pixel 3", "b:5555", False)])
    assert labels == {1: "Pixel 3 · :5555 #1", 2: "Pixel 3 · :5555 #2"}


def test_the_job_page_charts_show_both_pixels(twins: Session) -> None:
    detail = service.job_detail(twins, ADMIN, 1)
    phones = {r.phone for r in detail.runs}
    assert phones == {"Pixel 3 (virtual) · :5555", "Pixel 3 (virtual) · :5557", "SM-G920F (virtual)"}
    latency = figures.latency_bars(detail.runs)
    for bar in latency.data:
        assert len(set(bar.x)) == 3 == len(bar.x)
    speedup = figures.speedup_bars(detail.runs)
    assert speedup is not None and len(speedup.data[0].x) == 3
    assert list(speedup.data[0].y) == pytest.approx([2.5, 2.5, 2.5])


def test_the_leaderboard_tells_the_pixels_apart(twins: Session) -> None:
    board = service.leaderboard(twins, ADMIN, 1, "cpu", include_virtual=True)
    assert list(board.table["phone"]) == [
        "Pixel 3 (virtual) · :5555",
        "Pixel 3 (virtual) · :5557",
        "SM-G920F (virtual)",
    ]


def test_model_pickers_list_only_models_with_results(twins: Session) -> None:
    twins.add(Model(id=2, sha256="y" * 64, name="Unused", size_bytes=10, inputs=[], path="/n"))
    twins.commit()
    assert service.model_choices(twins, ADMIN) == [(1, "Net")]
