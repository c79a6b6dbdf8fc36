"""`diva sim` end to end: moto over HTTP, spoke worker processes, three accounts, two regions."""

from __future__ import annotations

import json

import pytest

from diva_runtime.cli import main


@pytest.mark.slow
def test_diva_sim_shows_the_alert_and_the_recovery_across_accounts(capsys):
    assert main(["sim", "--cycles", "6", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    cycles, summary = lines[:-1], lines[-1]["summary"]

    assert [c["pipeline"] for c in cycles] == ["ok", "broken", "broken", "broken", "ok", "ok"]
    assert {"222222222222/eu-west-1", "333333333333/us-east-1"} <= {w for c in cycles for w in c["results"]}
    injected = [r for c in cycles for r in c["results"].get("222222222222/eu-west-1", []) if r["action"] == "inject"]
    assert len(injected) == 1 and injected[0]["token"].startswith("synthetic-")
    alert_cycles = [c["cycle"] for c in cycles if c["alerts_sent"]]
    recovery_cycles = [c["cycle"] for c in cycles if c["recoveries"]]
    assert alert_cycles == [3] and recovery_cycles == [5]
    recovered = next(r for r in cycles[4]["results"]["333333333333/us-east-1"] if r["action"] == "detect")
    assert recovered["token"] == injected[0]["token"]  # the detector verified *the* injected order
    assert [m["kind"] for c in cycles for m in c["topic_subscriber_received"]] == ["alert", "recovery"]
    assert summary["keys_outside_own_prefix"] == [] and summary["heartbeats"] == 6
