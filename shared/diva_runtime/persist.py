"""Commit a cycle's changes without losing anyone else's.

The cycle does not hand the store final states but a pure function that derives them
from whatever is stored. On a compare-and-set conflict the store is re-read and the same
function is applied to the fresh states, so a concurrent writer's counters are built on,
never overwritten, and a duplicated cycle (already applied) changes nothing.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Collection, Mapping

from contracts.state import EventState
from diva_core.errors import StaleStateError
from diva_runtime.stores.base import Snapshot, StateStore

log = logging.getLogger("diva.persist")

Rebase = Callable[[Mapping[str, EventState]], dict[str, EventState]]
"""fresh states -> changed states (each with version = fresh version + 1)."""

MAX_ATTEMPTS = 8
BACKOFF_SECONDS = 0.02


def commit_with_rebase(
    store: StateStore,
    base: Snapshot,
    rebase: Rebase,
    names: Collection[str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    attempts: int = MAX_ATTEMPTS,
) -> tuple[Snapshot, dict[str, EventState]]:
    """Apply `rebase` to `base` and commit; on conflict re-read `names` and re-apply, bounded.

    Writers that collide once tend to collide again in lockstep: a jittered, growing pause
    before each re-read spreads them out. Returns the snapshot after the last commit and
    every state this call stored.
    """
    stored: dict[str, EventState] = {}
    done: set[str] = set()
    for attempt in range(1, attempts + 1):
        changes = {name: state for name, state in rebase(base.states).items() if name not in done}
        if not changes:
            return base, stored
        try:
            after = store.commit(base, changes)
        except StaleStateError as conflict:
            done |= conflict.written
            stored.update({name: changes[name] for name in conflict.written if name in changes})
            log.info("state changed under us (%s); re-reading, attempt %d", conflict, attempt)
            sleep(random.uniform(0, BACKOFF_SECONDS * 2 ** min(attempt, 6)))
            base = store.load(names)
            continue
        stored.update(changes)
        return after, stored
    raise StaleStateError(
        f"{store.description}: gave up after {attempts} compare-and-set conflicts; "
        "nothing was overwritten", written=frozenset(done),
    )
