"""The StateStore contract, one suite for every adapter (file, S3 via moto, DynamoDB via moto).

Each story: given what is stored, when a writer commits (maybe racing another), then what
can be read back. The rule under all of them: a write either lands on exactly the version
it was derived from, or it is refused and nothing of it is stored.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.state import EventState, Notification
from diva_core.errors import StaleStateError
from diva_runtime.persist import commit_with_rebase
from diva_runtime.stores import Snapshot, StateStore

NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def bumped(state: EventState | None, **facts: object) -> EventState:
    """The next version of `state` (or the first), with `facts` changed."""
    base = state or EventState(status="healthy")
    return base.model_copy(update={**facts, "version": base.version + 1})


def failed_once(states, name: str = "orders") -> dict[str, EventState]:
    """A rebase function's body: one more detection failure for `name`."""
    current = states.get(name)
    return {name: bumped(current, detection_failures=(current.detection_failures if current else 0) + 1)}


def test_store_implements_the_protocol(store_kit):
    store = store_kit.open()
    assert isinstance(store, StateStore)
    assert store.description.startswith(store_kit.kind)


def test_missing_state_loads_as_empty_snapshot(store_kit):
    snapshot = store_kit.open().load(["orders", "payments"])
    assert dict(snapshot.states) == {}


def test_created_event_reads_back_with_its_version(store_kit):
    store = store_kit.open()
    store.commit(store.load(["orders"]), {"orders": bumped(None, detection_failures=1)})

    stored = store_kit.open().load(["orders"]).states["orders"]
    assert stored.version == 1
    assert stored.detection_failures == 1


def test_load_returns_only_the_named_events_that_exist(store_kit):
    store = store_kit.open()
    store.commit(store.load(), {name: bumped(None) for name in ("a", "b", "c")})

    assert set(store.load(["a", "c", "never-stored"]).states) == {"a", "c"}
    assert set(store.load().states) == {"a", "b", "c"}


def test_commit_without_changes_returns_the_base(store_kit):
    store = store_kit.open()
    base = store.load(["orders"])
    assert store.commit(base, {}) is base
    assert dict(store.load(["orders"]).states) == {}


def test_commit_returns_a_snapshot_the_next_commit_builds_on(store_kit):
    store = store_kit.open()
    after_first = store.commit(store.load(["orders"]), {"orders": bumped(None, detection_failures=1)})
    after_second = store.commit(after_first, failed_once(after_first.states))

    assert after_second.states["orders"].version == 2
    assert store_kit.open().load(["orders"]).states["orders"].detection_failures == 2


def test_second_writer_from_the_same_snapshot_is_refused_and_the_first_write_survives(store_kit):
    first, second = store_kit.open(), store_kit.open()
    first.commit(first.load(), {"orders": bumped(None)})
    base_first, base_second = first.load(["orders"]), second.load(["orders"])

    first.commit(base_first, {"orders": bumped(base_first.states["orders"], detection_failures=1)})
    with pytest.raises(StaleStateError):
        second.commit(base_second, {"orders": bumped(base_second.states["orders"], injection_failures=7)})

    stored = store_kit.open().load(["orders"]).states["orders"]
    assert (stored.version, stored.detection_failures, stored.injection_failures) == (2, 1, 0)


def test_two_creators_of_the_same_event_cannot_both_win(store_kit):
    first, second = store_kit.open(), store_kit.open()
    base_first, base_second = first.load(["orders"]), second.load(["orders"])

    first.commit(base_first, {"orders": bumped(None, detection_failures=1)})
    with pytest.raises(StaleStateError):
        second.commit(base_second, {"orders": bumped(None, detection_failures=5)})
    assert store_kit.open().load(["orders"]).states["orders"].detection_failures == 1


def test_change_that_skips_a_version_is_refused(store_kit):
    store = store_kit.open()
    base = store.commit(store.load(), {"orders": bumped(None)})
    skipping = base.states["orders"].model_copy(update={"version": 3, "detection_failures": 9})

    with pytest.raises(StaleStateError):
        store.commit(base, {"orders": skipping})
    assert store.load(["orders"]).states["orders"].version == 1


