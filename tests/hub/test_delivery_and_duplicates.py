"""Duplicated commands and ticks, missing and late results, foreign writes, outbox retries."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from contracts.commands import CommandBatch, ProbeCommand, ProbeResult
from contracts.options import parse_events
from hub.results import Expected, ResultReader
from spoke.writer import ForeignResultError
from tests.hub.world import HUB, SPOKE_A, SPOKE_B, TABLE, World, tick_event

CROSS = {"inject": SPOKE_A.model_dump(), "detect": SPOKE_B.model_dump()}
CYCLE_0 = "20261204T150000Z"


def _hub(world: World, **options):
    events = world.probes.events({"orders": CROSS}, **options)
    world.add_spoke(SPOKE_A, events)
    world.add_spoke(SPOKE_B, events)
    return world.hub(events)


def _count_invokes(world: World) -> list:
    calls: list = []
    world.before_spoke = lambda target, payload: calls.append(
        (target.account, [(c["event"], c["action"]) for c in payload["commands"]]))
    return calls


def _write_result(world: World, key: str, body: str) -> None:
    world.hub_session.client("dynamodb", region_name=HUB.region).put_item(
        TableName=TABLE, Item={"pk": {"S": key}, "result": {"S": body}})


def _result(**overrides) -> ProbeResult:
    fields = dict(event="orders", cycle_id=CYCLE_0, action="detect", outcome="ok",
                  started_at=datetime(2026, 12, 4, 15, tzinfo=timezone.utc), duration=0.1,
                  account=SPOKE_B.account, region=SPOKE_B.region)
    return ProbeResult(**{**fields, **overrides})


# -- duplicates -------------------------------------------------------------------------

def test_a_duplicated_tick_reuses_results_and_alerts_nothing_twice(world: World):
    hub = _hub(world, max_failures=1)
    world.probes.healthy["orders"] = False
    calls = _count_invokes(world)

    first = hub.tick(tick_event(0))
    again = hub.tick(tick_event(0))

    assert [d.kind for d in first.deliveries] == ["alert"]
    assert again.deliveries == [] and again.transitions == []
    assert again.skipped_duplicate == ["orders"]
    assert world.probes.injections == [("orders", "orders-token-1")]
    assert len(world.probes.alerts) == 1 and len(world.sns_messages()) == 1
    assert calls == [(SPOKE_B.account, [("orders", "detect")]), (SPOKE_A.account, [("orders", "inject")])]


def test_a_duplicated_tick_of_a_healthy_cycle_dispatches_nothing(world: World):
    hub = _hub(world)
    calls = _count_invokes(world)
    hub.tick(tick_event(0))
    hub.tick(tick_event(0))
    assert len(calls) == 1  # the second tick found the cycle's result in the table


def test_a_redelivered_command_runs_the_injection_once_and_writes_nothing_twice(world: World):
    hub = _hub(world)
    spoke = world.spokes[SPOKE_A]
    batch = CommandBatch(cycle_id=CYCLE_0, commands=(ProbeCommand(
        event="orders", cycle_id=CYCLE_0, action="inject", account=SPOKE_A.account, region=SPOKE_A.region),))
    payload = json.loads(batch.model_dump_json())
    arn = f"arn:aws:lambda:{SPOKE_A.region}:{SPOKE_A.account}:function:diva-spoke"

    first = spoke.invoke(payload, function_arn=arn)
    second = spoke.invoke(payload, function_arn=arn)

    assert (first["written"], second["written"]) == (1, 0)
    assert world.probes.injections == [("orders", "orders-token-1")]
    results = [i for i in world.table_items() if "#result#" in i["pk"]["S"]]
    assert len(results) == 1
    assert hub is not None


# -- missing and late results ------------------------------------------------------------

def test_a_spoke_that_does_not_answer_is_a_failed_probe_with_reason_no_result(world: World):
    hub = _hub(world, max_failures=2)
    world.drop = {SPOKE_B}
    first = hub.tick(tick_event(0))
    second = hub.tick(tick_event(1))

    detect = first.observations["orders"].detect
    assert (detect.outcome, detect.reason) == ("no_result", "no result")
    assert second.states["orders"].status == "alerting"
    assert second.states["orders"].last_error_reason == "no_result"
    assert [d.kind for d in second.deliveries] == ["alert"]


def test_a_late_result_for_an_old_cycle_is_not_applied_to_the_new_one(world: World):
    hub = _hub(world, max_failures=2)
    world.drop = {SPOKE_B}
    hub.tick(tick_event(0))
    # The spoke's answer for cycle 0 arrives after the hub gave up on it ...
    _write_result(world, f"{SPOKE_B.account}#result#{SPOKE_B.region}#{CYCLE_0}#orders#detect",
                  _result().model_dump_json())
    # ... and in cycle 1 the spoke is silent again.
    second = hub.tick(tick_event(1))

    assert second.observations["orders"].detect.outcome == "no_result"
    assert second.states["orders"].detection_failures == 2
    assert [d.kind for d in second.deliveries] == ["alert"]


# -- foreign writes ----------------------------------------------------------------------

def test_a_spoke_refuses_commands_for_another_account_or_region(world: World):
    _hub(world)
    spoke = world.spokes[SPOKE_A]
    commands = (
        ProbeCommand(event="orders", cycle_id=CYCLE_0, action="inject", account=SPOKE_B.account, region=SPOKE_A.region),
        ProbeCommand(event="orders", cycle_id=CYCLE_0, action="inject", account=SPOKE_A.account, region="us-west-2"),
    )
    reply = spoke.invoke(json.loads(CommandBatch(cycle_id=CYCLE_0, commands=commands).model_dump_json()),
                         function_arn=f"arn:aws:lambda:{SPOKE_A.region}:{SPOKE_A.account}:function:diva-spoke")

    assert len(reply["refused"]) == 2 and reply["written"] == 0
    assert world.probes.injections == []
    assert world.table_items() == []


def test_a_spoke_writer_refuses_a_result_for_another_account(world: World):
    _hub(world)
    writer = world.spokes[SPOKE_A].writer_for(type("Id", (), {"account": SPOKE_A.account, "region": SPOKE_A.region}))
    with pytest.raises(ForeignResultError):
        writer.write(_result(account=SPOKE_B.account), now=datetime.now(timezone.utc))
    assert world.table_items() == []


def test_the_hub_rejects_a_result_written_by_an_account_other_than_the_placement(world: World):
    hub = _hub(world, max_failures=1)
    # Stored under the detector's prefix, but claiming to come from account A.
    _write_result(world, f"{SPOKE_B.account}#result#{SPOKE_B.region}#{CYCLE_0}#orders#detect",
                  _result(account=SPOKE_A.account, region=SPOKE_A.region).model_dump_json())
    report = hub.tick(tick_event(0))

    detect = report.observations["orders"].detect
    assert detect.outcome == "error"
    assert "invalid result" in detect.reason and "placed in 333333333333/us-east-1" in detect.reason
    assert report.states["orders"].status == "alerting"


def test_a_spoke_in_another_region_of_the_placed_account_cannot_answer_for_the_event(world: World):
    hub = _hub(world, max_failures=1)
    other_region = "us-west-2"
    # Same account as the detector's placement, another region: its own slot is not read ...
    _write_result(world, f"{SPOKE_B.account}#result#{other_region}#{CYCLE_0}#orders#detect",
                  _result(region=other_region).model_dump_json())
    world.drop = {SPOKE_B}
    report = hub.tick(tick_event(0))
    assert report.observations["orders"].detect.outcome == "no_result"

    # ... and a result in the placed region's slot that claims another region is rejected.
    _write_result(world, f"{SPOKE_B.account}#result#{SPOKE_B.region}#20261204T150500Z#orders#detect",
                  _result(cycle_id="20261204T150500Z", region=other_region).model_dump_json())
    detect = hub.tick(tick_event(1)).observations["orders"].detect
    assert detect.outcome == "error"
    assert f"written by {SPOKE_B.account}/{other_region}, but the event's detect is placed in {SPOKE_B}" in detect.reason


def test_a_spoke_writer_refuses_a_result_for_another_region_of_its_account(world: World):
    _hub(world)
    writer = world.spokes[SPOKE_B].writer_for(type("Id", (), {"account": SPOKE_B.account, "region": SPOKE_B.region}))
    with pytest.raises(ForeignResultError, match="this spoke is 333333333333/us-east-1"):
        writer.write(_result(region="us-west-2"), now=datetime.now(timezone.utc))
    assert world.table_items() == []


@pytest.mark.parametrize(("body", "problem"), [
    ("{not json", "not a valid result"),
    (_result(schema_version=1).model_dump_json().replace('"schema_version":1', '"schema_version":9'),
     "not a valid result (schema_version"),
    (_result(event="payroll").model_dump_json(), "unknown event 'payroll'"),
    (_result(cycle_id="20261204T145500Z").model_dump_json(), "stored at the key of"),
    (_result(reason="x" * 1000, correlation_id="y" * 1024).model_dump_json() + " " * 3000, "more than the"),
])
def test_bad_results_are_recorded_as_errors_without_crashing(body: str, problem: str):
    reader = ResultReader(client=None, table=TABLE, known_events=["orders"])
    outcome = reader.judge({"pk": {"S": "x"}, "result": {"S": body}}, Expected("orders", "detect", SPOKE_B, CYCLE_0))
    assert outcome.outcome == "error"
    assert problem in outcome.reason


def test_a_long_non_ascii_reason_and_token_still_make_a_valid_result(world: World):
    def inject(name: str) -> str:
        return "注文" * 500  # 1000 characters, 3000 bytes of UTF-8

    def detect(name: str, token: str | None = None) -> bool:
        raise RuntimeError("障害が発生しました" * 112)  # 1008 characters

    placement = SPOKE_A.model_dump()
    events = parse_events({"orders": {"inject": inject, "detect": detect, "placement": placement}})
    world.add_spoke(SPOKE_A, events)
    commands = tuple(ProbeCommand(event="orders", cycle_id=CYCLE_0, action=action, account=SPOKE_A.account,
                                  region=SPOKE_A.region) for action in ("inject", "detect"))
    reply = world.spokes[SPOKE_A].invoke(
        json.loads(CommandBatch(cycle_id=CYCLE_0, commands=commands).model_dump_json()),
        function_arn=f"arn:aws:lambda:{SPOKE_A.region}:{SPOKE_A.account}:function:diva-spoke")
    assert reply["written"] == 2

    reader = ResultReader(client=world.hub_session.client("dynamodb", region_name=HUB.region), table=TABLE,
                          known_events=["orders"])
    outcomes = reader.read([Expected("orders", action, SPOKE_A, CYCLE_0) for action in ("inject", "detect")])
    inject_outcome, detect_outcome = (outcomes[Expected("orders", a, SPOKE_A, CYCLE_0)] for a in ("inject", "detect"))
    assert inject_outcome.outcome == "ok"
    assert inject_outcome.token.startswith("注文") and len(inject_outcome.token.encode()) <= 1024
    assert detect_outcome.outcome == "error" and "invalid result" not in detect_outcome.reason
    assert detect_outcome.reason.startswith("detect raised RuntimeError: 障害")
    assert len(detect_outcome.reason.encode()) <= 1000


# -- outbox retries ------------------------------------------------------------------------

class _FailingPublish:
    def __init__(self, client, failures: int):
        self._client, self.failures = client, failures

    def publish(self, **kwargs):
        if self.failures:
            self.failures -= 1
            raise RuntimeError("sns throttled")
        return self._client.publish(**kwargs)


def test_a_failed_sns_publish_is_retried_next_tick_and_the_function_is_not_called_again(world: World):
    hub = _hub(world, max_failures=1)
    sns_sink = hub.sinks("orders")[1]
    sns_sink.client = _FailingPublish(sns_sink.client, failures=1)
    world.probes.healthy["orders"] = False

    first = hub.tick(tick_event(0))
    assert first.deliveries[0].delivered_to == ("function",) and "sns" in first.deliveries[0].errors
    assert first.states["orders"].alerted is False and len(first.states["orders"].outbox) == 1

    second = hub.tick(tick_event(1))
    assert second.deliveries[0].delivered_to == ("function", "sns") and second.deliveries[0].complete
    assert second.states["orders"].alerted is True
    assert len(world.probes.alerts) == 1 and len(world.sns_messages()) == 1

    third = hub.tick(tick_event(2))
    assert third.deliveries == []


def test_a_failed_alert_function_is_retried_and_the_topic_is_not_sent_twice(world: World):
    hub = _hub(world, max_failures=1)
    world.probes.alert_fails = 2
    world.probes.healthy["orders"] = False

    reports = [hub.tick(tick_event(i)) for i in range(4)]

    assert [r.states["orders"].alerted for r in reports] == [False, False, True, True]
    assert len(world.probes.alerts) == 1
    assert len(world.sns_messages()) == 1
