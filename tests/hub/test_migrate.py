"""`diva migrate`: an upstream user's DynamoDB counters move into the hub's table, once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from diva_runtime.stores.dynamodb import DynamoDBStateStore
from hub.migrate import main

UPSTREAM = "diva-upstream"
HUB_TABLE = "diva-hub"
COUNTERS = {"detection_failures": 2, "injection_failures": 1, "injected": True, "alerted": False,
            "cooldown_counter": 0, "in_warmup": False, "warmup_counter": 0}


@pytest.fixture
def tables() -> Iterator[object]:
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        for table, key in ((UPSTREAM, "event_id"), (HUB_TABLE, "pk")):
            client.create_table(TableName=table, KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                                AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                                BillingMode="PAY_PER_REQUEST")
        for name in ("orders", "retired"):  # "retired" is no longer in the events module
            client.put_item(TableName=UPSTREAM, Item={
                "event_id": {"S": name},
                **{k: ({"BOOL": v} if isinstance(v, bool) else {"N": str(v)}) for k, v in COUNTERS.items()},
            })
        yield client


@pytest.fixture
def event_logic(tmp_path: Path) -> str:
    path = tmp_path / "event_logic.py"
    path.write_text(
        "def detect(name):\n    return True\n\n"
        "def inject(name):\n    return True\n\n"
        "def get_events():\n"
        "    return {name: {'detect': detect, 'inject': inject, 'max_failed_detections': 3}\n"
        "            for name in ('orders', 'payments')}\n"
    )
    return str(path)


def _argv(event_logic: str, *extra: str) -> list[str]:
    return ["--events", event_logic, "--from", f"dynamodb://{UPSTREAM}?key=event_id",
            "--to", f"dynamodb://{HUB_TABLE}", "--region", "us-east-1", *extra]


def test_upstream_counters_are_copied_into_the_hub_table_under_state_keys(tables, event_logic, capsys):
    assert main(_argv(event_logic)) == 0

    out = capsys.readouterr().out
    assert "copied  orders: status failing, detection_failures 2, injection_failures 1" in out
    assert "absent  payments" in out and "retired" not in out
    keys = sorted(item["pk"]["S"] for item in tables.scan(TableName=HUB_TABLE)["Items"])
    assert keys == ["state#orders"]
    orders = DynamoDBStateStore(HUB_TABLE, client=tables).load(["orders"]).states["orders"]
    assert (orders.version, orders.status, orders.detection_failures, orders.injection_failures, orders.injected) == (
        1, "failing", 2, 1, True)
    # the source is left as it was
    assert "state" not in tables.get_item(TableName=UPSTREAM, Key={"event_id": {"S": "orders"}})["Item"]


def test_an_event_already_in_the_target_is_kept_unless_forced(tables, event_logic, capsys):
    hub = DynamoDBStateStore(HUB_TABLE, client=tables)
    assert main(_argv(event_logic)) == 0
    base = hub.load(["orders"])
    hub.commit(base, {"orders": base.states["orders"].model_copy(update={"version": 2, "detection_failures": 0,
                                                                          "status": "healthy"})})
    capsys.readouterr()

    assert main(_argv(event_logic)) == 1
    assert "kept    orders: already in dynamodb://diva-hub; not overwritten (use --force)" in capsys.readouterr().out
    assert hub.load(["orders"]).states["orders"].detection_failures == 0

    assert main(_argv(event_logic, "--force")) == 0
    forced = hub.load(["orders"]).states["orders"]
    assert (forced.version, forced.detection_failures) == (3, 2)


def test_a_bad_url_or_the_same_store_twice_is_a_config_error(tables, event_logic, capsys):
    assert main(["--events", event_logic, "--from", "ftp://x", "--to", f"dynamodb://{HUB_TABLE}"]) == 2
    assert "unknown store" in capsys.readouterr().err
    assert main(["--events", event_logic, "--from", f"dynamodb://{HUB_TABLE}", "--to", f"dynamodb://{HUB_TABLE}"]) == 2
    assert "same store" in capsys.readouterr().err
