"""One monitoring cycle: load state, probe, evaluate, store, deliver the outbox, store again.

The same cycle serves `diva run`, the monolithic Lambda and the hub; only the prober (in
process, or commands to spokes), the store and the sinks differ. Order matters:

1. Events already changed by this cycle id (a duplicated tick) are not probed again.
2. Probe results are turned into new states by the pure engine, notifications are put in
   the outbox and claimed by this cycle, and all of it is committed with compare-and-set
   (re-applied onto fresh state on conflict).
3. Only then are the claimed notifications sent; the outcome per sink is committed too.
   A crash between 2 and 3 leaves a claim that expires and is retried: at least once.
"""

from __future__ import annotations

import gc
import inspect
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from contracts.options import EventOptions
from contracts.state import EventState, Notification
from diva_core import outbox
from diva_core.cycles import superseded
from diva_core.errors import StaleStateError, StateError
from diva_core.engine import evaluate, should_inject
from diva_core.observations import Observation, ProbeOutcome
from diva_core.policy import EventPolicy
from diva_core.transitions import Transition
from diva_runtime.alerts import AlertSink, FunctionSink, LogSink
from diva_runtime.persist import commit_with_rebase
from diva_runtime.probes import DEFAULT_MAX_WORKERS, Call, Finished, HungCalls, describe_error, interpret, run_calls
from diva_runtime.stores.base import Snapshot, StateStore

log = logging.getLogger("diva.cycle")

EMPTY = EventState()
DELIVERY_RECORD_ATTEMPTS = 32


@dataclass(frozen=True)
class ProbePlan:
    """What a prober needs to know to decide, per event, which calls to make."""

    states: Mapping[str, EventState]
    policies: Mapping[str, EventPolicy]

    def state(self, name: str) -> EventState:
        return self.states.get(name, EMPTY)

    def should_inject(self, name: str, detect: ProbeOutcome | None) -> bool:
        return should_inject(self.state(name), self.policies[name], detect)


class Prober(Protocol):
    def observe(self, names: Sequence[str], plan: ProbePlan, deadline: float | None) -> dict[str, Observation]:
        """Observations for the events whose every needed call finished before `deadline`."""


def accepts_token(fn: Callable[..., Any]) -> bool:
    """detect(name, token) gets the injection's correlation token; detect(name) does not."""
    try:
        params = [
            p for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
        ]
    except (TypeError, ValueError):
        return False
    return len(params) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params)


class InProcessProber:
    """Calls the user's functions in this process: `diva run` and the monolithic Lambda."""

    def __init__(self, events: Mapping[str, EventOptions], *, max_workers: int = DEFAULT_MAX_WORKERS):
        self._events = events
        self._max_workers = max_workers
        self._hung = HungCalls()
        self._token_aware = {
            name: options.detect is not None and accepts_token(options.detect) for name, options in events.items()
        }

    def _call(self, name: str, action: str, plan: ProbePlan) -> Call:
        options = self._events[name]
        fn = options.detect if action == "detect" else options.inject
        args: tuple = (name,)
        if action == "detect" and self._token_aware[name]:
            args = (name, plan.state(name).correlation_token)
        return Call((name, action), fn, args, options.timeout)

    def observe(self, names: Sequence[str], plan: ProbePlan, deadline: float | None) -> dict[str, Observation]:
        detected: dict[str, ProbeOutcome] = {}
        injected: dict[str, ProbeOutcome] = {}
        awaiting_inject: set[str] = set()

        def follow_up(finished: Finished) -> list[Call]:
            name, action = finished.call.key
            outcome = interpret(action, finished)
            if action == "inject":
                injected[name] = outcome
                awaiting_inject.discard(name)
                return []
            detected[name] = outcome
            if plan.should_inject(name, outcome):
                awaiting_inject.add(name)
                return [self._call(name, "inject", plan)]
            return []

        first = [self._call(name, "detect" if plan.policies[name].detects else "inject", plan) for name in names]
        run_calls(first, max_workers=self._max_workers, deadline=deadline, follow_up=follow_up, hung=self._hung)
        observations: dict[str, Observation] = {}
        for name in names:
            if name in awaiting_inject:
                continue  # the deadline cut it short: it keeps its previous state
            if name in detected or name in injected:
                observations[name] = Observation(detect=detected.get(name), inject=injected.get(name))
        return observations


@dataclass(frozen=True)
class Delivery:
    event: str
    notification_id: str
    kind: str
    message: str
    delivered_to: tuple[str, ...]
    errors: dict[str, str]

    @property
    def complete(self) -> bool:
        return not self.errors


