"""Where an event injects and where it detects: an account and a region, or a named target.

An event's `placement` option is either one target for both halves, or one per half:

    "placement": {"account": "111111111111", "region": "eu-west-1"}
    "placement": {"inject": {"account": "111111111111", "region": "eu-west-1"},
                  "detect": "audit-us"}

A string names a target from the events module's optional `get_targets()` (name ->
{account, region}). A half with no placement runs in the hub's own account and region; the
hub accepts that only where a spoke runs beside it (the single-account distributed stack),
see hub/app.py.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from diva_core.errors import ConfigError

ACCOUNT_PATTERN = re.compile(r"\d{12}")
REGION_PATTERN = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
TARGET_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")

Half = Literal["inject", "detect"]


class Target(BaseModel):
    """One account and region: where a spoke runs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account: str
    region: str

    @field_validator("account", mode="before")
    @classmethod
    def _account(cls, value: Any) -> str:
        if not isinstance(value, str) or not ACCOUNT_PATTERN.fullmatch(value):
            raise ValueError(f"must be a 12-digit AWS account id in quotes, got {value!r}")
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not REGION_PATTERN.fullmatch(value):
            raise ValueError(f"must be an AWS region such as eu-west-1, got {value!r}")
        return value

    def __str__(self) -> str:
        return f"{self.account}/{self.region}"


TargetSpec = Target | str
"""A target, or the name of one from `get_targets()`."""


def _first_problem(error: ValidationError) -> str:
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"])
    if first["type"] == "extra_forbidden":
        return f"unknown field '{field}' (a target has account and region)"
    if first["type"] == "missing":
        return f"{field} is required"
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{field} {message}" if field else message


def _spec(value: Any) -> Any:
    """One sentence per problem: pydantic's union errors would name both alternatives."""
    if value is None or isinstance(value, Target):
        return value
    if isinstance(value, str):
        if not TARGET_NAME_PATTERN.fullmatch(value):
            raise ValueError(f"target names are 1-64 letters, digits, '.', '_' or '-', got {value!r}")
        return value
    if isinstance(value, Mapping):
        try:
            return Target.model_validate(value)
        except ValidationError as exc:
            raise ValueError(_first_problem(exc)) from None
    raise ValueError(f"must be {{account, region}} or a target name, got {value!r}")


class PlacementOptions(BaseModel):
    """The user's `placement` option, before named targets are resolved."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    inject: TargetSpec | None = None
    detect: TargetSpec | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_for_both(cls, data: Any) -> Any:
        if isinstance(data, str) or (isinstance(data, Mapping) and "account" in data):
            return {"inject": data, "detect": data}
        return data

    @field_validator("inject", "detect", mode="before")
    @classmethod
    def _target_spec(cls, value: Any) -> Any:
        return _spec(value)


class Placement(BaseModel):
    """Resolved: the target of each half of one event."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    inject: Target
    detect: Target

    def target(self, action: Half) -> Target:
        return self.inject if action == "inject" else self.detect


def parse_targets(raw: Any) -> dict[str, Target]:
    """Validate `get_targets()`'s result: name -> {account, region}."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError([f"get_targets() must return a dict of target name -> {{account, region}}, got {type(raw).__name__}"])
    problems: list[str] = []
    targets: dict[str, Target] = {}
    for name, spec in raw.items():
        if not isinstance(name, str) or not TARGET_NAME_PATTERN.fullmatch(name):
            problems.append(f"target {name!r}: names are 1-64 letters, digits, '.', '_' or '-'")
            continue
        try:
            targets[name] = Target.model_validate(spec)
        except ValidationError as exc:
            problems.append(f"target '{name}': {_first_problem(exc)}")
    if problems:
        raise ConfigError(problems)
    return targets


def resolve_placements(
    options: Mapping[str, PlacementOptions | None],
    targets: Mapping[str, Target],
    default: Target,
) -> dict[str, Placement]:
    """Every event's placement, named targets looked up, missing halves at `default`."""
    problems: list[str] = []
    placements: dict[str, Placement] = {}
    for event, placement in options.items():
        halves: dict[str, Target] = {}
        for half in ("inject", "detect"):
            spec = getattr(placement, half) if placement is not None else None
            if spec is None:
                halves[half] = default
            elif isinstance(spec, Target):
                halves[half] = spec
            elif spec in targets:
                halves[half] = targets[spec]
            else:
                known = ", ".join(sorted(targets)) or "none: define get_targets() in the events module"
                problems.append(f"event '{event}': placement.{half} names unknown target '{spec}' (known: {known})")
        if len(halves) == 2:
            placements[event] = Placement(**halves)
    if problems:
        raise ConfigError(problems)
    return placements
