"""The dashboard's SQL aggregation on a small hand-made farm (SQLite in memory).

Checks what the browser test cannot see with one result per phone: several results per
(phone, delegate), the best delegate per phone, the pooled spread, virtual phones left
out, and private jobs hidden from other viewers. Expected figures are computed here.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from contracts.vocabulary import Role
from server.all_models import Base, Device, FarmHost, Job, Model, Result, Run, User
from server.auth.service import Principal
from server.dashboard import service, tables
from server.results import rollup

ANON = Principal("anonymous", Role.viewer)
ALICE = Principal("alice", Role.submitter, user_id=2)


@pytest.fixture
def db() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        yield session


def add_result(
    db: Session, job: Job, device: Device, delegate: str, avg: float, lo: float, hi: float, std: float
):
    run = Run(job_id=job.id, device_id=device.id, original_device_id=device.id, delegate=delegate, threads=4)
    db.add(run)
    db.flush()
    res = Result(
        run_id=run.id,
        job_id=job.id,
        model_id=job.model_id,
        device_id=device.id,
        delegate=delegate,
        threads=4,
        avg_us=avg,
        min_us=lo,
        max_us=hi,
        std_us=std,
    )
    db.add(res)
    db.flush()
    rollup.add(db, res, job.public, job.submitter_id)  # as lifecycle.complete does


@pytest.fixture
def farm(db: Session) -> dict:
    db.add(FarmHost(id=1, name="h", queue="host.h"))
    phones = {
        "a": Device(
            id=1, serial="a", host_id=1, model="A", soc_name="Snapdragon 845", soc_known=True, ram_mb=5700
        ),
        "b": Device(
            id=2, serial="b", host_id=1, model="B", soc_name="Snapdragon 845", soc_known=True, ram_mb=5600
        ),
        "c": Device(
            id=3, serial="c", host_id=1, model="C", soc_name="Exynos 7420", soc_known=True, ram_mb=2783
        ),
        "v": Device(
            id=4, serial="v", host_id=1, model="V", soc_name="Snapdragon 845", soc_known=True, is_virtual=True
        ),
    }
    db.add_all(phones.values())
    model = Model(
        id=1, sha256="x" * 64, name="Net", size_bytes=2_000_000, inputs=[{"shape": [1, 8, 8, 3]}], path="/m"
    )
    db.add(model)
    db.add_all([User(id=1, name="bob"), User(id=ALICE.user_id, name=ALICE.name)])
    public = Job(id=1, model_id=1, submitter_id=1, public=True)
    private = Job(id=2, model_id=1, submitter_id=ALICE.user_id, public=False)
    db.add_all([public, private])
    db.flush()
    # phone a: two CPU results (1000, 1200 µs), one GPU (500)
    add_result(db, public, phones["a"], "cpu", 1000, 900, 1100, 30)
    add_result(db, public, phones["a"], "cpu", 1200, 1150, 1400, 40)
    add_result(db, public, phones["a"], "gpu", 500, 450, 700, 10)
    # phone b: CPU 2000 only; phone c: CPU 4000, GPU 6000 (GPU slower)
    add_result(db, public, phones["b"], "cpu", 2000, 1900, 2100, 50)
    add_result(db, public, phones["c"], "cpu", 4000, 3900, 4300, 60)
    add_result(db, public, phones["c"], "gpu", 6000, 5800, 6500, 70)
    # the virtual phone is fastest of all
    add_result(db, public, phones["v"], "cpu", 100, 90, 110, 1)
    # a private job: alice sees it, anonymous does not
    add_result(db, private, phones["b"], "gpu", 50, 40, 60, 1)
    db.commit()
    return phones


def test_leaderboard_best_delegate(db: Session, farm: dict) -> None:
    board = service.leaderboard(db, ANON, 1, "best", include_virtual=False)
    t = board.table
    assert list(t["phone"]) == ["A", "B", "C"]
    assert list(t["delegate"]) == ["gpu", "cpu", "cpu"]
    assert list(t["avg_ms"]) == pytest.approx([0.5, 2.0, 4.0])
    assert list(t["rank"]) == [1, 2, 3]
    assert not board.virtual_only


def test_leaderboard_pools_results_of_one_phone(db: Session, farm: dict) -> None:
    t = service.leaderboard(db, ANON, 1, "cpu", include_virtual=False).table
    a = t[t["phone"] == "A"].iloc[0]
    assert a["results"] == 2
    assert a["avg_ms"] == pytest.approx(1.1)
    assert (a["min_ms"], a["max_ms"]) == pytest.approx((0.9, 1.4))
    # total variance = mean of within-result variances + variance of the results' means
    within = (30**2 + 40**2) / 2
    between = ((1000 - 1100) ** 2 + (1200 - 1100) ** 2) / 2
    assert a["std_ms"] == pytest.approx(math.sqrt(within + between) / 1000)


def test_leaderboard_virtual_and_visibility(db: Session, farm: dict) -> None:
    with_virtual = service.leaderboard(db, ANON, 1, "cpu", include_virtual=True).table
    assert with_virtual["phone"].iloc[0] == "V (virtual)"
    assert bool(with_virtual["is_virtual"].iloc[0])
    anon_gpu = service.leaderboard(db, ANON, 1, "gpu", include_virtual=False).table
    assert list(anon_gpu["phone"]) == ["A", "C"]
    alice_gpu = service.leaderboard(db, ALICE, 1, "gpu", include_virtual=False).table
    assert list(alice_gpu["phone"]) == ["B", "A", "C"]


def test_virtual_only_is_reported(db: Session, farm: dict) -> None:
    db.query(Result).filter(Result.device_id != farm["v"].id).delete()
    rollup.rebuild(db.connection())  # results removed by hand: the rollup is rebuilt from them
    db.commit()
    board = service.leaderboard(db, ANON, 1, "best", include_virtual=False)
    assert board.table.empty and board.virtual_only
    cmp = service.comparison(db, ANON, [1], include_virtual=False)
    assert cmp.rows == [] and cmp.virtual_only
    assert service.comparison(db, ANON, [1], include_virtual=True).rows


def test_compare_averages_each_phone_then_the_column(db: Session, farm: dict) -> None:
    cmp = service.comparison(db, ANON, None, include_virtual=False)
    assert cmp.defaulted and cmp.model_ids == [1]
    df = tables.comparison_frame(cmp.rows)
    # Snapdragon 845 6 GB: phone a's CPU mean 1100 µs and phone b's 2000 µs -> 1.55 ms
    assert df.loc["Net [8x8] CPU", "Snapdragon 845 (6 GB RAM)"] == pytest.approx((1.1 + 2.0) / 2)
    assert df.loc["Net [8x8] GPU", "Snapdragon 845 (6 GB RAM)"] == pytest.approx(0.5)  # private GPU hidden
    assert df.loc["Net [8x8] CPU", "Exynos 7420 (3 GB RAM)"] == pytest.approx(4.0)
    assert df.loc["Net [8x8] GPU", "Size (MB)"] == pytest.approx(2.0)
    assert not any("virtual" in c for c in df.columns)
    sp = tables.speedup_frame(cmp.rows)
    assert sp.loc["Net [8x8] GPU speed-up over CPU", "Exynos 7420 (3 GB RAM)"] == pytest.approx(4000 / 6000)
    alice = tables.comparison_frame(service.comparison(db, ALICE, [1], include_virtual=False).rows)
    assert alice.loc["Net [8x8] GPU", "Snapdragon 845 (6 GB RAM)"] == pytest.approx((0.5 + 0.05) / 2)


def test_the_rollup_matches_a_group_by_over_the_results(db: Session, farm: dict) -> None:
    from sqlalchemy import func, select

    from server.results.models import ResultRollup

    before = {
        (r.model_id, r.device_id, r.delegate, r.public, r.submitter_id): (
            r.n,
            r.sum_avg_us,
            r.min_us,
            r.max_us,
        )
        for r in db.scalars(select(ResultRollup))
    }
    rollup.rebuild(db.connection())
    after = {
        (r.model_id, r.device_id, r.delegate, r.public, r.submitter_id): (
            r.n,
            r.sum_avg_us,
            r.min_us,
            r.max_us,
        )
        for r in db.scalars(select(ResultRollup))
    }
    assert before == after
    assert sum(v[0] for v in after.values()) == db.scalar(select(func.count()).select_from(Result))


def test_the_comparison_from_the_group_rollup_equals_the_exact_one(db: Session, farm: dict) -> None:
    for include_virtual in (False, True):
        fast = service._public_groups(db, ANON, [1], include_virtual)
        exact = service._exact_groups(db, ANON, [1], include_virtual)
        assert fast is not None

        def key(rows: list) -> list[tuple]:
            return sorted(
                (
                    r.model_id,
                    r.delegate,
                    r.soc_name or "",
                    -1.0 if r.ram_gb is None else float(r.ram_gb),
                    bool(r.is_virtual),
                    round(float(r.avg_us), 6),
                    r.phones,
                )
                for r in rows
            )

        assert key(fast) == key(exact)
    assert service._public_groups(db, ALICE, [1], False) is None  # alice has a private result: exact path
    rollup.rebuild(db.connection())
    assert key(service._public_groups(db, ANON, [1], True) or []) == key(
        service._exact_groups(db, ANON, [1], True)
    )
