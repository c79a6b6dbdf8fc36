"""The Lambda entry points: settings from the environment, one code path, EMF metrics."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from dataclasses import dataclass

import boto3
import pytest
from botocore.stub import Stubber

import hub.handler
import spoke.handler
from contracts.commands import CommandBatch, ProbeCommand
from contracts.placement import Target
from hub.dispatch import LambdaDispatcher
from tests.hub import handler_events


@dataclass
class Context:
    invoked_function_arn: str
    remaining_ms: int = 60_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def fresh_handlers(monkeypatch):
    monkeypatch.setattr(hub.handler, "_app", None)
    monkeypatch.setattr(spoke.handler, "_app", None)
    handler_events.SYSTEM.update(healthy=True, alerts=[])


def test_the_monolithic_handler_runs_the_cycle_on_s3_and_emits_a_heartbeat(monkeypatch, fresh_handlers):
    from moto import mock_aws

    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="diva-state")
        monkeypatch.setenv("DIVA_MODE", "monolithic")
        monkeypatch.setenv("DIVA_STATE_URL", "s3://diva-state/state.json")
        monkeypatch.setenv("DIVA_EVENTS_MODULE", "tests.hub.handler_events")
        monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "payments-diva")
        context = Context("arn:aws:lambda:us-east-1:123456789012:function:diva")
        handler_events.SYSTEM["healthy"] = False
        out = io.StringIO()
        with redirect_stdout(out):
            first = hub.handler.handler({"scheduled_time": "2026-12-04T15:00:00Z"}, context)
            again = hub.handler.handler({"scheduled_time": "2026-12-04T15:00:00Z"}, context)

        assert first["alerts_sent"] == 1 and first["transitions"]
        assert again["alerts_sent"] == 0 and again["skipped_duplicate"] == 1
        assert len(handler_events.SYSTEM["alerts"]) == 1
        stored = json.loads(boto3.client("s3", region_name="us-east-1").get_object(
            Bucket="diva-state", Key="state.json")["Body"].read())
        assert stored["events"]["checkout"]["status"] == "alerting"
    records = [json.loads(line) for line in out.getvalue().splitlines() if '"_aws"' in line]
    names = {m["Name"] for r in records for d in r["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert {"Heartbeat", "TickDuration", "EventsHealthy", "EventsFailing", "AlertsSent"} <= names
    assert all(r["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "DIVA" for r in records)
    # the dashboard and alarms select on service=<lambda_name>, which the stack sets
    assert all(r["service"] == "payments-diva" for r in records)


def test_a_bad_setting_fails_the_invocation_naming_the_variable(monkeypatch, fresh_handlers):
    from diva_core.errors import ConfigError

    monkeypatch.setenv("DIVA_MODE", "hub")
    monkeypatch.setenv("DIVA_STATE_URL", "dynamodb://t")
    monkeypatch.setenv("DIVA_MAX_WORKERS", "lots")
    with pytest.raises(ConfigError, match="DIVA_MAX_WORKERS"):
        hub.handler.handler({}, Context("arn:aws:lambda:us-east-1:111111111111:function:diva"))


def test_the_spoke_handler_takes_its_account_from_its_own_function_arn(monkeypatch, fresh_handlers):
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(TableName="hub", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                            BillingMode="PAY_PER_REQUEST")
        for name, value in {"DIVA_HUB_TABLE": "hub", "DIVA_HUB_REGION": "us-east-1",
                            "DIVA_EVENTS_MODULE": "tests.hub.handler_events", "DIVA_HUB_ROLE_ARN": ""}.items():
            monkeypatch.setenv(name, value)
        command = ProbeCommand(event="checkout", cycle_id="c1", action="detect", account="123456789012",
                               region="eu-west-1")
        payload = json.loads(CommandBatch(cycle_id="c1", commands=(command,)).model_dump_json())
        reply = spoke.handler.handler(payload, Context("arn:aws:lambda:eu-west-1:123456789012:function:diva-spoke"))

        assert (reply["account"], reply["region"], reply["written"]) == ("123456789012", "eu-west-1", 1)
        keys = [item["pk"]["S"] for item in client.scan(TableName="hub")["Items"]]
        assert keys == ["123456789012#result#eu-west-1#c1#checkout#detect"]


def test_the_lambda_dispatcher_invokes_the_spoke_function_cross_account_synchronously():
    dispatcher = LambdaDispatcher(function_name="diva-spoke", session=boto3.session.Session(
        aws_access_key_id="x", aws_secret_access_key="y"))
    target = Target(account="222222222222", region="eu-west-1")
    client = dispatcher._client(target.region, 30)
    batch = CommandBatch(cycle_id="c1", commands=())
    with Stubber(client) as stub:
        stub.add_response("invoke", {"StatusCode": 200, "Payload": io.BytesIO(b'{"written": 0}')}, {
            "FunctionName": "arn:aws:lambda:eu-west-1:222222222222:function:diva-spoke",
            "InvocationType": "RequestResponse", "Payload": batch.model_dump_json().encode()})
        assert dispatcher.dispatch(target, batch, timeout=30) == {"written": 0}


def test_the_lambda_dispatcher_never_retries_an_invoke_so_a_slow_spoke_runs_its_probes_once():
    from botocore.exceptions import ReadTimeoutError

    dispatcher = LambdaDispatcher(function_name="diva-spoke", session=boto3.session.Session(
        aws_access_key_id="x", aws_secret_access_key="y"))
    target = Target(account="222222222222", region="eu-west-1")
    client = dispatcher._client(target.region, 30)
    assert client.meta.config.retries["total_max_attempts"] == 1
    sends: list[str] = []

    def time_out(request, **_):
        sends.append(request.url)
        raise ReadTimeoutError(endpoint_url=request.url)

    client.meta.events.register("before-send.lambda.Invoke", time_out)
    with pytest.raises(Exception, match="ReadTimeout"):
        dispatcher.dispatch(target, CommandBatch(cycle_id="c1", commands=()), timeout=30)
    assert len(sends) == 1


def test_an_upstream_event_logic_module_runs_unchanged_through_monolithic_ticks(monkeypatch, fresh_handlers,
                                                                                 tmp_path):
    import shutil
    import sys
    from pathlib import Path
    from types import SimpleNamespace

    from moto import mock_aws

    # Bundled the way `event_logic_path` bundles it: a top-level module named `event_logic`.
    shutil.copy(Path(__file__).parents[1] / "fixtures" / "upstream_event_logic.py", tmp_path / "event_logic.py")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "event_logic", raising=False)
    context = Context("arn:aws:lambda:us-east-1:123456789012:function:diva")
    printed = io.StringIO()

    def tick(minute: int) -> dict:
        with redirect_stdout(printed):
            return hub.handler.handler({"scheduled_time": f"2026-12-04T15:{minute:02d}:00Z"}, context)

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="diva-state")
        for name, value in {"DIVA_MODE": "monolithic", "DIVA_STATE_URL": "s3://diva-state/diva/state.json",
                            "DIVA_EVENTS_MODULE": "event_logic"}.items():
            monkeypatch.setenv(name, value)
        healthy = [tick(0), tick(5)]
        # the upstream detect (`random.random() < 2`) now returns False
        monkeypatch.setattr(sys.modules["event_logic"], "random", SimpleNamespace(random=lambda: 5.0))
        broken = tick(10)
        stored = json.loads(s3.get_object(Bucket="diva-state", Key="diva/state.json")["Body"].read())["events"]

    calls = sys.modules["event_logic"].STATE["calls"]
    assert calls[:6] == [("detect", "payments_cooldown"), ("inject", "kafka_inject_only"),
                         ("detect", "audit_detect_only")] * 2
    # warmup.success_threshold 2: two healthy detections end the warmup
    assert healthy[0]["transitions"] == ["payments_cooldown: new -> warmup (warmup started)",
                                         "kafka_inject_only: new -> healthy (first check)",
                                         "audit_detect_only: new -> healthy (first check)"]
    assert healthy[1]["transitions"] == ["payments_cooldown: warmup -> healthy (warmup complete)"]
    # A failed detection injects, and max_failed_detections 3 holds the alert back; the
    # detect-only event (seed default threshold 1) alerts through the upstream alert function.
    assert ("inject", "payments_cooldown") in calls[6:]
    assert stored["payments_cooldown"]["status"] == "failing"
    assert stored["payments_cooldown"]["detection_failures"] == 1
    assert stored["audit_detect_only"]["status"] == "alerting"
    assert broken["alerts_sent"] == 1 and broken["unfinished"] == []
    assert "UPSTREAM ALERT" in printed.getvalue() and "audit_detect_only" in printed.getvalue()
