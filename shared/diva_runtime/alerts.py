"""Alert sinks: where notifications go. One small port, one class per destination.

A sink raises on failure; the cycle records the failure on the notification and retries
next cycle. A sink never breaks evaluation of other events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from contracts.state import Notification

log = logging.getLogger("diva.alerts")


class AlertSink(Protocol):
    name: str
    """Stable id recorded in `Notification.delivered_to`, so a sink is never called twice."""

    def send(self, event: str, notification: Notification) -> None: ...


class FunctionSink:
    """The event's own `alert(message)` function, as in the seed README."""

    name = "function"

    def __init__(self, alert: Callable[[str], Any]):
        self._alert = alert

    def send(self, event: str, notification: Notification) -> None:
        self._alert(notification.message)


class LogSink:
    """Events without an `alert` function: alerts are logged at ERROR, recoveries at WARNING."""

    name = "log"

    def send(self, event: str, notification: Notification) -> None:
        level = logging.WARNING if notification.kind == "recovery" else logging.ERROR
        log.log(level, notification.message, extra={"event": event, "kind": notification.kind})