@dataclass
class CycleReport:
    cycle_id: str
    started_at: datetime
    states: dict[str, EventState]
    transitions: list[Transition] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    skipped_duplicate: list[str] = field(default_factory=list)
    unfinished: list[str] = field(default_factory=list)
    observations: dict[str, Observation] = field(default_factory=dict)
    delivery_record_error: str | None = None
    """Set when notices went out but recording that failed (they will be re-sent)."""

    def to_json(self) -> dict[str, Any]:
        def event_view(name: str, state: EventState) -> dict[str, Any]:
            view = state.model_dump(mode="json", exclude={"outbox", "schema_version"})
            view["pending_notifications"] = [n.kind for n in state.outbox]
            return view

        return {
            "cycle_id": self.cycle_id,
            "started_at": self.started_at.isoformat(),
            "events": {name: event_view(name, state) for name, state in sorted(self.states.items())},
            "transitions": [
                {"event": t.event, "from": t.old, "to": t.new, "reason": t.reason} for t in self.transitions
            ],
            "alerts_sent": [d.__dict__ | {"complete": d.complete} for d in self.deliveries if d.kind != "recovery"],
            "recoveries_sent": [d.__dict__ | {"complete": d.complete} for d in self.deliveries if d.kind == "recovery"],
            "skipped_duplicate": self.skipped_duplicate,
            "unfinished": self.unfinished,
            "delivery_record_error": self.delivery_record_error,
        }


SinkFactory = Callable[[str], Sequence[AlertSink]]


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """A cycle allocates a handful of short-lived objects per event, freed by reference
    counting; the cyclic collector's repeated passes over thousands of live state objects
    were ~40% of a 10,000-event cycle. It is paused for the cycle and resumes after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def default_sinks(events: Mapping[str, EventOptions], extra: Sequence[AlertSink] = ()) -> SinkFactory:
    """The event's `alert` function (or the log when it has none), plus shared sinks (SNS)."""
    log_sink = LogSink()
    own = {
        name: (FunctionSink(options.alert) if options.alert else log_sink) for name, options in events.items()
    }
    return lambda name: (own[name], *extra)


