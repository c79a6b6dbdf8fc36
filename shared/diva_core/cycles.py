"""Cycle identity: which cycle an observation belongs to, and whether it came too late.

A scheduled cycle's id is its scheduled time (`20261204T154000Z`), so a tick delivered
twice is the same cycle, and ids sort in time order. Ad-hoc runs (`diva run`) add a random
suffix (`20261204T154001Z-1a2b3c4d`): each is a cycle of its own and overlapping runs are
all counted, so ordering is only enforced between scheduled ids.
"""

from __future__ import annotations

import re

_SCHEDULED = re.compile(r"^\d{8}T\d{6}Z$")


def is_scheduled(cycle_id: str | None) -> bool:
    return cycle_id is not None and bool(_SCHEDULED.match(cycle_id))


def superseded(cycle_id: str, last_cycle_id: str | None) -> bool:
    """The event already reflects this cycle or a later scheduled one: applying it again
    would count a period twice (a retried or redelivered old tick)."""
    if last_cycle_id is None:
        return False
    if cycle_id == last_cycle_id:
        return True
    return is_scheduled(cycle_id) and is_scheduled(last_cycle_id) and cycle_id < last_cycle_id
