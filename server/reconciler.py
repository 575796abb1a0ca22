"""The API's housekeeping loop: true phone states and no lost runs, whatever crashed.

Runs every few seconds in the API process. Everything it does is idempotent, so two API
replicas running it at once are harmless.
"""

from __future__ import annotations

import logging
import threading

from server.db import session_scope
from server.devices.service import sweep_stale_hosts
from server.jobs.lifecycle import reconcile
from server.queue import enqueue

log = logging.getLogger("phonefarm.reconciler")


def tick() -> int:
    with session_scope() as db:
        gone = sweep_stale_hosts(db)
    if gone:
        log.info("marked offline (host silent): %s", [d.serial for d in gone])
    with session_scope() as db:
        targets = reconcile(db)
        if targets:
            log.info("re-dispatching runs %s", [t[0] for t in targets])
        enqueue(db, targets)  # sent when session_scope commits
    return len(targets)


class Reconciler(threading.Thread):
    def __init__(self, period: float = 2.0) -> None:
        super().__init__(daemon=True, name="reconciler")
        self.period = period
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.period):
            try:
                tick()
            except Exception:  # the database may be restarting: try again next tick
                log.warning("reconciler tick failed", exc_info=True)
