"""For the same failure sequence, distributed mode alerts no later than monolithic mode.

Both modes run through the same tick (`HubApp.tick`) on a simulated clock: cycle ids come
from synthetic scheduled times five minutes apart. Monolithic probes in process with S3
state; distributed dispatches to spokes in two other accounts with DynamoDB state.

Fixed sequences first; then a hypothesis property over random sequences (length <= 8) and
max_failures 1..3. For speed, the property reuses one moto world for all its examples (each
example's events have names of their own, and monolithic mode a state object of its own, so
nothing carries over) and runs one to three events side by side in each example.
"""

from __future__ import annotations

import contextlib
import functools
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hub.world import HUB, SPOKE_A, SPOKE_B, Probes, World, build_world, tick_event

SEQUENCES = {
    "breaks_and_recovers": [True, False, False, False, True, True],
    "flaps": [False, True, False, False, True, False, False, False],
    "starts_broken": [False, False, False, False, False, True],
}
MONO_BUCKET = "diva-mono"
PLACEMENT = {"inject": SPOKE_A.model_dump(), "detect": SPOKE_B.model_dump()}

Scenario = dict[str, tuple[list[bool], int]]  # event -> (healthy per cycle, max_failures)
Deliveries = dict[str, tuple[list[int], list[int]]]  # event -> (alert cycles, recovery cycles)


def _run_all(world: World, mode: str, scenario: Scenario, *, state_key: str = "state.json") -> Deliveries:
    """Tick every event of `scenario` together; the cycles in which each got an alert / a recovery."""
    events = {}
    for name, (_, max_failures) in scenario.items():
        events.update(world.probes.events({name: PLACEMENT}, max_failures=max_failures))
    if mode == "hub":
        world.add_spoke(SPOKE_A, events)
        world.add_spoke(SPOKE_B, events)
        hub = world.hub(events)
    else:
        s3 = world.hub_session.client("s3", region_name=HUB.region)
        with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
            s3.create_bucket(Bucket=MONO_BUCKET)
        hub = world.hub(events, mode="monolithic", state_url=f"s3://{MONO_BUCKET}/{state_key}")
    delivered: Deliveries = {name: ([], []) for name in scenario}
    for index in range(max(len(healthy) for healthy, _ in scenario.values())):
        for name, (healthy, _) in scenario.items():
            world.probes.healthy[name] = healthy[index]
        report = hub.tick(tick_event(index))
        for delivery in report.deliveries:
            if delivery.complete and delivery.event in delivered:
                alerts, recoveries = delivered[delivery.event]
                (recoveries if delivery.kind == "recovery" else alerts).append(index)
    return delivered


def _run(world: World, mode: str, healthy: list[bool], max_failures: int) -> tuple[list[int], list[int]]:
    return _run_all(world, mode, {"orders": (healthy, max_failures)})["orders"]


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


@st.composite
def _scenarios(draw) -> list[tuple[list[bool], int]]:
    """One to three events, each with a failure sequence of the same length (1..8) and its own max_failures."""
    length = draw(st.integers(min_value=1, max_value=8))
    sequence = st.lists(st.booleans(), min_size=length, max_size=length)
    return draw(st.lists(st.tuples(sequence, st.integers(min_value=1, max_value=3)), min_size=1, max_size=3))


def test_distributed_delivers_every_alert_and_recovery_in_the_same_cycle_as_monolithic(monkeypatch):
    """Property: whatever the failure sequence and max_failures, each alert and each recovery
    the monolithic mode delivers, the distributed mode delivers in the same cycle (never later),
    and it delivers nothing the monolithic mode does not."""
    import botocore.loaders
    import botocore.session
    from moto import mock_aws

    # Every spoke invocation builds fresh boto3 sessions; sharing one (read-only) model loader
    # between them keeps each example well under a second.
    monkeypatch.setattr(botocore.session, "create_loader", functools.lru_cache(maxsize=None)(
        botocore.loaders.create_loader))
    examples = itertools.count()
    seen: list[Deliveries] = []

    with mock_aws():
        world = build_world(Probes())

        @settings(max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
        @given(scenario=_scenarios())
        def check(scenario: list[tuple[list[bool], int]]) -> None:
            n = next(examples)
            monolithic = _run_all(world, "monolithic", {f"mono-{n}-{i}": s for i, s in enumerate(scenario)},
                                  state_key=f"state-{n}.json")
            distributed = _run_all(world, "hub", {f"hub-{n}-{i}": s for i, s in enumerate(scenario)})
            for i, (healthy, max_failures) in enumerate(scenario):
                mono, dist = monolithic[f"mono-{n}-{i}"], distributed[f"hub-{n}-{i}"]
                for kind, mono_cycles, hub_cycles in zip(("alert", "recovery"), mono, dist):
                    late = [(h, m) for h, m in zip(hub_cycles, mono_cycles) if h > m]
                    assert not late, f"{kind} later in distributed mode (cycle, monolithic cycle): {late}"
                    assert hub_cycles == mono_cycles, (kind, healthy, max_failures, hub_cycles, mono_cycles)
            seen.append(monolithic)

        check()

    # The property saw alerts and recoveries, not only quiet sequences.
    assert any(alerts for run in seen for alerts, _ in run.values())
    assert any(recoveries for run in seen for _, recoveries in run.values())
