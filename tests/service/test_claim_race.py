"""Two claims that read a run before either commits: one takes it, the other is told it runs
elsewhere. The embedded farm's SQLite takes no row locks, and a message's fair turn may name
a run another message names too, so the claim itself must be a compare-and-set."""

from __future__ import annotations

from contracts.vocabulary import ClaimOutcome, RunState
from server.db import session_scope
from server.jobs.lifecycle import claim
from server.jobs.models import Run
from tests.service.test_reconciler import _farm


def test_a_claim_that_read_the_run_before_another_claim_committed_does_not_take_it_twice(
    own_database: str,
) -> None:
    with session_scope() as db:
        _, _, run = _farm(db)
        run_id = run.id
    with session_scope() as late:
        seen = late.get(Run, run_id)  # read while the run was queued, as an unlocked read does
        assert seen is not None and seen.state == RunState.queued
        with session_scope() as first:
            won = claim(first, run_id, "worker-a")
        assert won.outcome == ClaimOutcome.claimed and won.claim is not None
        lost = claim(late, run_id, "worker-b")
        assert lost.outcome == ClaimOutcome.elsewhere
    with session_scope() as db:
        again = db.get(Run, run_id)
        assert again is not None
        assert (again.state, again.attempts, again.worker) == (RunState.running, 1, "worker-a")
