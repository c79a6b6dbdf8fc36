"""The EMF records a tick prints: the names the hub dashboard and alarms read.

`ProbeDuration` feeds the dashboard's probe-duration widget; `TickErrors` is half of the
tick-errors alarm (with Lambda's own `Errors`). Both are read from the records Powertools
prints, as CloudWatch Logs would receive them.
"""

from __future__ import annotations

import json

import pytest

from diva_core.errors import StoreUnavailableError
from hub.metrics import EmfMetrics
from tests.hub.world import HUB, SPOKE_A, SPOKE_B, TABLE, World, tick_event

CROSS = {"inject": SPOKE_A.model_dump(), "detect": SPOKE_B.model_dump()}


def _emf_metrics(printed: str) -> dict[str, list]:
    """Metric name -> every value emitted, from the EMF records in `printed`."""
    values: dict[str, list] = {}
    for line in printed.splitlines():
        if '"_aws"' not in line:
            continue
        record = json.loads(line)
        [directive] = record["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "DIVA" and record["service"] == "diva-test"
        for metric in directive["Metrics"]:
            value = record[metric["Name"]]
            values.setdefault(metric["Name"], []).extend(value if isinstance(value, list) else [value])
    return values


def _hub_with_emf(world: World):
    events = world.probes.events({"orders": CROSS, "billing": SPOKE_B.model_dump()})
    world.add_spoke(SPOKE_A, events)
    world.add_spoke(SPOKE_B, events)
    hub = world.hub(events)
    hub.metrics = EmfMetrics(service="diva-test")
    return hub


def test_a_tick_emits_one_probe_duration_per_probe_with_the_heartbeat(world: World, capsys):
    hub = _hub_with_emf(world)
    world.probes.healthy["orders"] = False  # orders: detect, then inject; billing: detect

    hub.tick(tick_event(0))

    emitted = _emf_metrics(capsys.readouterr().out)
    assert len(emitted["ProbeDuration"]) == 3
    assert all(isinstance(ms, (int, float)) and ms >= 0 for ms in emitted["ProbeDuration"])
    assert emitted["Heartbeat"] == [1]
    assert "TickErrors" not in emitted


def test_a_tick_that_cannot_reach_the_store_emits_tick_errors_and_no_heartbeat(world: World, capsys):
    hub = _hub_with_emf(world)
    world.hub_session.client("dynamodb", region_name=HUB.region).delete_table(TableName=TABLE)

    with pytest.raises(StoreUnavailableError):
        hub.tick(tick_event(0))

    emitted = _emf_metrics(capsys.readouterr().out)
    assert emitted == {"TickErrors": [1]}  # no Heartbeat: the missing-heartbeat alarm fires too
