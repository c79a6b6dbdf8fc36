"""Upstream DIVA users keep their counters when they switch to DIVA's stores.

Upstream kept `{event_name: {counters}}` in one S3 object and DynamoDB items keyed
`event_id` with the counters as attributes, neither with a version.
"""

from __future__ import annotations

import json

import pytest

from conftest import BUCKET, create_table, dynamodb_client, s3_client
from diva_core.errors import StaleStateError
from diva_runtime.stores import open_store
from diva_runtime.stores.dynamodb import DynamoDBStateStore
from diva_runtime.stores.s3 import S3StateStore

UPSTREAM_COUNTERS = {"detection_failures": 2, "injection_failures": 0, "injected": True, "alerted": False,
                     "cooldown_counter": 0, "in_warmup": False, "warmup_counter": 0}


def test_upstream_s3_object_loads_its_counters_and_is_upgraded_on_first_write(mocked_aws):
    s3_client().create_bucket(Bucket=BUCKET)
    s3_client().put_object(Bucket=BUCKET, Key="diva.json", Body=json.dumps({"orders": UPSTREAM_COUNTERS}))
    store = S3StateStore(BUCKET, "diva.json", client=s3_client())

    base = store.load(["orders"])
    orders = base.states["orders"]
    assert (orders.version, orders.status, orders.detection_failures, orders.injected) == (0, "failing", 2, True)

    store.commit(base, {"orders": orders.model_copy(update={"version": 1, "detection_failures": 3})})
    assert store.load(["orders"]).states["orders"].detection_failures == 3
    assert b'"schema_version"' in s3_client().get_object(Bucket=BUCKET, Key="diva.json")["Body"].read()


def _upstream_table() -> None:
    client = dynamodb_client()
    create_table(client, "diva-upstream", key="event_id")
    client.put_item(TableName="diva-upstream", Item={
        "event_id": {"S": "orders"},
        **{k: ({"BOOL": v} if isinstance(v, bool) else {"N": str(v)}) for k, v in UPSTREAM_COUNTERS.items()},
    })


def test_upstream_dynamodb_item_loads_its_counters_through_the_url(mocked_aws):
    _upstream_table()
    store = open_store("dynamodb://diva-upstream?key=event_id", region="us-east-1")

    orders = store.load(["orders", "payments"]).states["orders"]
    assert (orders.version, orders.status, orders.detection_failures, orders.injected) == (0, "failing", 2, True)


def test_first_write_to_an_upstream_item_takes_it_over_exactly_once(mocked_aws):
    _upstream_table()
    first = DynamoDBStateStore("diva-upstream", client=dynamodb_client(), key_attribute="event_id", key_prefix="")
    second = DynamoDBStateStore("diva-upstream", client=dynamodb_client(), key_attribute="event_id", key_prefix="")
    base_first, base_second = first.load(["orders"]), second.load(["orders"])

    upgraded = base_first.states["orders"].model_copy(update={"version": 1, "detection_failures": 3})
    first.commit(base_first, {"orders": upgraded})
    with pytest.raises(StaleStateError):
        second.commit(base_second, {"orders": base_second.states["orders"].model_copy(update={"version": 1})})

    assert first.load(["orders"]).states["orders"] == upgraded
