"""Time limits: a spoke that outlasts its dispatch timeout, and the Lambda's own deadline."""

from __future__ import annotations

import functools
import json
import threading

import pytest

import hub.app
from contracts.options import parse_events
from hub.prober import RemoteProber
from tests.hub.world import HUB, SPOKE_A, SPOKE_B, World, tick_event

CROSS = {"inject": SPOKE_A.model_dump(), "detect": SPOKE_B.model_dump()}
STATE_BUCKET = "diva-mono"


@pytest.fixture
def gate():
    """Holds a slow call until the test is done with it (released even if the test fails)."""
    released = threading.Event()
    yield released
    released.set()


def test_a_spoke_that_outlasts_its_timeout_is_no_result_naming_the_timeout_and_alerts(world: World, gate,
                                                                                       monkeypatch):
    # Half a second per probe plus a short dispatch margin keeps the wait under a second.
    monkeypatch.setattr(hub.app, "RemoteProber", functools.partial(RemoteProber, dispatch_margin=0.2))
    events = world.probes.events({"orders": CROSS}, max_failures=2, timeout=0.5)
    world.add_spoke(SPOKE_A, events)
    world.add_spoke(SPOKE_B, events)
    hub_app = world.hub(events)
    # The detector takes the command and is still busy when the hub stops waiting.
    world.before_spoke = lambda target, payload: target == SPOKE_B and gate.wait(10)
    world.drop = {SPOKE_B}  # once released, it writes nothing (the test is over)

    first = hub_app.tick(tick_event(0))
    second = hub_app.tick(tick_event(1))

    detect = first.observations["orders"].detect
    assert detect.outcome == "no_result"
    assert detect.reason.startswith("no result (spoke did not answer within ")
    assert first.unfinished == []  # dispatched and timed out: a failure, not "unfinished"
    assert second.states["orders"].status == "alerting"
    assert second.states["orders"].last_error_reason == "no_result"
    assert [d.kind for d in second.deliveries] == ["alert"] and second.deliveries[0].complete
    assert [m["Subject"] for m in world.sns_messages()] == ["DIVA ALERT: orders"]


def test_a_probe_slower_than_the_time_left_is_unfinished_and_keeps_its_state(world: World, gate):
    def slow_detect(name: str) -> bool:
        slow_calls.append(name)
        if len(slow_calls) == 1:
            return False  # cycle 0: the first failure
        gate.wait(10)  # cycle 1: far longer than the 1.5 s the margin leaves
        return True

    slow_calls: list[str] = []
    probes = world.probes
    events = parse_events({
        "fast": {"detect": probes.detect, "inject": probes.inject, "max_failures": 2},
        "slow": {"detect": slow_detect, "inject": probes.inject, "max_failures": 2, "timeout": 30.0},
    })
    world.hub_session.client("s3", region_name=HUB.region).create_bucket(Bucket=STATE_BUCKET)
    app = world.hub(events, mode="monolithic", state_url=f"s3://{STATE_BUCKET}/state.json")
    before = app.tick(tick_event(0))
    assert before.states["slow"].status == "failing" and before.states["slow"].detection_failures == 1

    probes.healthy["fast"] = False  # a change the fast event must get stored
    # 11.5 s left would fit the probe; the default 10 s margin leaves it 1.5 s.
    report = app.tick(tick_event(1), remaining_seconds=11.5)
    gate.set()

    assert report.unfinished == ["slow"]
    assert "slow" not in report.observations
    assert report.states["slow"] == before.states["slow"]
    assert [(t.event, t.old, t.new) for t in report.transitions] == [("fast", "healthy", "failing")]
    stored = json.loads(world.hub_session.client("s3", region_name=HUB.region).get_object(
        Bucket=STATE_BUCKET, Key="state.json")["Body"].read())["events"]
    assert stored["slow"]["detection_failures"] == 1
    assert stored["slow"]["last_cycle_id"] == before.cycle_id
    # The event that finished in time is saved for this cycle.
    assert stored["fast"]["last_cycle_id"] == report.cycle_id == "20261204T150500Z"
    assert (stored["fast"]["status"], stored["fast"]["detection_failures"]) == ("failing", 1)
