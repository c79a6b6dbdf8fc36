"""What a real cycle costs a store: a healthy steady state reads and writes nothing back.

Given events that are all healthy, when the runtime's own `Cycle` runs twice on S3 or
DynamoDB (moto), then the first cycle creates the state and the second one, with nothing
changed, only reads: S3 one GetObject, DynamoDB ceil(N/100) BatchGetItem and no PutItem.
Requests are counted with a botocore hook on the store's own client, so retries count too.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from conftest import BUCKET, TABLE, create_table, dynamodb_client, s3_client
from contracts.options import parse_events
from diva_runtime.cycle import Cycle, InProcessProber
from diva_runtime.stores.dynamodb import DynamoDBStateStore
from diva_runtime.stores.s3 import S3StateStore

EVENTS = 150  # more than one BatchGetItem (100 keys each)
T0 = datetime(2026, 12, 4, 15, 40, tzinfo=timezone.utc)


def healthy(name: str) -> bool:
    return True


def count_requests(client: Any) -> Counter[str]:
    """Operation name -> requests sent, retries included."""
    sent: Counter[str] = Counter()

    def on_request(operation_name: str, **_: Any) -> None:
        sent[operation_name] += 1

    client.meta.events.register(f"request-created.{client.meta.service_model.service_id.hyphenize()}", on_request)
    return sent


def s3_store() -> S3StateStore:
    s3_client().create_bucket(Bucket=BUCKET)
    return S3StateStore(BUCKET, "diva/state.json", client=s3_client())


def dynamodb_store() -> DynamoDBStateStore:
    create_table(dynamodb_client())
    return DynamoDBStateStore(TABLE, client=dynamodb_client())


def run_twice(store: Any) -> tuple[Counter[str], Counter[str]]:
    """Requests of the first cycle and of the second, all events healthy in both."""
    events = parse_events({f"event-{i:03d}": {"detect": healthy, "role": "detect"} for i in range(EVENTS)})
    cycle = Cycle(events=events, store=store, prober=InProcessProber(events))
    sent = count_requests(store.client)
    per_cycle = []
    for n in range(2):
        now = T0 + timedelta(minutes=5 * n)
        sent.clear()
        report = cycle.run(cycle_id=now.strftime("%Y%m%dT%H%M%SZ"), now=now)
        assert {state.status for state in report.states.values()} == {"healthy"}
        assert not report.deliveries and not report.unfinished
        per_cycle.append(Counter(sent))
    return per_cycle[0], per_cycle[1]


def test_second_healthy_cycle_on_s3_reads_the_object_once_and_writes_nothing(mocked_aws):
    first, second = run_twice(s3_store())

    assert first == {"GetObject": 1, "PutObject": 1}  # every event is new: one write creates them all
    assert second == {"GetObject": 1}


def test_second_healthy_cycle_on_dynamodb_puts_no_item(mocked_aws):
    first, second = run_twice(dynamodb_store())

    assert first["PutItem"] == EVENTS  # every event is new: one item each
    assert second["PutItem"] == 0
    assert second == {"BatchGetItem": math.ceil(EVENTS / 100)}


@pytest.mark.parametrize("open_store", [s3_store, dynamodb_store], ids=["s3", "dynamodb"])
def test_healthy_cycle_leaves_stored_versions_as_they_were(mocked_aws, open_store):
    store = open_store()
    run_twice(store)

    assert {state.version for state in store.load().states.values()} == {1}
