"""The outbox: notifications owed by an event, claimed, sent and acknowledged.

Pure functions over `EventState`. The runtime stores a claim (compare-and-set) before it
calls any sink, so of two overlapping cycles only the one whose claim was stored sends;
it then records per-sink delivery. An alert counts as sent (`alerted`) only once every
sink has taken it; a failed sink is retried next cycle, sinks that already took it are
not called again.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta

from contracts.state import EventState, Notification

CLAIM_LEASE = timedelta(minutes=15)
"""A claim older than this belongs to a cycle that died (Lambda runs at most 15 min)."""


def claimable(notification: Notification, now: datetime, lease: timedelta = CLAIM_LEASE) -> bool:
    if notification.claimed_by is None:
        return True
    return notification.claimed_at is None or now - notification.claimed_at >= lease


def claim(state: EventState, cycle_id: str, now: datetime, lease: timedelta = CLAIM_LEASE) -> EventState:
    """Mark every claimable notification as being sent by `cycle_id`."""
    if not any(claimable(n, now, lease) for n in state.outbox):
        return state
    outbox = tuple(
        n.model_copy(update={"claimed_by": cycle_id, "claimed_at": now}) if claimable(n, now, lease) else n
        for n in state.outbox
    )
    return state.model_copy(update={"outbox": outbox})


def claimed_by(state: EventState, cycle_id: str) -> tuple[Notification, ...]:
    return tuple(n for n in state.outbox if n.claimed_by == cycle_id)


def record_delivery(
    state: EventState,
    notification_id: str,
    *,
    delivered: Collection[str],
    errors: Mapping[str, str],
    required: Collection[str],
    cycle_id: str,
) -> EventState:
    """Apply what the sinks said. Unknown ids (already settled elsewhere) change nothing."""
    index = next((i for i, n in enumerate(state.outbox) if n.id == notification_id), None)
    if index is None:
        return state
    notification = state.outbox[index]
    if notification.claimed_by != cycle_id:
        return state  # another cycle took it over after our lease ran out
    delivered_to = tuple(dict.fromkeys([*notification.delivered_to, *delivered]))
    outbox = list(state.outbox)
    update: dict = {}
    if set(required) <= set(delivered_to):
        del outbox[index]
        if notification.kind == "alert" and notification.incident_id == state.incident_id:
            update["alerted"] = True
    else:
        outbox[index] = notification.model_copy(
            update={
                "delivered_to": delivered_to,
                "attempts": notification.attempts + 1,
                "last_error": "; ".join(f"{sink}: {err}" for sink, err in sorted(errors.items())) or None,
                "claimed_by": None,
                "claimed_at": None,
            }
        )
    update["outbox"] = tuple(outbox)
    return state.model_copy(update=update)
