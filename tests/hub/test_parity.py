"""For the same failure sequence, distributed mode alerts no later than monolithic mode.

Both modes run through the same tick (`HubApp.tick`) on a simulated clock: cycle ids come
from synthetic scheduled times five minutes apart. Monolithic probes in process with S3
state; distributed dispatches to spokes in two other accounts with DynamoDB state.
"""

from __future__ import annotations

import pytest

from tests.hub.world import HUB, SPOKE_A, SPOKE_B, Probes, World, build_world, tick_event

SEQUENCES = {
    "breaks_and_recovers": [True, False, False, False, True, True],
    "flaps": [False, True, False, False, True, False, False, False],
    "starts_broken": [False, False, False, False, False, True],
}


def _run(world: World, mode: str, healthy: list[bool], max_failures: int) -> tuple[list[int], list[int]]:
    placement = {"inject": SPOKE_A.model_dump(), "detect": SPOKE_B.model_dump()}
    events = world.probes.events({"orders": placement}, max_failures=max_failures)
    if mode == "hub":
        world.add_spoke(SPOKE_A, events)
        world.add_spoke(SPOKE_B, events)
        hub = world.hub(events)
    else:
        world.hub_session.client("s3", region_name=HUB.region).create_bucket(Bucket="diva-mono")
        hub = world.hub(events, mode="monolithic", state_url="s3://diva-mono/state.json")
    alerts, recoveries = [], []
    for index, ok in enumerate(healthy):
        world.probes.healthy["orders"] = ok
        report = hub.tick(tick_event(index))
        for delivery in report.deliveries:
            if delivery.complete:
                (recoveries if delivery.kind == "recovery" else alerts).append(index)
    return alerts, recoveries


@pytest.mark.parametrize("max_failures", [1, 2, 3])
@pytest.mark.parametrize("sequence", sorted(SEQUENCES))
def test_distributed_alerts_no_later_than_monolithic(sequence: str, max_failures: int):
    from moto import mock_aws

    healthy = SEQUENCES[sequence]
    with mock_aws():
        monolithic = _run(build_world(Probes()), "monolithic", healthy, max_failures)
    with mock_aws():
        distributed = _run(build_world(Probes()), "hub", healthy, max_failures)

    mono_alerts, mono_recoveries = monolithic
    hub_alerts, hub_recoveries = distributed
    assert len(hub_alerts) == len(mono_alerts)
    assert all(h <= m for h, m in zip(hub_alerts, mono_alerts)), (hub_alerts, mono_alerts)
    assert (hub_alerts, hub_recoveries) == (mono_alerts, mono_recoveries)  # in fact: the same cycles
