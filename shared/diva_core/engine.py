"""The Detect → Inject → Verify → Alert state machine for one event and one cycle.

Pure functions: state, policy and observations in; new state and transitions out. No
clock (`now` is passed in), no I/O, no environment. Notifications are not sent here: they
are recorded in the state's outbox (see `outbox.py`), which the runtime delivers after the
state is safely stored, so a crash or a lost compare-and-set never sends an alert twice
and never loses one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from contracts.state import EventState, Notification
from diva_core import messages
from diva_core.observations import Observation, ProbeOutcome
from diva_core.policy import EventPolicy
from diva_core.transitions import Transition


@dataclass(frozen=True, slots=True)
class Evaluation:
    state: EventState
    transitions: tuple[Transition, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.transitions)


def should_detect(policy: EventPolicy) -> bool:
    return policy.detects


def should_inject(state: EventState, policy: EventPolicy, detect: ProbeOutcome | None) -> bool:
    """Inject-only events inject every cycle; others on a failed detection, once per
    incident (or once per warmup) unless `inject_each_period`."""
    if not policy.injects:
        return False
    if not policy.detects:
        return True
    if detect is None or detect.ok:
        return False
    if _in_warmup(state, policy):
        return not state.injected
    return policy.inject_each_period or not state.injected


def _steady(state: EventState, policy: EventPolicy, observation: Observation) -> bool:
    """Healthy and seen healthy again: the common case, answered without copying state."""
    if state.status != "healthy" or state.in_warmup or state.incident_id or state.alerted:
        return False
    if state.detection_failures or state.injection_failures:
        return False
    probe = observation.detect if policy.detects else observation.inject
    if probe is None or not probe.ok:
        return False
    inject = observation.inject
    return inject is None or not policy.detects or inject.token == state.correlation_token


def _in_warmup(state: EventState, policy: EventPolicy) -> bool:
    return state.in_warmup or (policy.warmup_enabled and state.status == "new")


def _failure_text(outcome: ProbeOutcome) -> str:
    return outcome.reason or f"{outcome.action} {outcome.outcome}"


def _reason_code(outcome: ProbeOutcome) -> str:
    return "failed" if outcome.outcome == "failed" else outcome.outcome


def evaluate(
    state: EventState,
    policy: EventPolicy,
    observation: Observation,
    *,
    event: str,
    cycle_id: str,
    now: datetime,
) -> Evaluation:
    """Apply one cycle's observations to an event's state."""
    if _steady(state, policy, observation):
        return Evaluation(state)
    old_status = state.status
    before = state.model_dump()
    s = dict(before)
    reasons: list[str] = []

    if s["status"] == "new":
        if policy.warmup_enabled:
            s.update(in_warmup=True, warmup_counter=0, status="warmup")
            reasons.append("warmup started")
        else:
            s["status"] = "healthy"
            reasons.append("first check")

    detect, inject = observation.detect, observation.inject
    if policy.detects:
        if detect is None:
            return Evaluation(state)  # nothing observed (deadline passed): keep the state
        healthy = detect.ok
        failure = None if healthy else detect
    else:
        if inject is None:
            return Evaluation(state)
        healthy = inject.ok
        failure = None if healthy else inject

    if inject is not None and inject.ok and policy.detects:
        s["correlation_token"] = inject.token  # for this event's detector; inject-only has none

    if s["in_warmup"]:
        _warmup(s, policy, healthy, inject, failure, reasons)
    elif healthy:
        _healthy(s, policy, event, now, reasons)
    else:
        _failing(s, policy, detect, inject, failure, event, cycle_id, now, reasons)

    if s == before:
        return Evaluation(state)
    s.update(version=state.version + 1, last_cycle_id=cycle_id, last_changed_at=now)
    new_state = EventState.model_validate(s)
    reason = "; ".join(reasons) or new_state.last_error or "updated"
    return Evaluation(new_state, (Transition(event, old_status, new_state.status, reason, cycle_id, now),))


def _warmup(s: dict, policy: EventPolicy, healthy: bool, inject, failure, reasons: list[str]) -> None:
    """Failures during warmup are not counted; consecutive successes end it."""
    if inject is not None and inject.ok:
        s["injected"] = True
    if healthy:
        s["warmup_counter"] += 1
        if s["warmup_counter"] >= policy.warmup_threshold:
            s.update(in_warmup=False, warmup_counter=0, status="healthy", injected=False)
            reasons.append("warmup complete")
    else:
        s["warmup_counter"] = 0
        s["last_error"] = _failure_text(failure)
        s["last_error_reason"] = _reason_code(failure)


def _incident_open(s: dict) -> bool:
    return bool(
        s["detection_failures"] or s["injection_failures"] or s["alerted"] or s["incident_id"]
    )


def _healthy(s: dict, policy: EventPolicy, event: str, now: datetime, reasons: list[str]) -> None:
    if not _incident_open(s):
        s["status"] = "healthy"
        return
    if policy.reset_mode == "cooldown" and s["cooldown_counter"] + 1 < policy.cooldown_threshold:
        s["cooldown_counter"] += 1
        s["status"] = "recovering"
        reasons.append(f"recovering ({s['cooldown_counter']}/{policy.cooldown_threshold} successes)")
        return
    _recover(s, policy, event, now)
    reasons.append("recovered")


def _recover(s: dict, policy: EventPolicy, event: str, now: datetime) -> None:
    incident = s["incident_id"]
    outbox = [n for n in s["outbox"] if not _belongs_to(n, incident) or n["kind"] == "recovery"]
    # An alert that reached some sink counts as sent: those readers deserve the all-clear.
    partly_sent = any(
        _belongs_to(n, incident) and n["kind"] == "alert" and n["delivered_to"] for n in s["outbox"]
    )
    if (s["alerted"] or partly_sent) and policy.notify_recovery:
        message = messages.recovery_message(event, EventState.model_validate(s), now)
        outbox.append(_notification(event, incident, "recovery", message, now))
    s.update(
        detection_failures=0,
        injection_failures=0,
        injected=False,
        alerted=False,
        cooldown_counter=0,
        incident_id=None,
        incident_started_at=None,
        cycles_alerting=0,
        correlation_token=None,
        last_error=None,
        last_error_reason=None,
        status="healthy",
        outbox=outbox,
    )


def _notification(event: str, incident: str, kind: str, message: str, now: datetime, suffix: str = "") -> dict:
    """Notification ids are per incident and kind, so the same notice is never owed twice."""
    return Notification(
        id=f"{event}:{incident}:{kind}{suffix}", kind=kind, incident_id=incident, message=message, created_at=now
    ).model_dump()


def _belongs_to(notification: dict, incident: str | None) -> bool:
    return incident is not None and notification["incident_id"] == incident


def _failing(s, policy, detect, inject, failure, event, cycle_id, now, reasons) -> None:
    if s["incident_id"] is None:
        s["incident_id"] = cycle_id
        s["incident_started_at"] = now
        # The usual DIVA path, not yet an outage: nothing seen, so a synthetic event is sent
        # and the next detection verifies it.
        injected_now = inject is not None and inject.ok and policy.detects
        reasons.append("not detected; injected to verify" if injected_now else "incident opened")
    if policy.detects and detect is not None and not detect.ok:
        s["detection_failures"] += 1
    if inject is not None:
        if inject.ok:
            s["injected"] = True
            s["injection_failures"] = 0
        else:
            s["injection_failures"] += 1
    s["cooldown_counter"] = 0
    s["last_error"] = _failure_text(failure)
    s["last_error_reason"] = _reason_code(failure)
    if inject is not None and not inject.ok and failure is not inject:
        s["last_error"] += f"; injection: {_failure_text(inject)}"

    incident = s["incident_id"]
    alert_pending = any(n["kind"] == "alert" and _belongs_to(n, incident) for n in s["outbox"])
    reached = (
        policy.detects and s["detection_failures"] >= policy.detection_threshold
    ) or (policy.injects and s["injection_failures"] >= policy.injection_threshold)

    if s["alerted"] or alert_pending:
        s["status"] = "alerting"
        s["cycles_alerting"] += 1
        if policy.remind_every and s["alerted"] and s["cycles_alerting"] % policy.remind_every == 0:
            message = messages.reminder_message(event, EventState.model_validate(s), policy)
            reminder = _notification(event, incident, "reminder", message, now, f":{s['cycles_alerting']}")
            s["outbox"] = [*s["outbox"], reminder]
            reasons.append("reminder due")
    elif reached:
        s["status"] = "alerting"
        message = messages.alert_message(event, EventState.model_validate(s), policy)
        s["outbox"] = [*s["outbox"], _notification(event, incident, "alert", message, now)]
        reasons.append("alert threshold reached")
    else:
        s["status"] = "failing"
