"""The engine's rules, each told as a story: given a policy, when these cycles happen, then..."""

from __future__ import annotations

from diva_core.policy import EventPolicy
from tests.core.story import FAIL, OK, RAISE, TIMEOUT, Story


# 1. Detect first; healthy resets per reset.mode; warmup counts successes, ignores failures.

def test_healthy_event_stays_healthy_and_never_injects():
    story = Story().runs(OK, OK, OK)
    assert story.state.status == "healthy"
    assert story.injections == 0 and story.sent == []


def test_fast_reset_clears_counters_on_first_success():
    story = Story(EventPolicy(detection_threshold=5)).runs(FAIL, FAIL, OK)
    s = story.state
    assert (s.detection_failures, s.injection_failures, s.injected, s.incident_id) == (0, 0, False, None)
    assert s.status == "healthy"


def test_cooldown_reset_needs_consecutive_successes():
    story = Story(EventPolicy(detection_threshold=1, reset_mode="cooldown", cooldown_threshold=3))
    story.runs(FAIL)
    assert story.alerts and story.state.alerted
    story.runs(OK, OK)
    assert story.state.status == "recovering" and story.state.cooldown_counter == 2
    assert story.state.detection_failures == 1 and story.recoveries == []
    story.runs(OK)
    assert story.state.status == "healthy" and story.state.detection_failures == 0
    assert len(story.recoveries) == 1


def test_a_failure_during_cooldown_restarts_the_count_without_a_second_alert():
    story = Story(EventPolicy(detection_threshold=1, reset_mode="cooldown", cooldown_threshold=2))
    story.runs(FAIL, OK, FAIL, OK, OK)
    assert len(story.alerts) == 1
    assert len(story.recoveries) == 1
    assert story.state.status == "healthy"


def test_warmup_ignores_failures_until_enough_successes():
    story = Story(EventPolicy(warmup_enabled=True, warmup_threshold=2, detection_threshold=1))
    story.runs(FAIL, FAIL, FAIL)
    assert story.state.status == "warmup" and story.state.detection_failures == 0 and story.sent == []
    story.runs(OK, OK)
    assert story.state.status == "healthy" and not story.state.in_warmup
    story.runs(FAIL)
    assert story.state.detection_failures == 1 and len(story.alerts) == 1


def test_warmup_successes_must_be_consecutive():
    story = Story(EventPolicy(warmup_enabled=True, warmup_threshold=2))
    story.runs(OK, FAIL, OK)
    assert story.state.in_warmup and story.state.warmup_counter == 1


def test_warmup_injects_once_at_its_start():
    story = Story(EventPolicy(warmup_enabled=True, warmup_threshold=2))
    story.runs(FAIL, FAIL, FAIL)
    assert story.injections == 1


# 2. Injection on the first failure of an incident, or every failing cycle with inject_each_period.

def test_injects_once_per_incident_by_default():
    story = Story(EventPolicy(detection_threshold=10)).runs(FAIL, FAIL, FAIL)
    assert story.injections == 1 and story.state.injected


def test_inject_each_period_injects_on_every_failing_cycle():
    story = Story(EventPolicy(detection_threshold=10, inject_each_period=True)).runs(FAIL, FAIL, FAIL, OK)
    assert story.injections == 3


def test_new_incident_injects_again_after_recovery():
    story = Story(EventPolicy(detection_threshold=10)).runs(FAIL, OK, FAIL)
    assert story.injections == 2


def test_inject_only_event_injects_every_cycle_without_detecting():
    story = Story(EventPolicy(role="inject")).runs(None, None, None)
    assert story.injections == 3 and story.state.status == "healthy"


def test_detect_only_event_never_injects():
    story = Story(EventPolicy(role="detect", detection_threshold=3)).runs(FAIL, FAIL)
    assert story.injections == 0 and story.state.detection_failures == 2


def test_failed_injection_is_retried_next_cycle_and_counted():
    story = Story(EventPolicy(detection_threshold=10, injection_threshold=3))
    story.runs(FAIL, FAIL, inject=FAIL)
    assert story.injections == 2 and story.state.injection_failures == 2 and not story.state.injected
    assert story.alerts == []
    story.runs(FAIL, inject=RAISE)
    assert story.state.injection_failures == 3 and len(story.alerts) == 1
    assert "3 failed injection(s)" in story.alerts[0].message


def test_successful_injection_resets_the_consecutive_injection_failures():
    story = Story(EventPolicy(detection_threshold=10, injection_threshold=2, inject_each_period=True))
    story.runs(FAIL, inject=FAIL)
    story.runs(FAIL, inject=OK)
    story.runs(FAIL, inject=FAIL)
    assert story.state.injection_failures == 1 and story.alerts == []


# 3. Exceptions, non-bools and timeouts are failures with a recorded reason.

