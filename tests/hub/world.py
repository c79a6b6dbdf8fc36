"""A hub account and spoke accounts under moto, with switchable probes, for the hub tests.

Accounts are simulated the way moto allows: AssumeRole into another account id switches
to that account's backend. The hub table and topic live in the hub account; each spoke
runs with its own account's credentials and assumes the hub role to write results.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3

from contracts.options import parse_events
from contracts.placement import Target
from diva_runtime.settings import Settings
from hub.app import HubApp, build_hub
from hub.dispatch import InProcessDispatcher, spoke_function_arn
from hub.metrics import RecordingMetrics
from spoke.app import SpokeApp

HUB = Target(account="111111111111", region="us-east-1")
SPOKE_A = Target(account="222222222222", region="eu-west-1")
SPOKE_B = Target(account="333333333333", region="us-east-1")
TABLE = "diva-hub"
HUB_ROLE = f"arn:aws:iam::{HUB.account}:role/diva-hub-access"
EXTERNAL_ID = "diva-test-external-id"
FUNCTION = "diva-spoke"
START = datetime(2026, 12, 4, 15, 0, tzinfo=timezone.utc)
PERIOD = timedelta(minutes=5)


def session_for(account: str, region: str, base: Any = None) -> Any:
    sts = (base or boto3.session.Session(region_name=region)).client("sts", region_name=region)
    credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/diva-test", RoleSessionName="diva-test")[
        "Credentials"]
    return boto3.session.Session(aws_access_key_id=credentials["AccessKeyId"],
                                 aws_secret_access_key=credentials["SecretAccessKey"],
                                 aws_session_token=credentials["SessionToken"], region_name=region)


def tick_event(index: int) -> dict[str, str]:
    return {"scheduled_time": (START + index * PERIOD).strftime("%Y-%m-%dT%H:%M:%SZ")}


@dataclass
class Probes:
    """The monitored system: per event, whether it works, and what the probes saw."""

    healthy: dict[str, bool] = field(default_factory=dict)
    injections: list[tuple[str, str]] = field(default_factory=list)
    detections: list[tuple[str, str | None]] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    alert_fails: int = 0

    def detect(self, name: str, token: str | None = None) -> bool:
        self.detections.append((name, token))
        return self.healthy.get(name, True)

    def inject(self, name: str) -> str:
        token = f"{name}-token-{len(self.injections) + 1}"
        self.injections.append((name, token))
        return token

    def alert(self, message: str) -> None:
        if self.alert_fails:
            self.alert_fails -= 1
            raise RuntimeError("alert endpoint down")
        self.alerts.append(message)

    def events(self, placements: dict[str, Any], **options: Any) -> dict:
        return parse_events({
            name: {"detect": self.detect, "inject": self.inject, "alert": self.alert, "max_failures": 2,
                   "placement": placement, **options}
            for name, placement in placements.items()
        })


@dataclass
class World:
    hub_session: Any
    topic_arn: str
    queue_url: str
    probes: Probes
    spokes: dict[Target, SpokeApp] = field(default_factory=dict)
    writers: list[Any] = field(default_factory=list)
    drop: set[Target] = field(default_factory=set)
    """Spokes that take the command but never answer (and write nothing)."""
    before_spoke: Callable[[Target, dict], None] | None = None

    def add_spoke(self, target: Target, events: dict) -> SpokeApp:
        settings = Settings(hub_table=TABLE, hub_region=HUB.region, hub_role_arn=HUB_ROLE,
                            external_id=EXTERNAL_ID, max_workers=8)
        app = SpokeApp(settings=settings, events=events, base_session=session_for(target.account, target.region),
                       on_writer=self.writers.append)
        self.spokes[target] = app
        return app

    def invoke_spoke(self, target: Target) -> Callable[[dict, float], dict]:
        def invoke(payload: dict, timeout: float) -> dict:
            if self.before_spoke:
                self.before_spoke(target, payload)
            if target in self.drop:
                return {}
            return self.spokes[target].invoke(payload, function_arn=spoke_function_arn(target, FUNCTION),
                                              remaining_seconds=timeout)
        return invoke

    def hub(self, events: dict, *, mode: str = "hub", state_url: str | None = None, **settings: Any) -> HubApp:
        settings = Settings(mode=mode, state_url=state_url or f"dynamodb://{TABLE}", alert_topic_arn=self.topic_arn,
                            region=HUB.region, max_workers=8, **settings)
        dispatcher = InProcessDispatcher({target: self.invoke_spoke(target) for target in self.spokes})
        return build_hub(settings, function_arn=spoke_function_arn(HUB, "diva-hub"), session=self.hub_session,
                         events=events, targets={}, dispatcher=dispatcher, metrics=RecordingMetrics())

    def sns_messages(self) -> list[dict]:
        sqs = self.hub_session.client("sqs", region_name=HUB.region)
        messages = []
        while True:
            batch = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return messages
            for message in batch:
                messages.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def table_items(self) -> list[dict]:
        client = self.hub_session.client("dynamodb", region_name=HUB.region)
        return client.scan(TableName=TABLE)["Items"]


def build_world(probes: Probes | None = None) -> World:
    hub_session = session_for(HUB.account, HUB.region)
    dynamodb = hub_session.client("dynamodb", region_name=HUB.region)
    dynamodb.create_table(TableName=TABLE, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                          BillingMode="PAY_PER_REQUEST")
    sns = hub_session.client("sns", region_name=HUB.region)
    topic_arn = sns.create_topic(Name="diva-alerts")["TopicArn"]
    sqs = hub_session.client("sqs", region_name=HUB.region)
    queue_url = sqs.create_queue(QueueName="alert-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return World(hub_session=hub_session, topic_arn=topic_arn, queue_url=queue_url, probes=probes or Probes())
