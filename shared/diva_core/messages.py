"""The words of alerts and recovery notices.

Alert and reminder texts never contain the word "resolved"; recovery notices always do,
so a human or a filter can tell them apart.
"""

from __future__ import annotations

from datetime import datetime

from contracts.state import EventState
from diva_core.policy import EventPolicy


def _failure_summary(state: EventState, policy: EventPolicy) -> str:
    parts = []
    if policy.detects:
        parts.append(f"{state.detection_failures} failed detection(s) (threshold {policy.detection_threshold})")
    if policy.injects:
        parts.append(f"{state.injection_failures} failed injection(s) (threshold {policy.injection_threshold})")
    return ", ".join(parts)


def alert_message(event: str, state: EventState, policy: EventPolicy) -> str:
    since = state.incident_started_at.isoformat() if state.incident_started_at else "unknown"
    last = f"; last error: {state.last_error}" if state.last_error else ""
    return (
        f"DIVA ALERT: event '{event}' is failing: {_failure_summary(state, policy)}; "
        f"incident open since {since}{last}"
    )


def reminder_message(event: str, state: EventState, policy: EventPolicy) -> str:
    return "DIVA REMINDER: " + alert_message(event, state, policy).removeprefix("DIVA ALERT: ") + (
        f" (still failing after {state.cycles_alerting} cycles)"
    )


def recovery_message(event: str, state: EventState, now: datetime) -> str:
    since = state.incident_started_at
    lasted = f" after {_duration(now - since)}" if since else ""
    return f"DIVA RESOLVED: event '{event}' is healthy again; the incident is resolved{lasted}"


def _duration(delta) -> str:
    seconds = int(delta.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{seconds:02d}s"
    return f"{seconds}s"
