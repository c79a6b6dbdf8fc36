"""A tiny harness that drives the pure engine the way a cycle does, for story tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from contracts.state import EventState, Notification
from diva_core import outbox
from diva_core.engine import evaluate, should_inject
from diva_core.observations import Observation, ProbeOutcome
from diva_core.policy import EventPolicy

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)

OK = "ok"
FAIL = "failed"
RAISE = "error"
TIMEOUT = "timeout"


def outcome(action: str, result: str, token: str | None = None) -> ProbeOutcome:
    return ProbeOutcome(action, result, None if result == OK else f"{action} {result}", token=token)


@dataclass
class Story:
    policy: EventPolicy = field(default_factory=EventPolicy)
    event: str = "orders"
    state: EventState = field(default_factory=EventState)
    cycle: int = 0
    sent: list[Notification] = field(default_factory=list)
    injections: int = 0
    transitions: list = field(default_factory=list)
    sinks_fail: bool = False

    def run(self, detect: str | None = OK, inject: str = OK) -> "Story":
        """One cycle: detect (if the role detects), inject if the engine asks, deliver."""
        self.cycle += 1
        now = T0 + timedelta(minutes=5 * self.cycle)
        cycle_id = f"c{self.cycle:04d}"
        detected = outcome("detect", detect) if self.policy.detects else None
        injected = None
        if should_inject(self.state, self.policy, detected):
            self.injections += 1
            injected = outcome("inject", inject)
        evaluation = evaluate(
            self.state, self.policy, Observation(detected, injected), event=self.event, cycle_id=cycle_id, now=now
        )
        self.transitions.extend(evaluation.transitions)
        state = outbox.claim(evaluation.state, cycle_id, now)
        for notification in outbox.claimed_by(state, cycle_id):
            if self.sinks_fail:
                state = outbox.record_delivery(state, notification.id, delivered=[], errors={"function": "boom"},
                                               required=["function"], cycle_id=cycle_id)
            else:
                self.sent.append(notification)
                state = outbox.record_delivery(state, notification.id, delivered=["function"], errors={},
                                               required=["function"], cycle_id=cycle_id)
        self.state = state
        return self

    def runs(self, *detects: str, inject: str = OK) -> "Story":
        for detect in detects:
            self.run(detect, inject)
        return self

    @property
    def alerts(self) -> list[Notification]:
        return [n for n in self.sent if n.kind == "alert"]

    @property
    def recoveries(self) -> list[Notification]:
        return [n for n in self.sent if n.kind == "recovery"]
