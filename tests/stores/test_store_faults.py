"""Stores that fail on cue: throttling, outages, a writer slipping in between read and write.

The faults are AWS error responses injected into real boto3 clients (see store_faults.py),
so botocore's retries and our translation run as they would against AWS; moto's server
answers everything else. (Not in-process `mock_aws`: its hook runs on every send, so a
request answered with an injected fault would still reach moto's backend.) The rules: bounded retries, then a loud DIVA error naming the store; the
stored state is left as it was; a failed read is never taken for "no state"; a concurrent
writer is never overwritten.
"""

from __future__ import annotations

import pytest

import uuid
from dataclasses import dataclass
from typing import Any

from conftest import create_table, dynamodb_client, s3_client
from contracts.state import EventState
from diva_runtime import aws
from diva_core.errors import CorruptStateError, StaleStateError, StoreUnavailableError
from diva_runtime.persist import commit_with_rebase
from diva_runtime.stores.dynamodb import MAX_UNPROCESSED_ROUNDS, DynamoDBStateStore
from diva_runtime.stores.s3 import S3StateStore
from store_faults import (
    DYNAMODB_INTERNAL, S3_CONFLICT, S3_DENIED, S3_INTERNAL, SLOW_DOWN, THROTTLED, FaultPlan,
)

KEY = "diva/state.json"
ATTEMPTS = 1 + aws.RETRY_CONFIG["max_attempts"]  # botocore counts `max_attempts` as retries


def failed_once(states, name: str = "orders") -> dict[str, EventState]:
    current = states.get(name) or EventState(status="healthy")
    return {name: current.model_copy(update={
        "version": current.version + 1, "detection_failures": current.detection_failures + 1})}


@dataclass
class Backend:
    """This test's own bucket and table on the module's moto server."""

    endpoint: str
    name: str

    def s3_store(self, client: Any = None) -> S3StateStore:
        return S3StateStore(self.name, KEY, client=client or s3_client(self.endpoint))

    def dynamodb_store(self, client: Any = None, **options: Any) -> DynamoDBStateStore:
        return DynamoDBStateStore(self.name, client=client or dynamodb_client(self.endpoint),
                                  sleep=lambda seconds: None, **options)

    def stored_failures(self, store: Any) -> int:
        return store.load(["orders"]).states["orders"].detection_failures


@pytest.fixture
def backend(moto_server, no_backoff) -> Backend:
    return Backend(moto_server.endpoint_url, f"faults-{uuid.uuid4().hex[:12]}")


@pytest.fixture
def s3(backend):
    """Given an S3 state where 'orders' failed once, a store whose client fails on cue."""
    s3_client(backend.endpoint).create_bucket(Bucket=backend.name)
    seeded = backend.s3_store()
    seeded.commit(seeded.load(), failed_once({}))
    client = s3_client(backend.endpoint)
    return backend.s3_store(client), FaultPlan(client)


@pytest.fixture
def dynamodb(backend):
    """Given a DynamoDB state where 'orders' failed once, a store whose client fails on cue."""
    create_table(dynamodb_client(backend.endpoint), backend.name)
    seeded = backend.dynamodb_store()
    seeded.commit(seeded.load(["orders"]), failed_once({}))
    client = dynamodb_client(backend.endpoint)
    return backend.dynamodb_store(client), FaultPlan(client)


# -- throttling, then success ------------------------------------------------------------

def test_s3_throttled_twice_then_commits(s3, backend):
    store, faults = s3
    faults.fail("GetObject", SLOW_DOWN).fail("PutObject", SLOW_DOWN, SLOW_DOWN)

    commit_with_rebase(store, store.load(["orders"]), failed_once)

    assert (faults.sent["GetObject"], faults.sent["PutObject"]) == (2, 3)
    assert backend.stored_failures(backend.s3_store()) == 2


def test_dynamodb_throttled_twice_then_commits(dynamodb, backend):
    store, faults = dynamodb
    faults.fail("BatchGetItem", THROTTLED).fail("PutItem", THROTTLED, THROTTLED)

    commit_with_rebase(store, store.load(["orders"]), failed_once)

    assert (faults.sent["BatchGetItem"], faults.sent["PutItem"]) == (2, 3)
    assert backend.stored_failures(backend.dynamodb_store()) == 2


