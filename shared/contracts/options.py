"""User configuration: the options of one monitored event, under every name users write.

The seed README, upstream DIVA and DIVA itself spell some options differently; all are
accepted, conflicts between spellings are errors, and unknown keys are errors (upstream
ignored them silently, which hid typos such as `max_failure`).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from contracts.placement import PlacementOptions
from diva_core.errors import ConfigError
from diva_core.policy import EventPolicy

PositiveInt = Annotated[int, Field(strict=True, ge=1)]
Seconds = Annotated[float, Field(gt=0, le=900, strict=True)]

SEED_DEFAULT_DETECTION_THRESHOLD = 1
"""Neither spelling given: the seed README's default (1), not upstream's (3)."""

_COOLDOWN_ALIASES = ("success_threshold", "cooldown_threshold", "cooldown_success_threshold")


def _fold_aliases(data: dict[str, Any], names: tuple[str, ...], target: str) -> dict[str, Any]:
    """Collapse several spellings of one option into `target`; disagreeing values are an error."""
    given = {name: data.pop(name) for name in names if name in data}
    if not given:
        return data
    values = list(given.values())
    if any(value != values[0] for value in values[1:]):
        spelled = ", ".join(f"{name}={value!r}" for name, value in given.items())
        raise ValueError(f"conflicting values for the same option: {spelled}")
    data[target] = values[0]
    return data


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class ResetOptions(_Strict):
    mode: Literal["fast", "cooldown"] = "fast"
    success_threshold: PositiveInt = 3
    on_verify: Annotated[bool, Field(strict=True)] = False
    """Seen in an upstream sample and ignored there; accepted here for compatibility.
    Recovery after a verified injection is governed by `mode` either way."""

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            return _fold_aliases(dict(data), _COOLDOWN_ALIASES, "success_threshold")
        return data


class WarmupOptions(_Strict):
    enabled: Annotated[bool, Field(strict=True)] = False
    success_threshold: PositiveInt = 2


class EventOptions(_Strict):
    detect: Callable[..., Any] | None = None
    inject: Callable[..., Any] | None = None
    alert: Callable[..., Any] | None = None
    max_failures: PositiveInt | None = None
    max_failed_detections: PositiveInt | None = None
    max_failed_injections: PositiveInt = 1
    inject_each_period: Annotated[bool, Field(strict=True)] = False
    role: Literal["both", "detect", "inject"] = "both"
    reset: ResetOptions = ResetOptions()
    warmup: WarmupOptions = WarmupOptions()
    timeout: Seconds = 30.0
    """Seconds one detect or inject call may take before it counts as a failure."""
    notify_recovery: Annotated[bool, Field(strict=True)] = True
    remind_every: PositiveInt | None = None
    """Re-send the alert every N cycles while an incident stays open (off by default)."""
    placement: PlacementOptions | None = None
    """Hub mode: the account and region (or named target) each half runs in; see
    `contracts.placement`. Ignored in monolithic mode, where everything runs in process."""

    @model_validator(mode="before")
    @classmethod
    def _top_level_cooldown_aliases(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        flat = {name: data.pop(name) for name in _COOLDOWN_ALIASES[1:] if name in data}
        reset = data.get("reset", {})
        if flat and isinstance(reset, Mapping):
            reset = dict(reset)
            for name, value in flat.items():
                if reset.setdefault(name, value) != value:
                    raise ValueError(f"conflicting values: {name}={value!r} and reset.{name}={reset[name]!r}")
            data["reset"] = reset
        return data

    @model_validator(mode="after")
    def _consistent(self) -> "EventOptions":
        if (
            self.max_failures is not None
            and self.max_failed_detections is not None
            and self.max_failures != self.max_failed_detections
        ):
            raise ValueError(
                "max_failures and max_failed_detections are two names for one threshold "
                f"and disagree ({self.max_failures} vs {self.max_failed_detections})"
            )
        if self.role in ("both", "detect") and self.detect is None:
            raise ValueError(f"detect is required for role '{self.role}'")
        if self.role in ("both", "inject") and self.inject is None:
            raise ValueError(f"inject is required for role '{self.role}'")
        return self

    @property
    def detection_threshold(self) -> int:
        for value in (self.max_failures, self.max_failed_detections):
            if value is not None:
                return value
        return SEED_DEFAULT_DETECTION_THRESHOLD

    def policy(self) -> EventPolicy:
        return EventPolicy(
            detection_threshold=self.detection_threshold,
            injection_threshold=self.max_failed_injections,
            inject_each_period=self.inject_each_period,
            role=self.role,
            reset_mode=self.reset.mode,
            cooldown_threshold=self.reset.success_threshold,
            warmup_enabled=self.warmup.enabled,
            warmup_threshold=self.warmup.success_threshold,
            notify_recovery=self.notify_recovery,
            remind_every=self.remind_every,
            timeout=self.timeout,
        )


_KNOWN_OPTIONS = {
    (): sorted(set(EventOptions.model_fields) | set(_COOLDOWN_ALIASES[1:])),
    ("reset",): sorted(set(ResetOptions.model_fields) | set(_COOLDOWN_ALIASES)),
    ("warmup",): sorted(WarmupOptions.model_fields),
}


def _describe(error: dict[str, Any]) -> str:
    """One sentence per pydantic error, in the words a user of the options table expects."""
    loc = ".".join(str(part) for part in error["loc"])
    kind = error["type"]
    ctx = error.get("ctx") or {}
    got = error.get("input")
    if kind == "extra_forbidden":
        leaf = str(error["loc"][-1])
        known = _KNOWN_OPTIONS.get(tuple(str(p) for p in error["loc"][:-1]), [])
        close = difflib.get_close_matches(leaf, known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"unknown option '{loc}'{hint}"
    if kind == "missing":
        return f"{loc} is required"
    if kind in ("greater_than_equal", "int_type", "int_parsing", "int_from_float"):
        bound = ctx.get("ge", 1)
        return f"{loc} must be an integer >= {bound}, got {got!r}"
    if kind in ("greater_than", "less_than_equal", "float_type", "float_parsing"):
        return f"{loc} must be a number of seconds > 0 and <= 900, got {got!r}"
    if kind in ("bool_type", "bool_parsing"):
        return f"{loc} must be true or false, got {got!r}"
    if kind == "literal_error":
        return f"{loc} must be one of {ctx.get('expected')}, got {got!r}"
    if kind == "callable_type":
        return f"{loc} must be a function, got {got!r}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"{loc or 'options'} must be a mapping of options, got {got!r}"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{loc}: {message}" if loc else message


def parse_events(raw: Any) -> dict[str, EventOptions]:
    """Validate `get_events()`'s result; every problem in every event, one line each."""
    if not isinstance(raw, Mapping):
        raise ConfigError([f"get_events() must return a dict of event name -> options, got {type(raw).__name__}"])
    problems: list[str] = []
    events: dict[str, EventOptions] = {}
    for name, options in raw.items():
        if not isinstance(name, str) or not name.strip():
            problems.append(f"event names must be non-empty strings, got {name!r}")
            continue
        if len(name) > 200 or "#" in name:
            problems.append(f"event {name!r}: names are at most 200 characters and cannot contain '#'")
            continue
        try:
            events[name] = EventOptions.model_validate(options)
        except ValidationError as exc:
            problems.extend(f"event '{name}': {_describe(e)}" for e in exc.errors())
    if problems:
        raise ConfigError(problems)
    return events
