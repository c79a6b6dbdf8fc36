"""Monolithic state: one JSON object in S3 holding every event, guarded by its ETag.

A cycle costs two requests: one GetObject (the document and its ETag) and, only if some
event changed, one PutObject conditional on that ETag (`IfMatch`), or on the object not
existing yet (`IfNoneMatch="*"`). A writer that lost the race gets 412 (or 409 when S3
saw two conditional writes at once) and nothing it sent is stored: the caller re-reads and
re-applies its per-event changes (`persist.commit_with_rebase`). A blind overwrite never
happens, and a failed read is never taken for "no state".
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

from pydantic import ValidationError

from contracts.state import EventState, dump_document, load_document
from diva_core.errors import CorruptStateError, StaleStateError, StoreUnavailableError
from diva_runtime import aws
from diva_runtime.stores.base import Snapshot

MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


@dataclass(frozen=True)
class DocumentSnapshot(Snapshot):
    """A snapshot that remembers the whole document it was read from.

    `states` may be narrowed to the events a caller asked for, but a commit rewrites the
    whole object, so it must carry every other event along untouched.
    """

    document: Mapping[str, EventState] = field(default_factory=dict)


class S3StateStore:
    def __init__(self, bucket: str, key: str, *, endpoint_url: str | None = None,
                 region: str | None = None, client: Any = None):
        self.bucket = bucket
        self.key = key
        self.description = f"s3://{bucket}/{key}"
        self._endpoint_url = endpoint_url
        self._region = region
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws.client("s3", endpoint_url=self._endpoint_url, region=self._region)
        return self._client

    def load(self, names: Collection[str] | None = None) -> Snapshot:
        document, etag = self._read()
        return _snapshot(document, etag, names)

    def commit(self, base: Snapshot, changes: Mapping[str, EventState]) -> Snapshot:
        if not changes:
            return base
        document = self._base_document(base)
        # The ETag already guards the whole object; checking each event's version against
        # the document it was derived from also catches a change built on another snapshot.
        stale = sorted(
            name for name, change in changes.items()
            if (document[name].version if name in document else 0) != change.version - 1
        )
        if stale:
            raise StaleStateError(
                f"{self.description}: changes for {_names(stale)} were not derived from the "
                "snapshot being committed; nothing was written"
            )
        merged = {**document, **changes}
        body = dump_document(merged)  # the file store's format: an object and a file are interchangeable
        condition = {"IfMatch": base.token} if base.token is not None else {"IfNoneMatch": "*"}
        try:
            response = self.client.put_object(
                Bucket=self.bucket, Key=self.key, Body=body,
                ContentType="application/json", **condition,
            )
        except Exception as exc:
            self._raise_translated(exc, "cannot write state")
        return DocumentSnapshot(states=merged, token=response.get("ETag"), document=merged)

    def _base_document(self, base: Snapshot) -> Mapping[str, EventState]:
        if isinstance(base, DocumentSnapshot):
            return base.document
        if base.token is None:
            if base.states:
                raise StaleStateError(f"{self.description}: snapshot has states but no ETag; re-read it")
            return {}
        # A snapshot built elsewhere may be a narrowed view: fetch the document it names
        # (IfMatch: if the object moved on since, that is a conflict, not a reason to guess).
        document, _ = self._read(if_match=base.token)
        return document

    def _read(self, if_match: str | None = None) -> tuple[dict[str, EventState], str | None]:
        extra = {"IfMatch": if_match} if if_match else {}
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.key, **extra)
            raw = response["Body"].read()
        except Exception as exc:
            if aws.error_code(exc) in MISSING_CODES:
                return {}, None
            self._raise_translated(exc, "cannot read state")
        try:
            document = load_document(raw)
        except (ValidationError, ValueError) as exc:
            first = " ".join(str(exc).splitlines()[0:3])
            raise CorruptStateError(
                f"{self.description}: object is not valid DIVA state ({first}); "
                "it was left untouched: fix or move it away"
            ) from exc
        return document, response.get("ETag")

    def _raise_translated(self, exc: BaseException, doing: str) -> NoReturn:
        code = aws.error_code(exc)
        if code in aws.CONFLICT_CODES:
            raise StaleStateError(
                f"{self.description}: changed by another writer ({code}); nothing was written"
            ) from exc
        if _is_aws_error(exc):
            raise StoreUnavailableError(
                f"{self.description}: {doing} after retries: {code or type(exc).__name__}: {exc}"
            ) from exc
        raise exc


def _snapshot(document: Mapping[str, EventState], etag: str | None,
              names: Collection[str] | None) -> DocumentSnapshot:
    states = dict(document) if names is None else {n: document[n] for n in names if n in document}
    return DocumentSnapshot(states=states, token=etag, document=dict(document))


def _is_aws_error(exc: BaseException) -> bool:
    from botocore.exceptions import BotoCoreError, ClientError

    return isinstance(exc, (BotoCoreError, ClientError))


def _names(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