# -- throttled or down for good: fail loudly, change nothing -----------------------------

def test_s3_read_that_keeps_failing_is_an_error_naming_the_store_not_empty_state(s3, backend):
    store, faults = s3
    faults.always("GetObject", S3_INTERNAL)

    with pytest.raises(StoreUnavailableError, match=f"s3://{backend.name}/{KEY}"):
        store.load(["orders"])
    assert faults.sent["GetObject"] == ATTEMPTS


def test_s3_access_denied_on_read_is_an_error_not_empty_state(s3):
    store, faults = s3
    faults.always("GetObject", S3_DENIED)

    with pytest.raises(StoreUnavailableError, match="AccessDenied"):
        store.load(["orders"])


def test_dynamodb_read_that_stays_throttled_is_an_error_naming_the_table(dynamodb, backend):
    store, faults = dynamodb
    faults.always("BatchGetItem", THROTTLED)

    with pytest.raises(StoreUnavailableError, match=f"dynamodb://{backend.name}.*ProvisionedThroughputExceeded"):
        store.load(["orders"])
    assert faults.sent["BatchGetItem"] == ATTEMPTS


def test_s3_write_that_fails_after_a_good_read_leaves_the_state_as_it_was(s3, backend):
    store, faults = s3
    base = store.load(["orders"])
    faults.always("PutObject", SLOW_DOWN)

    with pytest.raises(StoreUnavailableError, match=f"s3://{backend.name}/{KEY}: cannot write state"):
        commit_with_rebase(store, base, failed_once)
    assert faults.sent["PutObject"] == ATTEMPTS
    assert backend.stored_failures(backend.s3_store()) == 1


def test_dynamodb_write_that_fails_after_a_good_read_leaves_the_state_as_it_was(dynamodb, backend):
    store, faults = dynamodb
    base = store.load(["orders"])
    faults.always("PutItem", DYNAMODB_INTERNAL)

    with pytest.raises(StoreUnavailableError, match=f"dynamodb://{backend.name}: cannot write state for 'orders'"):
        commit_with_rebase(store, base, failed_once)
    assert faults.sent["PutItem"] == ATTEMPTS
    assert backend.stored_failures(backend.dynamodb_store()) == 1


def test_dynamodb_write_failing_for_one_event_names_what_was_stored(backend):
    create_table(dynamodb_client(backend.endpoint), backend.name)
    client = dynamodb_client(backend.endpoint)
    store = backend.dynamodb_store(client, max_workers=1)  # one at a time: 'orders' goes first
    FaultPlan(client).fail("PutItem", *[DYNAMODB_INTERNAL] * ATTEMPTS)
    base = store.load(["orders", "payments"])

    with pytest.raises(StoreUnavailableError) as failure:
        store.commit(base, {**failed_once(base.states), **failed_once(base.states, "payments")})

    assert "cannot write state for 'orders'" in str(failure.value)
    assert "stored before the failure: 'payments'" in str(failure.value)
    assert set(backend.dynamodb_store().load(["orders", "payments"]).states) == {"payments"}


@pytest.mark.parametrize("kind", ["s3", "dynamodb"])
def test_unreachable_endpoint_fails_loudly_naming_the_store(kind, no_backoff):
    from tests.fixtures.aws_servers import free_port

    nowhere = Backend(f"http://127.0.0.1:{free_port()}", "unreachable")  # nothing listens there
    store = nowhere.s3_store() if kind == "s3" else nowhere.dynamodb_store()

    with pytest.raises(StoreUnavailableError, match=f"{kind}://unreachable"):
        store.load(["orders"])


def test_dynamodb_missing_table_says_so(backend):
    with pytest.raises(StoreUnavailableError, match=f"does table '{backend.name}' exist"):
        backend.dynamodb_store().load(["orders"])


def test_s3_object_that_is_not_diva_state_is_corrupt_and_left_untouched(s3, backend):
    store, _ = s3
    raw = s3_client(backend.endpoint)
    raw.put_object(Bucket=backend.name, Key=KEY, Body=b"{not json")

    with pytest.raises(CorruptStateError, match=f"s3://{backend.name}/{KEY}"):
        store.load(["orders"])
    assert raw.get_object(Bucket=backend.name, Key=KEY)["Body"].read() == b"{not json"


