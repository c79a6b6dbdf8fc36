"""Invariants of the state machine, for any policy and any sequence of observations."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.state import EventState, StateDocument
from diva_core.policy import EventPolicy
from tests.core.story import FAIL, OK, RAISE, TIMEOUT, Story

policies = st.builds(
    EventPolicy,
    detection_threshold=st.integers(1, 4),
    injection_threshold=st.integers(1, 3),
    inject_each_period=st.booleans(),
    role=st.sampled_from(["both", "detect", "inject"]),
    reset_mode=st.sampled_from(["fast", "cooldown"]),
    cooldown_threshold=st.integers(1, 3),
    warmup_enabled=st.booleans(),
    warmup_threshold=st.integers(1, 3),
    notify_recovery=st.booleans(),
    remind_every=st.none() | st.integers(1, 3),
)
results = st.sampled_from([OK, OK, FAIL, RAISE, TIMEOUT])
cycles = st.lists(st.tuples(results, results, st.booleans()), max_size=40)


def play(policy: EventPolicy, steps) -> Story:
    story = Story(policy)
    for detect, inject, sinks_fail in steps:
        story.sinks_fail = sinks_fail
        story.run(detect, inject)
    return story


@settings(max_examples=300, deadline=None)
@given(policies, cycles)
def test_at_most_one_alert_and_one_recovery_per_incident(policy, steps):
    story = play(policy, steps)
    per_incident = Counter((n.incident_id, n.kind) for n in story.sent if n.kind != "reminder")
    assert all(count == 1 for count in per_incident.values()), per_incident


@settings(max_examples=300, deadline=None)
@given(policies, cycles)
def test_every_recovery_follows_a_delivered_alert_of_the_same_incident(policy, steps):
    story = play(policy, steps)
    alerted = set()
    for n in story.sent:
        if n.kind == "alert":
            alerted.add(n.incident_id)
        if n.kind == "recovery":
            assert n.incident_id in alerted
            assert "resolved" in n.message.lower()
        else:
            assert "resolved" not in n.message.lower()


@settings(max_examples=300, deadline=None)
@given(policies.filter(lambda p: p.reset_mode == "fast"), cycles)
def test_a_healthy_event_under_fast_reset_has_zero_failure_counters(policy, steps):
    story = play(policy, steps)
    if story.state.status == "healthy":
        s = story.state
        assert (s.detection_failures, s.injection_failures, s.cooldown_counter) == (0, 0, 0)
        assert not s.alerted and s.incident_id is None


@settings(max_examples=200, deadline=None)
@given(policies, cycles)
def test_state_round_trips_through_json(policy, steps):
    state = play(policy, steps).state
    assert EventState.model_validate_json(state.model_dump_json()) == state
    document = StateDocument(events={"e": state})
    assert StateDocument.model_validate_json(document.model_dump_json()).events["e"] == state


@settings(max_examples=200, deadline=None)
@given(policies, cycles)
def test_alerted_only_once_every_sink_took_the_alert(policy, steps):
    story = play(policy, steps)
    if story.state.alerted:
        assert any(n.kind == "alert" and n.incident_id == story.state.incident_id for n in story.sent)
