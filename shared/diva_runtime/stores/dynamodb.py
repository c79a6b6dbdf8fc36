"""Hub state: one DynamoDB item per event, each guarded by its own `version`.

Item layout (the table is shared with the hub's result items; single partition key, no
sort key):

    pk       S  "state#<event name>"      (attribute name and prefix configurable)
    version  N  compare-and-set counter   (the only attribute a condition reads)
    state    S  the EventState as JSON, without `version`

The state is one JSON attribute rather than one attribute per field: it round-trips the
pydantic model exactly (datetimes, None, the nested outbox) without Decimal or empty-value
rules, and a DIVA item is always recognisable by it. Items without `state` are upstream
DIVA's (`{event_id, counters...}`, no version): they load as version 0 and are converted
on their first write.

Reads: BatchGetItem, 100 keys a request (the API limit), strongly consistent, with
UnprocessedKeys retried with backoff a bounded number of times, never dropped. Writes: one
conditional PutItem per *changed* event and none for the rest, so a healthy steady state
costs no writes. BatchWriteItem is never used: it takes no conditions.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, NoReturn

from pydantic import ValidationError

from contracts.state import EventState
from diva_core.errors import CorruptStateError, StaleStateError, StoreUnavailableError
from diva_runtime import aws
from diva_runtime.stores.base import Snapshot

BATCH_GET_LIMIT = 100
"""BatchGetItem accepts at most 100 keys (and 16 MB) per request."""
MAX_UNPROCESSED_ROUNDS = 8
"""Rounds of re-requesting UnprocessedKeys before the read fails loudly."""
UNPROCESSED_BACKOFF_BASE = 0.05
UNPROCESSED_BACKOFF_MAX = 2.0
DEFAULT_WORKERS = 8
"""Parallel requests for many chunks or many changed events (botocore pools 10 connections)."""

VERSION = "version"
STATE = "state"
CONFLICT = "ConditionalCheckFailedException"
MISSING_TABLE = "ResourceNotFoundException"


@dataclass(frozen=True)
class _WriteOutcome:
    name: str
    stored_version: int | None = None
    """Set when the condition failed and the server returned the winner's item."""
    conflict: bool = False
    error: BaseException | None = None


