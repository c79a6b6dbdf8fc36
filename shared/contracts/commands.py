"""What crosses accounts between hub and spokes: probe commands out, probe results back.

The hub sends a `CommandBatch` (every command for one spoke account and region) by a
synchronous Lambda invoke; the spoke runs them and writes one `ProbeResult` per command
into the hub table, at a key the hub can compute (`result_key`) and that starts with the
spoke's own account id (the hub role's `dynamodb:LeadingKeys` condition) and names the
spoke's region (so one region's spoke cannot fill another region's slot in the same account). The invoke's
response only says "done"; the table is the record of truth.

Every model carries a schema version; a reader rejects versions it does not know rather
than guessing.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts.placement import ACCOUNT_PATTERN, REGION_PATTERN

COMMAND_SCHEMA_VERSION = 1
RESULT_SCHEMA_VERSION = 1

MAX_REASON_BYTES = 1000
MAX_CORRELATION_BYTES = 1024
"""A spoke clips reason and token to these many bytes of their JSON (UTF-8, unescaped) form:
a limit in characters would let 1000 non-ASCII characters take 3000-6000 bytes."""
MAX_REASON_CHARS = MAX_REASON_BYTES
MAX_CORRELATION_CHARS = MAX_CORRELATION_BYTES
"""Character caps the models enforce (never more than the byte caps)."""
MAX_RESULT_BYTES = 4096
"""Largest result item the hub accepts; clipped reasons and tokens keep a result under it."""
RESULT_TTL = timedelta(days=7)
"""Results are kept a week for investigation, then expire (`expires_at`, the table's TTL)."""

CYCLE_ID_PATTERN = re.compile(r"[0-9A-Za-z][0-9A-Za-z:._-]{0,63}")
"""No '#': it separates the parts of a key."""
EVENT_PATTERN = re.compile(r"[^#]{1,200}")

ProbeAction = Literal["detect", "inject"]
ResultOutcome = Literal["ok", "failed", "error", "timeout"]
"""What a spoke can report. `no_result` is the hub's verdict when none arrived."""

Account = Annotated[str, Field(pattern=ACCOUNT_PATTERN.pattern)]
Region = Annotated[str, Field(pattern=REGION_PATTERN.pattern)]
CycleId = Annotated[str, Field(pattern=CYCLE_ID_PATTERN.pattern)]
EventName = Annotated[str, Field(pattern=EVENT_PATTERN.pattern)]


class _Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProbeCommand(_Contract):
    """Hub -> spoke: run one half of one event for one cycle."""

    schema_version: Literal[1] = COMMAND_SCHEMA_VERSION
    event: EventName
    cycle_id: CycleId
    action: ProbeAction
    account: Account
    region: Region
    correlation_id: Annotated[str, Field(max_length=MAX_CORRELATION_CHARS)] | None = None
    """For a detect: the token the event's last injection returned, handed to `detect(name, token)`."""
    timeout: Annotated[float, Field(gt=0, le=900)] = 30.0

    @property
    def result_key(self) -> str:
        return result_key(self.account, self.region, self.cycle_id, self.event, self.action)


class CommandBatch(_Contract):
    """One synchronous invoke carries every command for one spoke account and region."""

    schema_version: Literal[1] = COMMAND_SCHEMA_VERSION
    cycle_id: CycleId
    commands: tuple[ProbeCommand, ...]


class ProbeResult(_Contract):
    """Spoke -> hub: what one command did. Written once (`attribute_not_exists`)."""

    schema_version: Literal[1] = RESULT_SCHEMA_VERSION
    event: EventName
    cycle_id: CycleId
    action: ProbeAction
    outcome: ResultOutcome
    reason: Annotated[str, Field(max_length=MAX_REASON_CHARS)] | None = None
    started_at: datetime
    duration: Annotated[float, Field(ge=0)]
    account: Account
    region: Region
    correlation_id: Annotated[str, Field(max_length=MAX_CORRELATION_CHARS)] | None = None
    """inject: the token the injector returned; detect: the token it was asked to verify."""

    @field_validator("started_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("started_at must carry a timezone")
        return value

    @property
    def key(self) -> str:
        return result_key(self.account, self.region, self.cycle_id, self.event, self.action)


class SpokeReply(_Contract):
    """The invoke's response: only a "done" signal and what was refused, for the hub's log."""

    schema_version: Literal[1] = RESULT_SCHEMA_VERSION
    account: Account
    region: Region
    written: int = 0
    already_written: int = 0
    refused: tuple[str, ...] = ()


def clip_json_bytes(text: str | None, max_bytes: int) -> str | None:
    """The longest prefix of `text` whose JSON string body (`ensure_ascii=False`) fits in
    `max_bytes` UTF-8 bytes. Counted as JSON because quotes and control characters grow
    when escaped; never cuts a character in half."""
    if text is None:
        return None
    total = 0
    for index, char in enumerate(text):
        total += len(json.dumps(char, ensure_ascii=False).encode()) - 2
        if total > max_bytes:
            return text[:index]
    return text


def encode_result(result: ProbeResult) -> str:
    """The stored form of a result: compact JSON, non-ASCII kept as UTF-8 (not \\uXXXX)."""
    return json.dumps(result.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":"))


def result_key(account: str, region: str, cycle_id: str, event: str, action: str) -> str:
    """`<spoke account>#result#<region>#<cycle id>#<event>#<action>`: computable by the hub,
    under the writer's own account prefix (all the hub role lets it write), and per region:
    the hub reads only the slot of the event's placed region."""
    return f"{account}#result#{region}#{cycle_id}#{event}#{action}"


def claim_key(account: str, region: str, cycle_id: str, event: str) -> str:
    """Taken before an injection runs, so a redelivered inject command injects only once."""
    return f"{account}#claim#{region}#{cycle_id}#{event}#inject"
