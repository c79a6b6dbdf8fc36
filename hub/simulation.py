"""`diva sim`: hub and spokes in three accounts and two regions, on a local moto server.

- moto's server on 127.0.0.1 and a free port; every account is reached over HTTP with
  its own assumed-role credentials (AssumeRole into an account id switches moto's backend).
- Hub account 111111111111 (us-east-1): state/result table, alert topic (with a queue
  subscribed, to show what subscribers receive), the tick (run here, in this process).
- Spokes: the `DivaSpoke` template synthesized by the project's infra code, rolled out by a
  self-managed StackSet `diva-spokes` from the hub into accounts 222222222222 and
  333333333333 x regions eu-west-1 and us-east-1 (four instances, all CURRENT before the
  first tick; `hub.sim_infra`). Without aws_cdk or Node the spokes are created with boto3
  instead, and the output says so.
- Spoke A 222222222222 (eu-west-1) and spoke B 333333333333 (us-east-1), where the events
  run: each a worker process (`python -m spoke serve`) invoked by the hub over HTTP (moto
  cannot run Lambda code), with the deployed function's environment and the credentials of
  its deployed execution role (from the stack's outputs).
- The example (`hub.sim_events`): a pipeline carries orders from A's queue in eu-west-1 to
  B's queue in us-east-1. It breaks a quarter of the way through and is repaired later.
- Every tick's scheduled time is five simulated minutes after the last.

Exit code 0 when the story happened: an alert while broken, a recovery after the repair,
and every result key under the account of the spoke that wrote it.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from contracts.commands import ProbeResult, result_key
from contracts.placement import Target
from hub import sim_events, sim_infra

HUB = Target(account="111111111111", region="us-east-1")
SPOKES = (Target(**sim_events.EU_SHOP), Target(**sim_events.US_WAREHOUSE))
TABLE = "diva-hub"
HUB_ROLE_NAME, TICK_ROLE_NAME = "diva-hub-access", "diva-hub-tick"
HUB_ROLE = f"arn:aws:iam::{HUB.account}:role/{HUB_ROLE_NAME}"
TICK_ROLE = f"arn:aws:iam::{HUB.account}:role/{TICK_ROLE_NAME}"
EXTERNAL_ID = "diva-sim-external-id"
SPOKE_FUNCTION = "diva-spoke"
START = datetime(2026, 12, 4, 15, 0, tzinfo=timezone.utc)
PERIOD = timedelta(minutes=5)
BASE_CREDENTIALS = {"aws_access_key_id": "diva-sim", "aws_secret_access_key": "diva-sim"}
WORKER_START_TIMEOUT = 30.0


@dataclass
class Story:
    break_at: int
    repair_at: int

    def pipeline_ok(self, cycle: int) -> bool:
        return not (self.break_at <= cycle < self.repair_at)


def _story(cycles: int) -> Story:
    break_at = max(2, cycles // 4 + 1)
    return Story(break_at=break_at, repair_at=max(break_at + 3, cycles - 2))


def _session(account: str, region: str, endpoint: str, role: str = "diva-sim", session_name: str = "diva-sim") -> Any:
    """Credentials of `role` (a name, or an ARN) in `account`: moto switches to that account's backend."""
    import boto3

    base = boto3.session.Session(region_name=region, **BASE_CREDENTIALS)
    role_arn = role if role.startswith("arn:") else f"arn:aws:iam::{account}:role/{role}"
    credentials = base.client("sts", region_name=region, endpoint_url=endpoint).assume_role(
        RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]
    return boto3.session.Session(aws_access_key_id=credentials["AccessKeyId"],
                                 aws_secret_access_key=credentials["SecretAccessKey"],
                                 aws_session_token=credentials["SessionToken"], region_name=region)


