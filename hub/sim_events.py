"""The cross-region example `diva sim` monitors: orders from Europe reaching a US warehouse.

The system: a shop in account A (eu-west-1) puts orders on its `orders-intake` queue; a
pipeline carries them to the `orders-warehouse` queue of account B (us-east-1). DIVA injects
a synthetic order in A and detects its arrival in B, passing the order id from the injector
to the detector (the correlation token). A second event watches A's ledger queue in place.

Each probe runs in the spoke of its account and region, with that spoke's own
credentials; `DIVA_ENDPOINT_URL` points them at the simulation's moto server.
"""

from __future__ import annotations

import json
import os
import uuid

INTAKE = "orders-intake"
WAREHOUSE = "orders-warehouse"
LEDGER = "ledger"
EU_SHOP = {"account": "222222222222", "region": "eu-west-1"}
US_WAREHOUSE = {"account": "333333333333", "region": "us-east-1"}


def _sqs(region: str):
    import boto3

    return boto3.client("sqs", region_name=region, endpoint_url=os.environ.get("DIVA_ENDPOINT_URL"))


def _drain(region: str, queue: str) -> list[dict]:
    sqs = _sqs(region)
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    bodies = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def inject_order(name: str) -> str:
    order_id = f"synthetic-{uuid.uuid4().hex[:10]}"
    sqs = _sqs(EU_SHOP["region"])
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName=INTAKE)["QueueUrl"],
                     MessageBody=json.dumps({"id": order_id, "synthetic": True}))
    return order_id


def detect_order(name: str, token: str | None = None) -> bool:
    """Orders reached the warehouse since the last check; with a token, *that* order did."""
    arrived = _drain(US_WAREHOUSE["region"], WAREHOUSE)
    if token:
        return any(order.get("id") == token for order in arrived)
    return bool(arrived)


def detect_ledger(name: str) -> bool:
    return bool(_drain(EU_SHOP["region"], LEDGER))


def inject_ledger(name: str) -> None:
    sqs = _sqs(EU_SHOP["region"])
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName=LEDGER)["QueueUrl"],
                     MessageBody=json.dumps({"id": f"synthetic-{uuid.uuid4().hex[:10]}"}))


def get_targets():
    return {"eu-shop": EU_SHOP, "us-warehouse": US_WAREHOUSE}


def get_events():
    return {
        "eu-orders-to-us-warehouse": {
            "inject": inject_order,
            "detect": detect_order,
            "max_failures": 2,
            "timeout": 10,
            "placement": {"inject": "eu-shop", "detect": "us-warehouse"},
        },
        "eu-ledger": {
            "inject": inject_ledger,
            "detect": detect_ledger,
            "max_failures": 2,
            "timeout": 10,
            "placement": "eu-shop",
        },
    }
