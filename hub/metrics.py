"""What each tick tells CloudWatch: namespace `DIVA`, the names the infra dashboard reads.

`Heartbeat` is emitted once per *completed* tick, so the "no heartbeat" alarm also fires
when ticks crash; a crash adds `TickErrors`. Powertools is imported only when a Lambda
handler builds `EmfMetrics`, so `diva run` does not need it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

NAMESPACE = "DIVA"
MAX_VALUES_PER_METRIC = 100
"""EMF takes at most 100 values per metric in one record; the slowest probes are kept."""
FAILING = frozenset({"failing", "alerting"})


@dataclass(frozen=True)
class TickFigures:
    events_healthy: int
    events_failing: int
    alerts_sent: int
    tick_seconds: float
    probe_seconds: tuple[float, ...] = ()

    @classmethod
    def from_report(cls, report: Any, tick_seconds: float) -> "TickFigures":
        statuses = [state.status for state in report.states.values()]
        durations = [
            probe.duration
            for observation in report.observations.values()
            for probe in (observation.detect, observation.inject)
            if probe is not None and probe.outcome != "no_result"
        ]
        alerts = sum(1 for d in report.deliveries if d.kind != "recovery" and d.complete)
        return cls(
            events_healthy=sum(1 for s in statuses if s == "healthy"),
            events_failing=sum(1 for s in statuses if s in FAILING),
            alerts_sent=alerts,
            tick_seconds=tick_seconds,
            probe_seconds=tuple(sorted(durations, reverse=True)[:MAX_VALUES_PER_METRIC]),
        )


class TickMetrics(Protocol):
    def tick_completed(self, figures: TickFigures) -> None: ...

    def tick_failed(self) -> None: ...


@dataclass
class RecordingMetrics:
    """Keeps what would be emitted: tests and `diva sim`."""

    completed: list[TickFigures] = field(default_factory=list)
    errors: int = 0

    def tick_completed(self, figures: TickFigures) -> None:
        self.completed.append(figures)

    def tick_failed(self) -> None:
        self.errors += 1


class EmfMetrics:
    """CloudWatch embedded metric format through Powertools, flushed at the end of each tick."""

    def __init__(self, service: str):
        from aws_lambda_powertools import Metrics
        from aws_lambda_powertools.metrics import MetricUnit

        self._metrics = Metrics(namespace=NAMESPACE, service=service)
        self._unit = MetricUnit

    def _emit(self, values: Iterable[tuple[str, Any, float]]) -> None:
        for name, unit, value in values:
            self._metrics.add_metric(name=name, unit=unit, value=value)
        self._metrics.flush_metrics()

    def tick_completed(self, figures: TickFigures) -> None:
        unit = self._unit
        self._emit([
            ("Heartbeat", unit.Count, 1),
            ("TickDuration", unit.Milliseconds, round(figures.tick_seconds * 1000, 1)),
            ("EventsHealthy", unit.Count, figures.events_healthy),
            ("EventsFailing", unit.Count, figures.events_failing),
            ("AlertsSent", unit.Count, figures.alerts_sent),
            *(("ProbeDuration", unit.Milliseconds, round(s * 1000, 1)) for s in figures.probe_seconds),
        ])

    def tick_failed(self) -> None:
        self._emit([("TickErrors", self._unit.Count, 1)])