def test_dynamodb_item_that_is_not_diva_state_is_corrupt(dynamodb, backend):
    store, _ = dynamodb
    dynamodb_client(backend.endpoint).put_item(TableName=backend.name, Item={
        "pk": {"S": "state#orders"}, "version": {"N": "3"}, "state": {"S": "[1, 2]"}})

    with pytest.raises(CorruptStateError, match="event 'orders'"):
        store.load(["orders"])


# -- a concurrent writer between read and write ------------------------------------------

def test_s3_writer_slipping_in_between_read_and_write_is_built_on(s3, backend):
    store, faults = s3
    base = store.load(["orders"])
    rival = backend.s3_store()
    faults.before("PutObject", lambda: commit_with_rebase(rival, rival.load(["orders"]), failed_once))

    commit_with_rebase(store, base, failed_once)

    assert faults.sent["PutObject"] == 2  # refused once (412), then rebased
    assert backend.stored_failures(backend.s3_store()) == 3


def test_s3_conflict_409_is_stale_state_not_an_outage(s3, backend):
    store, faults = s3
    base = store.load(["orders"])
    faults.fail("PutObject", S3_CONFLICT)

    with pytest.raises(StaleStateError) as conflict:
        store.commit(base, failed_once(base.states))
    assert conflict.value.written == frozenset()
    assert backend.stored_failures(backend.s3_store()) == 1


def test_dynamodb_writer_slipping_in_between_read_and_write_is_built_on(dynamodb, backend):
    store, faults = dynamodb
    base = store.load(["orders"])
    rival = backend.dynamodb_store()
    faults.before("PutItem", lambda: commit_with_rebase(rival, rival.load(["orders"]), failed_once))

    with pytest.raises(StaleStateError, match=r"'orders' \(expected version 1, stored 2\)"):
        store.commit(base, failed_once(base.states))
    commit_with_rebase(store, base, failed_once)

    assert backend.stored_failures(backend.dynamodb_store()) == 3


# -- batching ----------------------------------------------------------------------------

def _defer_some_keys(client: Any, rounds: int, keep: int = 10) -> dict[str, int]:
    """Make BatchGetItem answer only `keep` keys per call, `rounds` times, as DynamoDB does
    when throttled or past 16 MB; the rest come back as UnprocessedKeys."""
    seen = {"calls": 0}

    def partial(parsed: dict, **_: Any) -> None:
        seen["calls"] += 1
        if seen["calls"] > rounds:
            return
        for table, items in parsed.get("Responses", {}).items():
            deferred = items[keep:]
            parsed["Responses"][table] = items[:keep]
            if deferred:
                parsed.setdefault("UnprocessedKeys", {})[table] = {
                    "Keys": [{"pk": item["pk"]} for item in deferred], "ConsistentRead": True}

    client.meta.events.register("after-call.dynamodb.BatchGetItem", partial)
    return seen


def _many_events(backend: Backend, count: int) -> list[str]:
    create_table(dynamodb_client(backend.endpoint), backend.name)
    writer = backend.dynamodb_store()
    names = [f"event-{i:03d}" for i in range(count)]
    writer.commit(writer.load([]), {name: EventState(status="healthy", version=1) for name in names})
    return names


def test_dynamodb_reads_in_batches_of_100_and_retries_unprocessed_keys(backend):
    names = _many_events(backend, 250)
    client = dynamodb_client(backend.endpoint)
    calls = _defer_some_keys(client, rounds=3)
    store = backend.dynamodb_store(client, max_workers=1)

    states = store.load([*names, "never-stored"]).states

    assert len(states) == 250
    assert calls["calls"] == 3 + 3  # three chunks (100, 100, 51), three of them answered in part


def test_dynamodb_gives_up_loudly_on_keys_that_stay_unprocessed(backend):
    names = _many_events(backend, 30)
    client = dynamodb_client(backend.endpoint)
    _defer_some_keys(client, rounds=10_000, keep=0)

    with pytest.raises(StoreUnavailableError, match=f"30 of 30 keys still unprocessed after {MAX_UNPROCESSED_ROUNDS}"):
        backend.dynamodb_store(client).load(names)