class DynamoDBStateStore:
    def __init__(self, table: str, *, endpoint_url: str | None = None, region: str | None = None,
                 client: Any = None, key_attribute: str = "pk", key_prefix: str = "state#",
                 max_workers: int = DEFAULT_WORKERS, sleep: Callable[[float], None] = time.sleep):
        self.table = table
        self.key_attribute = key_attribute
        self.key_prefix = key_prefix
        self.description = _describe(table, key_attribute, key_prefix)
        self._endpoint_url = endpoint_url
        self._region = region
        self._client = client
        self._max_workers = max(1, max_workers)
        self._sleep = sleep

    @property
    def client(self) -> Any:
        # Built on first use, in the calling thread: boto3 sessions are not thread-safe,
        # clients are (the write pool shares this one).
        if self._client is None:
            self._client = aws.client("dynamodb", endpoint_url=self._endpoint_url, region=self._region)
        return self._client

    # -- reading -----------------------------------------------------------------------

    def load(self, names: Collection[str] | None = None) -> Snapshot:
        items = self._scan() if names is None else self._batch_get(names)
        states: dict[str, EventState] = {}
        for item in items:
            name = item[self.key_attribute]["S"][len(self.key_prefix):]
            states[name] = self._parse(name, item)
        return Snapshot(states=states, token=None)

    def _batch_get(self, names: Collection[str]) -> list[dict[str, Any]]:
        unique = list(dict.fromkeys(names))
        chunks = [unique[i:i + BATCH_GET_LIMIT] for i in range(0, len(unique), BATCH_GET_LIMIT)]
        client = self.client
        results = self._in_parallel(lambda chunk: self._get_chunk(client, chunk), chunks)
        return [item for items in results for item in items]

    def _get_chunk(self, client: Any, names: list[str]) -> list[dict[str, Any]]:
        request: dict[str, Any] = {
            self.table: {"Keys": [self._key(name) for name in names], "ConsistentRead": True},
        }
        items: list[dict[str, Any]] = []
        for round_number in range(MAX_UNPROCESSED_ROUNDS + 1):
            try:
                response = client.batch_get_item(RequestItems=request)
            except Exception as exc:
                self._raise_translated(exc, "cannot read state")
            items.extend(response.get("Responses", {}).get(self.table, []))
            unprocessed = response.get("UnprocessedKeys") or {}
            if not unprocessed.get(self.table, {}).get("Keys"):
                return items
            request = unprocessed
            if round_number < MAX_UNPROCESSED_ROUNDS:
                self._sleep(_backoff(round_number))
        left = len(request[self.table]["Keys"])
        raise StoreUnavailableError(
            f"{self.description}: cannot read state: {left} of {len(names)} keys still unprocessed "
            f"after {MAX_UNPROCESSED_ROUNDS} retries (throttled?)"
        )

    def _scan(self) -> list[dict[str, Any]]:
        """Every state item. The runtime always names its events, so this is for tools and
        re-reads that did not; the hub's result items are filtered out by prefix."""
        request: dict[str, Any] = {"TableName": self.table, "ConsistentRead": True}
        if self.key_prefix:
            request.update(
                FilterExpression="begins_with(#key, :prefix)",
                ExpressionAttributeNames={"#key": self.key_attribute},
                ExpressionAttributeValues={":prefix": {"S": self.key_prefix}},
            )
        items: list[dict[str, Any]] = []
        client = self.client
        while True:
            try:
                response = client.scan(**request)
            except Exception as exc:
                self._raise_translated(exc, "cannot read state")
            items.extend(response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return items
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _parse(self, name: str, item: Mapping[str, Any]) -> EventState:
        try:
            if STATE in item:
                data = json.loads(item[STATE]["S"])
                data[VERSION] = int(item[VERSION]["N"])
                return EventState.model_validate(data)
            # Upstream DIVA: counters as plain attributes, no version.
            from boto3.dynamodb.types import TypeDeserializer

            plain = TypeDeserializer()
            attributes = {k: plain.deserialize(v) for k, v in item.items() if k != self.key_attribute}
            if VERSION in attributes:
                raise ValueError("has a version but no state attribute")
            return EventState.model_validate(attributes)
        except (ValidationError, ValueError, KeyError, TypeError) as exc:
            first = " ".join(str(exc).splitlines()[0:3])
            raise CorruptStateError(
                f"{self.description}: item for event {name!r} is not valid DIVA state ({first}); "
                "it was left untouched: fix or delete it"
            ) from exc

    # -- writing -----------------------------------------------------------------------

    def commit(self, base: Snapshot, changes: Mapping[str, EventState]) -> Snapshot:
        if not changes:
            return base
        client = self.client
        outcomes = self._in_parallel(lambda pair: self._put(client, *pair), list(changes.items()))
        written = frozenset(o.name for o in outcomes if not o.conflict and o.error is None)
        failed = [o for o in outcomes if o.error is not None]
        if failed:
            # Events written so far are complete, valid states (each its own compare-and-set);
            # the cycle still fails so that nobody takes the rest as stored.
            stored = f"; stored before the failure: {_names(sorted(written))}" if written else ""
            raise StoreUnavailableError(
                f"{self.description}: cannot write state for {_names(sorted(o.name for o in failed))}: "
                f"{failed[0].error}{stored}"
            ) from failed[0].error
        conflicts = sorted((o for o in outcomes if o.conflict), key=lambda o: o.name)
        if conflicts:
            detail = ", ".join(
                f"{o.name!r} (expected version {changes[o.name].version - 1}"
                + (f", stored {o.stored_version})" if o.stored_version is not None else ")")
                for o in conflicts[:5]
            )
            more = f" and {len(conflicts) - 5} more" if len(conflicts) > 5 else ""
            raise StaleStateError(
                f"{self.description}: changed by another writer: {detail}{more}", written=written,
            )
        return Snapshot(states={**base.states, **changes}, token=None)

    def _put(self, client: Any, name: str, change: EventState) -> _WriteOutcome:
        if change.version < 1:
            raise ValueError(f"event {name!r}: a stored change needs version >= 1, got {change.version}")
        request: dict[str, Any] = {
            "TableName": self.table,
            "Item": {
                **self._key(name),
                VERSION: {"N": str(change.version)},
                STATE: {"S": change.model_dump_json(exclude={VERSION}, exclude_none=True)},
            },
            "ExpressionAttributeNames": {"#version": VERSION},
            # ALL_OLD hands back the winner's item on conflict (no extra read), for the message.
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if change.version == 1:
            # Absent item, or an upstream item that never had a version: both are version 0.
            request["ConditionExpression"] = "attribute_not_exists(#version)"
        else:
            request["ConditionExpression"] = "#version = :expected"
            request["ExpressionAttributeValues"] = {":expected": {"N": str(change.version - 1)}}
        try:
            client.put_item(**request)
        except Exception as exc:
            if aws.error_code(exc) == CONFLICT:
                # ALL_OLD is absent when the item is absent (and on servers that ignore it).
                old = getattr(exc, "response", {}).get("Item") or {}
                stored = (int(old[VERSION]["N"]) if VERSION in old else 0) if old else None
                return _WriteOutcome(name, stored_version=stored, conflict=True)
            try:
                self._raise_translated(exc, f"cannot write state for event {name!r}")
            except StoreUnavailableError as unavailable:
                return _WriteOutcome(name, error=unavailable)
        return _WriteOutcome(name)

    # -- helpers -----------------------------------------------------------------------

    def _key(self, name: str) -> dict[str, Any]:
        return {self.key_attribute: {"S": self.key_prefix + name}}

    def _in_parallel(self, work: Callable[[Any], Any], jobs: list[Any]) -> list[Any]:
        if len(jobs) <= 1 or self._max_workers == 1:
            return [work(job) for job in jobs]
        with ThreadPoolExecutor(max_workers=min(self._max_workers, len(jobs)),
                                thread_name_prefix="diva-dynamodb") as pool:
            return list(pool.map(work, jobs))

    def _raise_translated(self, exc: BaseException, doing: str) -> NoReturn:
        from botocore.exceptions import BotoCoreError, ClientError

        code = aws.error_code(exc)
        if isinstance(exc, ClientError):
            hint = f" (does table {self.table!r} exist in this account and region?)" if code == MISSING_TABLE else ""
            raise StoreUnavailableError(f"{self.description}: {doing} after retries: {code}{hint}: {exc}") from exc
        if isinstance(exc, BotoCoreError):
            raise StoreUnavailableError(f"{self.description}: {doing} after retries: {exc}") from exc
        raise exc


def _describe(table: str, key_attribute: str, key_prefix: str) -> str:
    query = []
    if key_attribute != "pk":
        query.append(f"key={key_attribute}")
    if key_prefix != ("state#" if key_attribute == "pk" else ""):
        query.append(f"prefix={key_prefix}")
    return f"dynamodb://{table}" + (f"?{'&'.join(query)}" if query else "")


def _backoff(round_number: int) -> float:
    """Full jitter, as AWS recommends for UnprocessedKeys."""
    return random.uniform(0, min(UNPROCESSED_BACKOFF_MAX, UNPROCESSED_BACKOFF_BASE * 2 ** round_number))


def _names(names: Iterable[str], limit: int = 5) -> str:
    names = list(names)
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