class Cycle:
    def __init__(
        self,
        *,
        events: Mapping[str, EventOptions],
        store: StateStore,
        prober: Prober,
        sinks: SinkFactory | None = None,
        max_workers: int = DEFAULT_MAX_WORKERS,
        hung_sinks: HungCalls | None = None,
    ):
        self.events = events
        self.policies = {name: options.policy() for name, options in events.items()}
        self.store = store
        self.prober = prober
        self.sinks = sinks or default_sinks(events)
        self.max_workers = max_workers
        # Shared by the caller when it builds a Cycle per tick (warm Lambda containers), so an
        # alert sink that hangs is not started again while its last call still runs.
        self._hung_sinks = hung_sinks if hung_sinks is not None else HungCalls()

    def run(self, *, cycle_id: str, now: datetime, deadline: float | None = None) -> CycleReport:
        with _cyclic_gc_paused():
            return self._run(cycle_id=cycle_id, now=now, deadline=deadline)

    def _run(self, *, cycle_id: str, now: datetime, deadline: float | None) -> CycleReport:
        names = list(self.events)
        delivery_record_error: str | None = None
        snapshot = self.store.load(names)
        stored = snapshot.states
        duplicate = [n for n in names if n in stored and superseded(cycle_id, stored[n].last_cycle_id)]
        skipped = set(duplicate)
        to_probe = [n for n in names if n not in skipped]
        observations = self.prober.observe(to_probe, ProbePlan(snapshot.states, self.policies), deadline)
        unfinished = [n for n in to_probe if n not in observations]
        transitions: dict[str, tuple[Transition, ...]] = {}

        def apply_cycle(fresh: Mapping[str, EventState]) -> dict[str, EventState]:
            changes: dict[str, EventState] = {}
            for name in names:
                current = fresh.get(name, EMPTY)
                new = current
                observation = observations.get(name)
                if observation is not None and not superseded(cycle_id, current.last_cycle_id):
                    evaluation = evaluate(
                        current, self.policies[name], observation, event=name, cycle_id=cycle_id, now=now
                    )
                    transitions[name] = evaluation.transitions
                    new = evaluation.state
                new = outbox.claim(new, cycle_id, now)
                if new is not current:
                    if new.version != current.version + 1:  # claimed without a state change
                        new = new.model_copy(update={"version": current.version + 1})
                    changes[name] = new
            return changes

        try:
            snapshot, _ = commit_with_rebase(self.store, snapshot, apply_cycle, names)
        except StaleStateError as gave_up:
            # Stores that write per event (DynamoDB) may have stored some events before giving
            # up; their claims are ours: send them now rather than after the claim lease.
            if gave_up.written:
                self._send_and_record(self.store.load(sorted(gave_up.written)), names, cycle_id, deadline)
            raise
        snapshot, deliveries, delivery_record_error = self._send_and_record(snapshot, names, cycle_id, deadline)

        return CycleReport(
            cycle_id=cycle_id,
            started_at=now,
            states={name: snapshot.states.get(name, EMPTY) for name in names},
            transitions=[t for name in names for t in transitions.get(name, ())],
            deliveries=deliveries,
            skipped_duplicate=duplicate,
            unfinished=unfinished,
            observations=observations,
            delivery_record_error=delivery_record_error,
        )

    def _send_and_record(
        self, snapshot: Snapshot, names: Sequence[str], cycle_id: str, deadline: float | None
    ) -> tuple[Snapshot, list[Delivery], str | None]:
        """Send what this cycle claimed in `snapshot`, then store what each sink said."""
        deliveries = self._deliver(snapshot.states, cycle_id, deadline)
        if not deliveries:
            return snapshot, deliveries, None
        by_event: dict[str, list[Delivery]] = {}
        for delivery in deliveries:
            by_event.setdefault(delivery.event, []).append(delivery)

        def apply_deliveries(fresh: Mapping[str, EventState]) -> dict[str, EventState]:
            changes = {}
            for name, done in by_event.items():
                current = fresh.get(name, EMPTY)
                new = current
                for d in done:
                    new = outbox.record_delivery(
                        new, d.notification_id, delivered=d.delivered_to, errors=d.errors,
                        required=[s.name for s in self.sinks(name)], cycle_id=cycle_id,
                    )
                if new is not current:
                    changes[name] = new.model_copy(update={"version": current.version + 1})
            return changes

        # The notices are out: recording that must not give up easily, or a claim would
        # linger and the notice be sent again once its lease ran out. If it still fails,
        # the cycle's observations are already stored, so the cycle did run: say so
        # loudly, and the lease makes the next cycles resend (at least once, never lost).
        try:
            snapshot, _ = commit_with_rebase(self.store, snapshot, apply_deliveries, names,
                                             attempts=DELIVERY_RECORD_ATTEMPTS)
        except StateError as exc:
            log.error("notices were sent but their delivery could not be recorded (%s); "
                      "they will be sent again once their claim expires", exc)
            return snapshot, deliveries, str(exc)
        return snapshot, deliveries, None

    def _deliver(self, states: Mapping[str, EventState], cycle_id: str, deadline: float | None) -> list[Delivery]:
        """Send every notification this cycle claimed, each sink under the event's timeout."""
        calls: list[Call] = []
        pending: dict[tuple[str, str], Notification] = {}
        for name in self.events:
            state = states.get(name)
            if state is None:
                continue
            for notification in outbox.claimed_by(state, cycle_id):
                pending[(name, notification.id)] = notification
                for sink in self.sinks(name):
                    if sink.name not in notification.delivered_to:
                        calls.append(Call((name, notification.id, sink.name), sink.send, (name, notification),
                                          self.policies[name].timeout))
        results: dict[tuple[str, str], tuple[list[str], dict[str, str]]] = {key: ([], {}) for key in pending}
        finished = run_calls(calls, max_workers=self.max_workers, deadline=deadline, hung=self._hung_sinks)
        for done in finished:
            name, notification_id, sink_name = done.call.key
            ok, errors = results[(name, notification_id)]
            if done.cut_off:
                errors[sink_name] = "still running at the cycle deadline; outcome unknown, retried next cycle"
            elif done.still_hung:
                errors[sink_name] = "the previous attempt is still running; not started again"
            elif done.timed_out:
                errors[sink_name] = f"timed out after {done.call.timeout:g}s"
            elif done.error is not None:
                errors[sink_name] = describe_error(done.error)
            else:
                ok.append(sink_name)
        for call in calls:  # cut off by the deadline: not delivered, retried next cycle
            name, notification_id, sink_name = call.key
            ok, errors = results[(name, notification_id)]
            if sink_name not in ok and sink_name not in errors:
                errors[sink_name] = "not attempted before the cycle deadline"
        deliveries = []
        for (name, notification_id), (ok, errors) in results.items():
            notification = pending[(name, notification_id)]
            for sink_name, error in errors.items():
                log.error("event '%s': %s delivery via %s failed: %s", name, notification.kind, sink_name, error)
            deliveries.append(Delivery(name, notification_id, notification.kind, notification.message,
                                       tuple(dict.fromkeys([*notification.delivered_to, *ok])), errors))
        return deliveries
