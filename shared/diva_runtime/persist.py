"""Commit a cycle's changes without losing anyone else's.

The cycle does not hand the store final states but a pure function that derives them
from whatever is stored. On a compare-and-set conflict the store is re-read and the same
function is applied to the fresh states, so a concurrent writer's counters are built on,
never overwritten, and a duplicated cycle (already applied) changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from contracts.state import EventState
from diva_core.errors import StaleStateError
from diva_runtime.stores.base import Snapshot, StateStore

log = logging.getLogger("diva.persist")

Rebase = Callable[[Mapping[str, EventState]], dict[str, EventState]]
"""fresh states -> changed states (each with version = fresh version + 1)."""

MAX_ATTEMPTS = 8


def commit_with_rebase(store: StateStore, base: Snapshot, rebase: Rebase) -> tuple[Snapshot, dict[str, EventState]]:
    """Apply `rebase` to `base` and commit; on conflict re-read and re-apply, bounded.

    Returns the snapshot after the last commit and every state this call stored.
    """
    stored: dict[str, EventState] = {}
    done: set[str] = set()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        changes = {name: state for name, state in rebase(base.states).items() if name not in done}
        if not changes:
            return base, stored
        try:
            after = store.commit(base, changes)
        except StaleStateError as conflict:
            done |= conflict.written
            stored.update({name: changes[name] for name in conflict.written if name in changes})
            log.info("state changed under us (%s); re-reading, attempt %d", conflict, attempt)
            base = store.load()
            continue
        stored.update(changes)
        return after, stored
    raise StaleStateError(
        f"{store.description}: gave up after {MAX_ATTEMPTS} compare-and-set conflicts; "
        "nothing was overwritten", written=frozenset(done),
    )