class _Sim:
    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        self.hub = _session(HUB.account, HUB.region, endpoint)
        self.spokes = {target: _session(target.account, target.region, endpoint) for target in SPOKES}
        self.workers: list[subprocess.Popen] = []
        self.rollout = sim_infra.SpokeRollout(method="boto3")

    def client(self, session: Any, service: str, region: str) -> Any:
        return session.client(service, region_name=region, endpoint_url=self.endpoint)

    # -- resources (what the hub stack and the spoke StackSet would create) ---------------

    def create_hub(self) -> tuple[str, str]:
        dynamodb = self.client(self.hub, "dynamodb", HUB.region)
        dynamodb.create_table(TableName=TABLE, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                              AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                              BillingMode="PAY_PER_REQUEST")
        dynamodb.update_time_to_live(TableName=TABLE, TimeToLiveSpecification={
            "Enabled": True, "AttributeName": "expires_at"})
        sns = self.client(self.hub, "sns", HUB.region)
        topic = sns.create_topic(Name="diva-alerts")["TopicArn"]
        sqs = self.client(self.hub, "sqs", HUB.region)
        inbox = sqs.create_queue(QueueName="alert-inbox")["QueueUrl"]
        inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
        # The hub stack's two roles: the tick's own, and the one spokes assume to write results.
        iam = self.client(self.hub, "iam", HUB.region)
        for name, principal in ((TICK_ROLE_NAME, {"Service": "lambda.amazonaws.com"}),
                                (HUB_ROLE_NAME, {"AWS": [f"arn:aws:iam::{t.account}:root" for t in SPOKES]})):
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}]}))
        return topic, inbox

    def deploy_spokes(self) -> sim_infra.SpokeRollout:
        """The spoke template through the StackSet; boto3 only when CDK cannot synthesize here."""
        started = time.monotonic()
        reason = sim_infra.unavailable()
        if reason:
            self.rollout = sim_infra.SpokeRollout(
                method="boto3", note=f"spokes created with boto3, not by StackSet: {reason}",
                instances=[sim_infra.SpokeInstance(account=t.account, region=t.region, status="boto3")
                           for t in SPOKES])
        else:
            accounts = sorted({t.account for t in SPOKES})
            regions = sorted({t.region for t in SPOKES})
            config = sim_infra.sim_config(accounts=accounts, regions=regions, external_id=EXTERNAL_ID,
                                          events_module="hub.sim_events")
            template = sim_infra.synthesize_spoke_template(config)
            sim_infra.upload_code(self.hub, self.endpoint, regions)
            instances = sim_infra.deploy_spokes(
                hub=self.hub, hub_account=HUB.account, hub_region=HUB.region, endpoint=self.endpoint,
                template=template, accounts=accounts, regions=regions,
                session_for=lambda account, region, role: _session(account, region, self.endpoint, role),
                parameters={
                    "HubAccountId": HUB.account, "HubRegion": HUB.region, "HubTableName": TABLE,
                    "HubAccessRoleArn": HUB_ROLE, "HubInvokerRoleArn": TICK_ROLE, "ExternalId": EXTERNAL_ID,
                    "CodeBucketPrefix": sim_infra.CODE_PREFIX, "CodeKey": sim_infra.CODE_KEY,
                })
            self.rollout = sim_infra.SpokeRollout(method="stackset", stack_set=sim_infra.STACK_SET,
                                                  instances=instances)
        self.rollout.seconds = round(time.monotonic() - started, 1)
        return self.rollout

    def create_spoke_resources(self) -> None:
        eu, us = SPOKES
        eu_sqs = self.client(self.spokes[eu], "sqs", eu.region)
        for queue in (sim_events.INTAKE, sim_events.LEDGER):
            eu_sqs.create_queue(QueueName=queue)
        self.client(self.spokes[us], "sqs", us.region).create_queue(QueueName=sim_events.WAREHOUSE)

    def start_workers(self) -> dict[Target, str]:
        from hub.dispatch import spoke_function_arn

        urls: dict[Target, str] = {}
        for target in self.spokes:
            deployed = self.rollout.instance(target.account, target.region)
            if deployed is not None and deployed.function_arn:
                # As Lambda runs it: the deployed environment, the deployed execution role.
                function_name = deployed.function_arn.rsplit(":", 1)[1]
                session = _session(target.account, target.region, self.endpoint, deployed.role_arn, function_name)
                function_env = {**deployed.environment, "DIVA_SPOKE_FUNCTION_ARN": deployed.function_arn}
            else:  # boto3 fallback: what the template would have set
                session = self.spokes[target]
                function_env = {
                    "DIVA_EVENTS_MODULE": "hub.sim_events", "DIVA_HUB_TABLE": TABLE, "DIVA_HUB_REGION": HUB.region,
                    "DIVA_HUB_ROLE_ARN": HUB_ROLE, "DIVA_EXTERNAL_ID": EXTERNAL_ID, "DIVA_LOG_LEVEL": "WARNING",
                    "DIVA_SPOKE_FUNCTION_ARN": spoke_function_arn(target, SPOKE_FUNCTION),
                }
            credentials = session.get_credentials().get_frozen_credentials()
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DIVA_"))},
                **function_env,
                "AWS_ACCESS_KEY_ID": credentials.access_key, "AWS_SECRET_ACCESS_KEY": credentials.secret_key,
                "AWS_SESSION_TOKEN": credentials.token, "AWS_DEFAULT_REGION": target.region,
                "AWS_REGION": target.region, "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "DIVA_ENDPOINT_URL": self.endpoint,
            }
            self.workers.append(subprocess.Popen([sys.executable, "-m", "spoke", "serve"], env=env,
                                                 stdout=subprocess.PIPE, text=True))
        for target, worker in zip(self.spokes, self.workers):
            line = worker.stdout.readline() if worker.stdout else ""
            if not line.startswith("READY "):
                raise RuntimeError(f"spoke worker for {target} did not start (exit {worker.poll()})")
            urls[target] = f"http://127.0.0.1:{int(line.split()[1])}/"
        return urls

    def stop_workers(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                worker.terminate()
        for worker in self.workers:
            try:
                worker.wait(timeout=5)
            except subprocess.TimeoutExpired:
                worker.kill()

    # -- the monitored system ----------------------------------------------------------

    def business_traffic(self, cycle: int, pipeline_ok: bool) -> None:
        """A real order and a ledger entry every period; the pipeline moves orders if it works."""
        eu, us = SPOKES
        eu_sqs = self.client(self.spokes[eu], "sqs", eu.region)
        intake = eu_sqs.get_queue_url(QueueName=sim_events.INTAKE)["QueueUrl"]
        eu_sqs.send_message(QueueUrl=intake, MessageBody=json.dumps({"id": f"order-{cycle}"}))
        ledger = eu_sqs.get_queue_url(QueueName=sim_events.LEDGER)["QueueUrl"]
        eu_sqs.send_message(QueueUrl=ledger, MessageBody=json.dumps({"id": f"entry-{cycle}"}))
        if not pipeline_ok:
            return
        us_sqs = self.client(self.spokes[us], "sqs", us.region)
        warehouse = us_sqs.get_queue_url(QueueName=sim_events.WAREHOUSE)["QueueUrl"]
        while True:
            messages = eu_sqs.receive_message(QueueUrl=intake, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return
            for message in messages:
                us_sqs.send_message(QueueUrl=warehouse, MessageBody=message["Body"])
                eu_sqs.delete_message(QueueUrl=intake, ReceiptHandle=message["ReceiptHandle"])

    def received_alerts(self, inbox: str) -> list[dict]:
        sqs = self.client(self.hub, "sqs", HUB.region)
        received = []
        while True:
            messages = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return received
            for message in messages:
                body = json.loads(message["Body"])
                received.append({"subject": body.get("Subject"),
                                 "kind": body.get("MessageAttributes", {}).get("kind", {}).get("Value")})
                sqs.delete_message(QueueUrl=inbox, ReceiptHandle=message["ReceiptHandle"])

    def result(self, key: str) -> ProbeResult | None:
        item = self.client(self.hub, "dynamodb", HUB.region).get_item(
            TableName=TABLE, Key={"pk": {"S": key}}, ConsistentRead=True).get("Item")
        return ProbeResult.model_validate_json(item["result"]["S"]) if item else None

    def result_items(self) -> list[tuple[str, ProbeResult]]:
        dynamodb = self.client(self.hub, "dynamodb", HUB.region)
        items, start = [], None
        while True:
            page = dynamodb.scan(TableName=TABLE, **({"ExclusiveStartKey": start} if start else {}))
            items += [(i["pk"]["S"], ProbeResult.model_validate_json(i["result"]["S"]))
                      for i in page["Items"] if "result" in i]
            start = page.get("LastEvaluatedKey")
            if not start:
                return items


class _RecordingDispatcher:
    """The HTTP dispatcher, remembering which keys each spoke says it wrote."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.keys: dict[Target, list[str]] = {}

    def dispatch(self, target: Target, batch: Any, *, timeout: float) -> Any:
        reply = self.inner.dispatch(target, batch, timeout=timeout)
        self.keys.setdefault(target, []).extend(reply.get("keys_written", []))
        return reply


def _cycle_view(index: int, report: Any, sim: _Sim, placements: Any, pipeline_ok: bool,
                received: list[dict]) -> dict:
    results: dict[str, list[dict]] = {}
    for name, observation in sorted(report.observations.items()):
        for probe in (observation.detect, observation.inject):
            if probe is None:
                continue
            target = placements[name].target(probe.action)
            stored = sim.result(result_key(target.account, target.region, report.cycle_id, name, probe.action))
            token = stored.correlation_id if stored else None
            results.setdefault(str(target), []).append({
                "event": name, "action": probe.action, "outcome": probe.outcome, "reason": probe.reason,
                **({"token": token} if token else {}),
            })
    return {
        "cycle": index + 1,
        "cycle_id": report.cycle_id,
        "pipeline": "ok" if pipeline_ok else "broken",
        "results": results,
        "transitions": [{"event": t.event, "from": t.old, "to": t.new, "reason": t.reason}
                        for t in report.transitions],
        "alerts_sent": [{"event": d.event, "kind": d.kind, "to": list(d.delivered_to), "message": d.message}
                        for d in report.deliveries if d.kind != "recovery" and d.complete],
        "recoveries": [{"event": d.event, "to": list(d.delivered_to), "message": d.message}
                       for d in report.deliveries if d.kind == "recovery" and d.complete],
        "topic_subscriber_received": received,
    }


def _print_cycle(view: dict) -> None:
    print(f"cycle {view['cycle']}  {view['cycle_id']}  pipeline {view['pipeline']}")
    for where, results in sorted(view["results"].items()):
        for r in results:
            extra = f"  ({r['reason']})" if r["reason"] else ""
            # `verified` only when the detector confirmed the token; otherwise it is only the
            # token it was asked to look for (or the one an injection returned).
            verb = "verified" if r["action"] == "detect" and r["outcome"] == "ok" else "token"
            token = f"  {verb}={r['token']}" if r.get("token") else ""
            print(f"  {where:<26} {r['action']:<6} {r['event']:<26} {r['outcome']}{token}{extra}")
    for t in view["transitions"]:
        print(f"  state  {t['event']}: {t['from']} -> {t['to']} ({t['reason']})")
    for alert in view["alerts_sent"]:
        print(f"  ALERT sent to {'+'.join(alert['to'])}: {alert['message'].splitlines()[0]}")
    for recovery in view["recoveries"]:
        print(f"  RECOVERY sent to {'+'.join(recovery['to'])}: {recovery['message'].splitlines()[0]}")
    for message in view["topic_subscriber_received"]:
        print(f"  topic subscriber received: {message['subject']}")


def _reset_moto(endpoint: str) -> None:
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10).close()


def _print_rollout(rollout: sim_infra.SpokeRollout, workers: Any) -> None:
    if rollout.method == "stackset":
        print(f"spokes: StackSet {rollout.stack_set} (self-managed) from the synthesized DivaSpoke template, "
              f"{len(rollout.instances)} stack instances in {rollout.seconds}s")
    else:
        print(f"note: {rollout.note}")
    for instance in rollout.instances:
        worker = "  <- spoke worker" if (instance.account, instance.region) in workers else ""
        role = instance.role_arn.rsplit("/", 1)[-1]
        print(f"  {instance.account}/{instance.region:<10} {instance.status:<8} "
              f"{instance.stack_name or '-'}  role {role or '-'}{worker}")


def main(cycles: int = 8, as_json: bool = False) -> int:
    from moto.server import ThreadedMotoServer

    from diva_runtime.settings import Settings
    from hub.app import build_hub, load_events_and_targets
    from hub.dispatch import HttpDispatcher, spoke_function_arn
    from hub.metrics import RecordingMetrics

    if cycles < 1:
        print("diva sim: --cycles must be >= 1", file=sys.stderr)
        return 2
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # The log sink would print each alert a second time, out of order; the report shows it.
    logging.getLogger("diva.alerts").setLevel(logging.CRITICAL)
    started = time.monotonic()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    sim = None
    try:
        host, port = server.get_host_and_port()
        _reset_moto(f"http://{host}:{port}")  # the server shares this process's backends: start empty
        sim = _Sim(f"http://{host}:{port}")
        topic, inbox = sim.create_hub()
        sim.create_spoke_resources()
        rollout = sim.deploy_spokes()
        urls = sim.start_workers()
        if as_json and rollout.note:
            print(f"diva sim: note: {rollout.note}", file=sys.stderr)
        settings = Settings(mode="hub", state_url=f"dynamodb://{TABLE}", alert_topic_arn=topic,
                            region=HUB.region, endpoint_url=sim.endpoint, max_workers=8)
        events, targets = load_events_and_targets("hub.sim_events")
        dispatcher = _RecordingDispatcher(HttpDispatcher(urls))
        tick_session = _session(HUB.account, HUB.region, sim.endpoint, TICK_ROLE_NAME, "diva-hub")
        app = build_hub(settings, function_arn=spoke_function_arn(HUB, "diva-hub"), session=tick_session,
                        events=events, targets=targets, dispatcher=dispatcher, metrics=RecordingMetrics())
        story = _story(cycles)
        if not as_json:
            _print_rollout(rollout, {(t.account, t.region) for t in urls})
            print(f"moto on {sim.endpoint}; hub {HUB}; spokes {', '.join(map(str, SPOKES))}; "
                  f"pipeline breaks at cycle {story.break_at}, repaired at cycle {story.repair_at}")
        alerts = recoveries = 0
        for index in range(cycles):
            pipeline_ok = story.pipeline_ok(index + 1)
            sim.business_traffic(index + 1, pipeline_ok)
            tick = {"scheduled_time": (START + index * PERIOD).strftime("%Y-%m-%dT%H:%M:%SZ")}
            report = app.tick(tick, remaining_seconds=60)
            view = _cycle_view(index, report, sim, app.remote.placements, pipeline_ok, sim.received_alerts(inbox))
            alerts += len(view["alerts_sent"])
            recoveries += len(view["recoveries"])
            print(json.dumps(view)) if as_json else _print_cycle(view)

        foreign = [key for target, keys in dispatcher.keys.items() for key in keys
                   if not key.startswith(f"{target.account}#")]
        mismatched = [key for key, result in sim.result_items() if not key.startswith(f"{result.account}#")]
        summary = {
            "cycles": cycles, "alerts_sent": alerts, "recoveries": recoveries,
            "keys_written": {str(t): len(k) for t, k in dispatcher.keys.items()},
            "keys_outside_own_prefix": foreign + mismatched,
            "heartbeats": len(app.metrics.completed),
            "spokes": rollout.summary(),
            "seconds": round(time.monotonic() - started, 1),
        }
        if as_json:
            print(json.dumps({"summary": summary}))
        else:
            print(f"spokes wrote {sum(summary['keys_written'].values())} keys, "
                  f"{'all under their own account prefix' if not summary['keys_outside_own_prefix'] else 'SOME OUTSIDE THEIR PREFIX'}; "
                  f"{alerts} alert(s), {recoveries} recovery notice(s), {summary['heartbeats']} heartbeats, "
                  f"{summary['seconds']}s")
        story_told = cycles < story.repair_at or (alerts >= 1 and recoveries >= 1)
        return 0 if story_told and not summary["keys_outside_own_prefix"] else 1
    finally:
        if sim is not None:
            sim.stop_workers()
        server.stop()
