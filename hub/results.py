"""Reading spokes' results back from the hub table, and judging each one before use.

Keys are computed, never scanned for:
`<placement account>#result#<placement region>#<cycle>#<event>#<action>`. So a result from an
old cycle is never read for a new one, and a spoke's rows for an event placed in another
account, or in another region of the same account, are never even looked at. What is read is validated (size,
schema, known event, and that the writer's account and region are the event's placement);
a bad result becomes an `error` outcome with the reason, never a crash.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from contracts.commands import MAX_RESULT_BYTES, ProbeResult, result_key
from contracts.placement import Target
from diva_core.errors import StoreUnavailableError
from diva_core.observations import ProbeOutcome
from diva_runtime import aws

log = logging.getLogger("diva.hub.results")

BATCH_GET_LIMIT = 100
"""BatchGetItem takes at most 100 keys a request."""
MAX_UNPROCESSED_ROUNDS = 6


@dataclass(frozen=True)
class Expected:
    """A result the hub asked for: which event, which half, from which spoke, for which cycle."""

    event: str
    action: str
    target: Target
    cycle_id: str

    @property
    def key(self) -> str:
        return result_key(self.target.account, self.target.region, self.cycle_id, self.event, self.action)


class ResultReader:
    def __init__(self, *, client: Any, table: str, known_events: Collection[str],
                 sleep: Callable[[float], None] = time.sleep):
        self.client = client
        self.table = table
        self.known_events = frozenset(known_events)
        self._sleep = sleep

    def read(self, expected: Iterable[Expected]) -> dict[Expected, ProbeOutcome]:
        """The outcome of every expected result already in the table; absent ones are absent."""
        wanted = {e.key: e for e in expected}
        items = self._batch_get(list(wanted))
        outcomes = {}
        for item in items:
            exp = wanted.get(item.get("pk", {}).get("S", ""))
            if exp is not None:
                outcomes[exp] = self.judge(item, exp)
        return outcomes

    def _batch_get(self, keys: list[str]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            request = {self.table: {"Keys": [{"pk": {"S": k}} for k in keys[start:start + BATCH_GET_LIMIT]],
                                    "ConsistentRead": True}}
            for round_number in range(MAX_UNPROCESSED_ROUNDS + 1):
                with aws.translated(f"hub table {self.table}: read results"):
                    response = self.client.batch_get_item(RequestItems=request)
                items.extend(response.get("Responses", {}).get(self.table, []))
                unprocessed = (response.get("UnprocessedKeys") or {}).get(self.table, {}).get("Keys")
                if not unprocessed:
                    break
                if round_number == MAX_UNPROCESSED_ROUNDS:
                    # Never dropped silently: the caller fails the tick rather than
                    # taking unread results for missing ones (that would be a false alarm).
                    raise StoreUnavailableError(
                        f"hub table {self.table}: {len(unprocessed)} result key(s) still unprocessed "
                        f"after {MAX_UNPROCESSED_ROUNDS} retries"
                    )
                request = {self.table: {"Keys": unprocessed, "ConsistentRead": True}}
                self._sleep(min(1.0, 0.05 * 2 ** round_number))
        return items

    def judge(self, item: dict[str, Any], exp: Expected) -> ProbeOutcome:
        problem, result = self._validate(item, exp)
        if problem:
            log.error("event '%s': rejected %s result from %s: %s", exp.event, exp.action, exp.target, problem)
            return ProbeOutcome(exp.action, "error", f"invalid result from {exp.target}: {problem}")
        token = result.correlation_id if exp.action == "inject" else None
        return ProbeOutcome(exp.action, result.outcome, result.reason, token=token, duration=result.duration)

    def _validate(self, item: dict[str, Any], exp: Expected) -> tuple[str | None, ProbeResult | None]:
        body = item.get("result", {}).get("S")
        if body is None:
            return "item has no 'result' attribute", None
        size = len(body.encode()) + len(exp.key.encode())
        if size > MAX_RESULT_BYTES:
            return f"{size} bytes, more than the {MAX_RESULT_BYTES} a result may take", None
        try:
            result = ProbeResult.model_validate(json.loads(body))
        except (ValueError, ValidationError) as exc:
            first = exc.errors()[0] if isinstance(exc, ValidationError) else None
            where = ".".join(str(p) for p in first["loc"]) if first else "body"
            return f"not a valid result ({where}: {first['msg'] if first else exc})", None
        if result.event not in self.known_events:
            return f"unknown event '{result.event}'", None
        if (result.event, result.action, result.cycle_id) != (exp.event, exp.action, exp.cycle_id):
            return (f"written for {result.event}/{result.action}/{result.cycle_id}, "
                    f"stored at the key of {exp.event}/{exp.action}/{exp.cycle_id}"), None
        if (result.account, result.region) != (exp.target.account, exp.target.region):
            return (f"written by {result.account}/{result.region}, but the event's {exp.action} "
                    f"is placed in {exp.target}"), None
        return None, result
