"""Hub and spokes in several accounts, in process under moto: the distributed cycle."""

from __future__ import annotations

import json

from contracts.commands import ProbeResult
from tests.hub.world import HUB, SPOKE_A, SPOKE_B, World, tick_event

CROSS = {"inject": SPOKE_A.model_dump(), "detect": SPOKE_B.model_dump()}


def _world_with(world: World, **options):
    events = world.probes.events({"orders": CROSS, "billing": SPOKE_B.model_dump()}, **options)
    world.add_spoke(SPOKE_A, events)
    world.add_spoke(SPOKE_B, events)
    return world.hub(events), events


def test_healthy_events_are_detected_in_their_placed_account_and_region(world: World):
    hub, _ = _world_with(world)
    report = hub.tick(tick_event(0))

    assert {name: obs.detect.outcome for name, obs in report.observations.items()} == {
        "orders": "ok", "billing": "ok"}
    keys = sorted(item["pk"]["S"] for item in world.table_items() if "#result#" in item["pk"]["S"])
    assert keys == [f"{SPOKE_B.account}#result#{SPOKE_B.region}#20261204T150000Z#billing#detect",
                    f"{SPOKE_B.account}#result#{SPOKE_B.region}#20261204T150000Z#orders#detect"]
    assert world.probes.injections == []


def test_a_failure_injects_in_one_account_and_the_detector_in_another_gets_the_token(world: World):
    hub, _ = _world_with(world)
    hub.tick(tick_event(0))
    world.probes.healthy["orders"] = False

    first = hub.tick(tick_event(1))
    assert first.observations["orders"].inject.outcome == "ok"
    assert world.probes.injections == [("orders", "orders-token-1")]
    stored = {item["pk"]["S"]: item for item in world.table_items()}
    inject_key = f"{SPOKE_A.account}#result#{SPOKE_A.region}#20261204T150500Z#orders#inject"
    result = ProbeResult.model_validate(json.loads(stored[inject_key]["result"]["S"]))
    assert (result.account, result.region, result.correlation_id) == (SPOKE_A.account, SPOKE_A.region,
                                                                       "orders-token-1")

    world.probes.healthy["orders"] = True
    hub.tick(tick_event(2))
    assert ("orders", "orders-token-1") in world.probes.detections[-2:]


def test_alert_and_recovery_go_to_the_topic_and_the_alert_function(world: World):
    hub, _ = _world_with(world)
    world.probes.healthy["orders"] = False
    hub.tick(tick_event(0))
    second = hub.tick(tick_event(1))

    assert [d.kind for d in second.deliveries] == ["alert"]
    assert second.deliveries[0].delivered_to == ("function", "sns")
    assert len(world.probes.alerts) == 1
    published = world.sns_messages()
    assert [(m["Subject"], m["MessageAttributes"]["kind"]["Value"]) for m in published] == [
        ("DIVA ALERT: orders", "alert")]

    world.probes.healthy["orders"] = True
    third = hub.tick(tick_event(2))
    assert [d.kind for d in third.deliveries] == ["recovery"]
    assert [m["MessageAttributes"]["kind"]["Value"] for m in world.sns_messages()] == ["recovery"]
    assert "resolved" in world.probes.alerts[-1]


def test_every_result_key_a_spoke_writes_starts_with_its_own_account(world: World):
    hub, _ = _world_with(world)
    world.probes.healthy["orders"] = False
    for index in range(3):
        hub.tick(tick_event(index))

    assert world.writers, "spokes wrote nothing"
    for writer in world.writers:
        assert writer.keys_written
        assert all(key.startswith(f"{writer.account}#") for key in writer.keys_written)
    accounts = {writer.account for writer in world.writers}
    assert accounts == {SPOKE_A.account, SPOKE_B.account}
    assert HUB.account not in accounts


def test_heartbeat_and_figures_are_recorded_every_tick(world: World):
    hub, _ = _world_with(world)
    world.probes.healthy["billing"] = False
    hub.tick(tick_event(0))
    hub.tick(tick_event(1))

    figures = hub.metrics.completed
    assert len(figures) == 2
    assert figures[-1].events_failing == 1 and figures[-1].events_healthy == 1
    assert figures[-1].alerts_sent == 1
