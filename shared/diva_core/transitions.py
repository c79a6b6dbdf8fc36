"""Transitions are data: every status change the engine makes becomes one record.

Alerting, metrics and the CLI consume these records instead of re-deriving what happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Transition:
    event: str
    old: str
    new: str
    reason: str
    cycle_id: str
    at: datetime