def test_errors_and_timeouts_count_as_failures_with_their_reason():
    story = Story(EventPolicy(detection_threshold=5)).runs(RAISE)
    assert story.state.detection_failures == 1 and story.state.last_error_reason == "error"
    story.runs(TIMEOUT)
    assert story.state.detection_failures == 2 and story.state.last_error_reason == "timeout"
    assert "timeout" in story.state.last_error


# 4. Alert exactly once per incident; marked sent only after the sink succeeded.

def test_alerts_once_when_the_detection_threshold_is_reached():
    story = Story(EventPolicy(detection_threshold=3)).runs(FAIL, FAIL)
    assert story.alerts == [] and story.state.status == "failing"
    story.runs(FAIL, FAIL, FAIL, FAIL)
    assert len(story.alerts) == 1 and story.state.alerted and story.state.status == "alerting"
    assert "resolved" not in story.alerts[0].message.lower()
    assert "'orders'" in story.alerts[0].message


def test_failed_alert_delivery_is_retried_next_cycle_then_marked_sent():
    story = Story(EventPolicy(detection_threshold=1))
    story.sinks_fail = True
    story.runs(FAIL)
    assert not story.state.alerted and story.state.status == "alerting"
    assert story.state.outbox[0].attempts == 1 and "boom" in story.state.outbox[0].last_error
    story.sinks_fail = False
    story.runs(FAIL)
    assert len(story.alerts) == 1 and story.state.alerted and story.state.outbox == ()
    story.runs(FAIL, FAIL)
    assert len(story.alerts) == 1


def test_a_second_incident_alerts_again():
    story = Story(EventPolicy(detection_threshold=1)).runs(FAIL, OK, FAIL)
    assert len(story.alerts) == 2
    assert story.alerts[0].incident_id != story.alerts[1].incident_id


def test_recovering_before_the_alert_was_delivered_sends_neither():
    story = Story(EventPolicy(detection_threshold=1))
    story.sinks_fail = True
    story.runs(FAIL)
    story.sinks_fail = False
    story.runs(OK)
    assert story.sent == [] and story.state.outbox == ()


def test_reminders_repeat_while_the_incident_stays_open():
    story = Story(EventPolicy(detection_threshold=1, remind_every=2)).runs(FAIL, FAIL, FAIL, FAIL, FAIL)
    kinds = [n.kind for n in story.sent]
    assert kinds == ["alert", "reminder", "reminder"]
    assert all("resolved" not in n.message.lower() for n in story.sent)


# 5. One recovery notice, with "resolved" in it, unless notify_recovery is off.

def test_recovery_notice_after_an_alerted_incident():
    story = Story(EventPolicy(detection_threshold=2)).runs(FAIL, FAIL, FAIL, OK, OK)
    assert len(story.recoveries) == 1 and "resolved" in story.recoveries[0].message.lower()
    assert story.transitions[-1].new == "healthy" and story.transitions[-1].reason == "recovered"


def test_no_recovery_notice_when_nothing_was_alerted():
    story = Story(EventPolicy(detection_threshold=3)).runs(FAIL, OK)
    assert story.sent == []


def test_notify_recovery_false_turns_the_notice_off():
    story = Story(EventPolicy(detection_threshold=1, notify_recovery=False)).runs(FAIL, OK)
    assert len(story.alerts) == 1 and story.recoveries == []


def test_failed_recovery_notice_is_retried():
    story = Story(EventPolicy(detection_threshold=1)).runs(FAIL)
    story.sinks_fail = True
    story.runs(OK)
    assert story.recoveries == [] and story.state.outbox[0].kind == "recovery"
    story.sinks_fail = False
    story.runs(OK)
    assert len(story.recoveries) == 1 and story.state.outbox == ()


# Transitions are data.

def test_transitions_record_the_incident_lifecycle():
    story = Story(EventPolicy(detection_threshold=2)).runs(OK, FAIL, FAIL, OK)
    assert [(t.old, t.new) for t in story.transitions] == [
        ("new", "healthy"), ("healthy", "failing"), ("failing", "alerting"), ("alerting", "healthy"),
    ]


def test_a_steady_healthy_state_does_not_change():
    story = Story().runs(OK)
    before = story.state
    story.runs(OK, OK)
    assert story.state is before


def test_an_inject_only_event_that_returns_tokens_stays_unchanged_while_healthy():
    from diva_core.engine import evaluate
    from diva_core.observations import Observation, ProbeOutcome
    from tests.core.story import T0

    story = Story(EventPolicy(role="inject")).runs(None)
    settled = story.state
    for n in range(3):
        evaluation = evaluate(settled, story.policy, Observation(inject=ProbeOutcome("inject", "ok", token=f"msg-{n}")),
                              event="orders", cycle_id=f"x{n}", now=T0)
        assert evaluation.state is settled and not evaluation.transitions
