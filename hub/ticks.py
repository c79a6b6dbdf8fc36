"""A tick's identity: the cycle id comes from the scheduler's scheduled time.

EventBridge Scheduler passes `<aws.scheduler.scheduled-time>` (`{"scheduled_time": ...}`);
a legacy EventBridge rule sends its event's `time`. A redelivered or duplicated invocation
carries the same time, so it is the same cycle and changes nothing. A manual invoke with
neither falls back to the current second.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from diva_core.errors import ConfigError


@dataclass(frozen=True)
class Tick:
    cycle_id: str
    scheduled_at: datetime


def cycle_id_for(scheduled_at: datetime) -> str:
    return scheduled_at.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def parse_tick(event: Mapping[str, Any] | None, now: Callable[[], datetime] | None = None) -> Tick:
    event = event or {}
    text = event.get("scheduled_time") or event.get("time")
    if text:
        try:
            scheduled = _parse_time(str(text))
        except ValueError:
            raise ConfigError([f"tick event: scheduled_time must be an ISO 8601 time, got {text!r}"]) from None
    else:
        scheduled = (now or (lambda: datetime.now(timezone.utc)))().replace(microsecond=0)
    scheduled = scheduled.astimezone(timezone.utc)
    return Tick(cycle_id=cycle_id_for(scheduled), scheduled_at=scheduled)
