"""The resolved, callable-free rules one event is judged by.

User options come in several spellings (seed, upstream, DIVA); `contracts.options` folds
them into this one frozen value so the engine never sees aliases or defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["both", "detect", "inject"]
ResetMode = Literal["fast", "cooldown"]


@dataclass(frozen=True, slots=True)
class EventPolicy:
    detection_threshold: int = 1
    injection_threshold: int = 1
    inject_each_period: bool = False
    role: Role = "both"
    reset_mode: ResetMode = "fast"
    cooldown_threshold: int = 3
    warmup_enabled: bool = False
    warmup_threshold: int = 2
    notify_recovery: bool = True
    remind_every: int | None = None
    timeout: float = 30.0

    @property
    def detects(self) -> bool:
        return self.role != "inject"

    @property
    def injects(self) -> bool:
        return self.role != "detect"
