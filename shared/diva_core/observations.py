"""What one cycle saw of one event: the outcome of its detect and inject calls.

The same value comes from an in-process call (monolithic) or from a spoke's result read
out of the hub table (distributed); the engine cannot tell them apart, by design.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Action = Literal["detect", "inject"]
Outcome = Literal["ok", "failed", "error", "timeout", "no_result"]


@dataclass(frozen=True, slots=True)
class ProbeOutcome:
    action: Action
    outcome: Outcome
    reason: str | None = None
    token: str | None = None
    """Correlation token an injection returned, handed to the detector of the same event."""
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


@dataclass(frozen=True, slots=True)
class Observation:
    detect: ProbeOutcome | None = None
    inject: ProbeOutcome | None = None
