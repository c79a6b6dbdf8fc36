"""The stored state of one event, and the outbox of notifications it still owes.

Only facts are stored: counters, a small status vocabulary, incident timestamps, the last
error. A healthy steady state must serialize identically cycle after cycle, so nothing
here changes merely because a cycle ran (no "last checked" stamp): that is what lets the
DynamoDB store skip writes for unchanged events.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

STATE_SCHEMA_VERSION = 1

Status = Literal["new", "warmup", "healthy", "failing", "alerting", "recovering"]
NotificationKind = Literal["alert", "reminder", "recovery"]
FailureReason = Literal["failed", "error", "timeout", "no_result"]

UPSTREAM_COUNTERS = (
    "detection_failures",
    "injection_failures",
    "injected",
    "alerted",
    "cooldown_counter",
    "in_warmup",
    "warmup_counter",
)


class Notification(BaseModel):
    """One alert, reminder or recovery notice in the outbox.

    Recorded in state before any sink is called; removed only when every sink has
    delivered it. `claimed_by` is the cycle that is sending it right now, so two
    overlapping cycles never both send it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    kind: NotificationKind
    incident_id: str | None = None
    message: str
    created_at: datetime
    delivered_to: tuple[str, ...] = ()
    attempts: int = 0
    last_error: str | None = None
    claimed_by: str | None = None
    claimed_at: datetime | None = None


class EventState(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = STATE_SCHEMA_VERSION
    version: int = 0
    """Compare-and-set counter: bumped by one on every stored change."""

    status: Status = "new"
    detection_failures: int = 0
    injection_failures: int = 0
    injected: bool = False
    alerted: bool = False
    cooldown_counter: int = 0
    in_warmup: bool = False
    warmup_counter: int = 0

    incident_id: str | None = None
    """Cycle id of the first failure of the open incident; names its notifications."""
    incident_started_at: datetime | None = None
    cycles_alerting: int = 0
    last_error: str | None = None
    last_error_reason: FailureReason | None = None
    last_changed_at: datetime | None = None
    last_cycle_id: str | None = None
    """Cycle that last changed this state: a duplicated tick for it is skipped."""
    correlation_token: str | None = None
    """What the last injection returned, handed to the detector (distributed mode)."""
    outbox: tuple[Notification, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _from_upstream(cls, data: Any) -> Any:
        """Accept upstream DIVA's records (counters only, no schema_version)."""
        if (
            isinstance(data, dict)
            and "schema_version" not in data
            and "version" not in data
            and any(key in data for key in UPSTREAM_COUNTERS)
        ):
            known = {k: data[k] for k in UPSTREAM_COUNTERS if k in data}
            for key in ("detection_failures", "injection_failures", "cooldown_counter", "warmup_counter"):
                if key in known:
                    known[key] = int(known[key])  # DynamoDB numbers arrive as Decimal
            for key in ("injected", "alerted", "in_warmup"):
                if key in known:
                    known[key] = bool(known[key])
            failing = known.get("detection_failures", 0) or known.get("injection_failures", 0)
            if known.get("alerted"):
                known["status"] = "alerting"
            elif failing:
                known["status"] = "failing"
            elif known.get("in_warmup"):
                known["status"] = "warmup"
            else:
                known["status"] = "healthy"
            return known
        return data


STATE_MAP = TypeAdapter(dict[str, EventState])


class StateDocument(BaseModel):
    """The single-document layout used by the file and S3 stores."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = STATE_SCHEMA_VERSION
    events: dict[str, EventState] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_upstream(cls, data: Any) -> Any:
        """Upstream's S3 object is `{event_name: {counters}}` with no envelope."""
        if isinstance(data, dict) and "schema_version" not in data and "events" not in data:
            return {"schema_version": STATE_SCHEMA_VERSION, "events": data}
        return data


def dump_document(states: dict[str, EventState]) -> bytes:
    """Compact single-document JSON: fields at their defaults are left out, which keeps a
    10,000-event document small and fast to parse; the envelope always names its schema."""
    events = STATE_MAP.dump_json(states, exclude_defaults=True)
    return b'{"schema_version":%d,"events":%s}' % (STATE_SCHEMA_VERSION, events)


def load_document(raw: bytes) -> dict[str, EventState]:
    return dict(StateDocument.model_validate_json(raw).events)
