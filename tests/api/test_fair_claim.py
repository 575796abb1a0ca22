"""A run's message claims its phone's fair turn: the broker's FIFO order of one user's flood
does not decide who a free phone serves, and no run is lost or taken twice for it."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import make_token
from tests.api.test_metrics_counters import _model, complete, phone, submit


def test_a_message_from_a_flood_claims_the_other_users_run_when_it_is_their_turn(api: TestClient) -> None:
    agent = phone(api)
    alice, bob = make_token("submitter", "alice"), make_token("submitter", "bob")
    flood = [r["id"] for r in submit(api, alice, str(_model(api, alice)["id"]), [1, 2, 4, 8])["runs"]]
    (bobs,) = [r["id"] for r in submit(api, bob, str(_model(api, bob, "b.tflite")["id"]), [1])["runs"]]

    def claim(run_id: int) -> dict[str, int]:
        reply = api.post(f"/api/v1/runs/{run_id}/claim", json={"worker": "w"}, headers=agent).json()
        assert reply["outcome"] == "claimed", reply
        return {k: reply["claim"][k] for k in ("run_id", "attempt", "device_id")}

    # the phone served nobody yet: the oldest run goes first, whichever message arrives
    first = claim(flood[3])
    assert first["run_id"] == flood[0]
    complete(api, agent, first)
    # alice was just served: the next message of her flood gives the phone to bob
    second = claim(flood[1])
    assert second["run_id"] == bobs
    busy = api.post(f"/api/v1/runs/{flood[2]}/claim", json={"worker": "w"}, headers=agent).json()
    assert busy["outcome"] == "busy"  # one run per phone: the later messages wait for the drain
    complete(api, agent, second)

    taken = [first["run_id"], second["run_id"]]
    while True:  # the drain (claim-next) takes the rest, the messages' own runs included
        reply = api.post(
            f"/api/v1/devices/{first['device_id']}/claim-next", json={"worker": "w"}, headers=agent
        )
        if reply.json()["outcome"] != "claimed":
            break
        nxt = reply.json()["claim"]
        taken.append(nxt["run_id"])
        complete(api, agent, nxt)
    assert sorted(taken) == sorted([*flood, bobs])  # every run once, none twice
    for run_id in [*flood, bobs]:  # a late (redelivered) message finds its run finished
        again = api.post(f"/api/v1/runs/{run_id}/claim", json={"worker": "w"}, headers=agent).json()
        assert again["outcome"] == "finished"
    jobs = api.get("/api/v1/benchmarks", headers=make_token("admin")).json()
    assert {j["state"] for j in jobs} == {"succeeded"}