def test_conflict_stores_nothing_of_the_conflicting_events_and_names_what_it_wrote(store_kit):
    store, rival = store_kit.open(), store_kit.open()
    base = store.commit(store.load(), {"orders": bumped(None), "payments": bumped(None)})
    rival_base = rival.load(["orders"])
    rival.commit(rival_base, {"orders": bumped(rival_base.states["orders"], detection_failures=4)})

    changes = {name: bumped(base.states[name], injection_failures=1) for name in ("orders", "payments")}
    with pytest.raises(StaleStateError) as refused:
        store.commit(base, changes)

    assert "orders" not in refused.value.written
    stored = store_kit.open().load().states
    assert stored["orders"].detection_failures == 4 and stored["orders"].injection_failures == 0
    if "payments" in refused.value.written:  # per-event stores (DynamoDB) write the rest
        assert stored["payments"] == changes["payments"]
    else:  # single-document stores (file, S3) write nothing
        assert stored["payments"] == base.states["payments"]


def test_events_outside_the_changes_keep_their_stored_state(store_kit):
    store = store_kit.open()
    base = store.commit(store.load(), {"orders": bumped(None, detection_failures=2), "payments": bumped(None)})
    narrowed = store.load(["payments"])  # a writer that only knows about `payments`
    store.commit(narrowed, {"payments": bumped(narrowed.states["payments"], injection_failures=1)})

    assert store_kit.open().load().states["orders"] == base.states["orders"]


def test_every_stored_fact_round_trips(store_kit):
    state = EventState(
        status="alerting", detection_failures=3, injection_failures=1, injected=True, alerted=True,
        cooldown_counter=1, incident_id="cycle-7", incident_started_at=NOW, cycles_alerting=2,
        last_error="detector said: \"no order\" ✗", last_error_reason="timeout", last_changed_at=NOW,
        last_cycle_id="cycle-9", correlation_token="tok-1",
        outbox=(Notification(id="cycle-7:alert", kind="alert", incident_id="cycle-7", message="orders failing",
                             created_at=NOW, delivered_to=("slack",), attempts=1, claimed_by="cycle-9",
                             claimed_at=NOW),),
    )
    store = store_kit.open()
    store.commit(store.load(), {"orders": state.model_copy(update={"version": 1})})
    assert store_kit.open().load(["orders"]).states["orders"] == state.model_copy(update={"version": 1})


def test_rebase_builds_on_a_concurrent_writer_instead_of_overwriting_it(store_kit):
    store, rival = store_kit.open(), store_kit.open()
    stale = store.load(["orders"])
    commit_with_rebase(rival, rival.load(["orders"]), failed_once)

    after, stored = commit_with_rebase(store, stale, failed_once)

    assert stored["orders"].detection_failures == 2
    assert store_kit.open().load(["orders"]).states["orders"].detection_failures == 2


def test_disjoint_writers_from_one_stale_snapshot_both_land(store_kit):
    store, rival = store_kit.open(), store_kit.open()
    shared_base = store.load(["orders", "payments"])
    rival_base = Snapshot(shared_base.states, shared_base.token)
    commit_with_rebase(rival, rival_base, lambda states: failed_once(states, "payments"))
    commit_with_rebase(store, shared_base, lambda states: failed_once(states, "orders"))

    stored = store_kit.open().load().states
    assert stored["orders"].detection_failures == stored["payments"].detection_failures == 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(schedule=st.lists(st.tuples(st.integers(0, 2), st.sampled_from(["a", "b"])), min_size=1, max_size=18))
def test_interleaved_writers_never_lose_an_increment(store_kit, schedule):
    """Three writers each read, then later commit one increment from what they read.
    Whatever the interleaving, each event's counter equals the commits that succeeded."""
    kit = store_kit.fresh()
    writers = [kit.open() for _ in range(3)]
    snapshots: dict[int, Snapshot] = {}
    succeeded = {"a": 0, "b": 0}
    for writer, name in schedule:
        store = writers[writer]
        if writer not in snapshots:
            snapshots[writer] = store.load(["a", "b"])
            continue
        base = snapshots.pop(writer)
        try:
            store.commit(base, failed_once(base.states, name))
        except StaleStateError as refused:
            assert name not in refused.written
            continue
        succeeded[name] += 1

    stored = kit.open().load(["a", "b"]).states
    assert {name: stored[name].detection_failures if name in stored else 0 for name in succeeded} == succeeded
