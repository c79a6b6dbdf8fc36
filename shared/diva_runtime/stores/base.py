"""The state store port: load a snapshot, commit changed events with compare-and-set.

Every adapter (file, S3, DynamoDB) implements these two methods and raises only DIVA's
errors (`diva_core.errors`). The same contract test suite runs against all of them
(tests/stores/test_store_contract.py).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from contracts.state import EventState


@dataclass(frozen=True)
class Snapshot:
    """What a store held when it was read.

    `token` is the store's own concurrency marker for the whole snapshot (an S3 ETag, a
    file's content digest); stores that check versions per event leave it None.
    """

    states: Mapping[str, EventState] = field(default_factory=dict)
    token: str | None = None


@runtime_checkable
class StateStore(Protocol):
    description: str
    """Where the state lives, for messages: `file:/x/state.json`, `s3://b/k`, `dynamodb://t`."""

    def load(self, names: Collection[str] | None = None) -> Snapshot:
        """Read the stored states (all, or just `names`).

        A missing state (no file, no object, no item) is an empty snapshot. Raises
        `CorruptStateError` for content that cannot be parsed and `StoreUnavailableError`
        when the store cannot be read after bounded retries; never returns empty state for
        a failed read.
        """

    def commit(self, base: Snapshot, changes: Mapping[str, EventState]) -> Snapshot:
        """Store `changes`, each of which must carry `version == stored version + 1`
        (version 1 creates an event). Unchanged events are not written.

        Raises `StaleStateError` if another writer got there first (nothing of the
        conflicting events is written; `written` names events that were), and
        `StoreUnavailableError` after bounded retries. Returns the snapshot after the commit.
        """
