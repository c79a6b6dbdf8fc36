"""`diva sim` end to end: moto over HTTP, spoke worker processes, three accounts, two regions.

The spokes come from the synthesized DivaSpoke template through a StackSet; without aws_cdk
or Node the simulation creates them with boto3 (tested by pretending CDK is missing).
"""

from __future__ import annotations

import json

import pytest

from diva_runtime.cli import main

SPOKE_A, SPOKE_B = "222222222222/eu-west-1", "333333333333/us-east-1"


def _run_sim(capsys) -> tuple[list[dict], dict, str]:
    assert main(["sim", "--cycles", "6", "--json"]) == 0
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    return lines[:-1], lines[-1]["summary"], captured.err


def _assert_story(cycles: list[dict], summary: dict) -> None:
    assert [c["pipeline"] for c in cycles] == ["ok", "broken", "broken", "broken", "ok", "ok"]
    assert {SPOKE_A, SPOKE_B} <= {w for c in cycles for w in c["results"]}
    injected = [r for c in cycles for r in c["results"].get(SPOKE_A, []) if r["action"] == "inject"]
    assert len(injected) == 1 and injected[0]["token"].startswith("synthetic-")
    alert_cycles = [c["cycle"] for c in cycles if c["alerts_sent"]]
    recovery_cycles = [c["cycle"] for c in cycles if c["recoveries"]]
    assert alert_cycles == [3] and recovery_cycles == [5]
    recovered = next(r for r in cycles[4]["results"][SPOKE_B] if r["action"] == "detect")
    assert recovered["token"] == injected[0]["token"]  # the detector verified *the* injected order
    assert [m["kind"] for c in cycles for m in c["topic_subscriber_received"]] == ["alert", "recovery"]
    assert summary["keys_outside_own_prefix"] == [] and summary["heartbeats"] == 6


@pytest.mark.slow
def test_diva_sim_deploys_spokes_by_stackset_and_shows_the_alert_and_the_recovery(capsys):
    from hub import sim_infra

    reason = sim_infra.unavailable()
    if reason:
        pytest.skip(f"cannot synthesize the spoke template here: {reason}")
    cycles, summary, _ = _run_sim(capsys)
    _assert_story(cycles, summary)

    spokes = summary["spokes"]
    assert spokes["method"] == "stackset" and spokes["stack_set"] == "diva-spokes" and spokes["note"] is None
    instances = spokes["instances"]
    assert sorted((i["account"], i["region"], i["status"]) for i in instances) == [
        (account, region, "CURRENT")
        for account in ("222222222222", "333333333333") for region in ("eu-west-1", "us-east-1")]
    for instance in instances:  # each read back from the stack in its own account and region
        assert instance["function_arn"] == (
            f"arn:aws:lambda:{instance['region']}:{instance['account']}:function:diva-spoke")
        assert instance["role_arn"].startswith(f"arn:aws:iam::{instance['account']}:role/")
        # the template's fixed per-region role name, not one the sim made up
        assert instance["role_arn"].endswith(f":role/diva-spoke-{instance['region']}")
    # The spokes that ran the probes are stack instances.
    worked = {w for c in cycles for w in c["results"]}
    assert worked <= {f"{i['account']}/{i['region']}" for i in instances}


@pytest.mark.slow
def test_diva_sim_falls_back_to_boto3_spokes_without_cdk(capsys, monkeypatch):
    from hub import sim_infra

    monkeypatch.setattr(sim_infra, "unavailable", lambda: "Node.js is not installed")
    cycles, summary, err = _run_sim(capsys)
    _assert_story(cycles, summary)
    assert summary["spokes"]["method"] == "boto3"
    assert "not by StackSet: Node.js is not installed" in summary["spokes"]["note"]
    assert err.count("\n") == 1 and "not by StackSet" in err  # one line, off the JSON stream


def test_the_printed_result_says_verified_only_when_the_detection_succeeded(capsys):
    from hub.simulation import _print_cycle

    token = "synthetic-cba7ffbf9e"
    _print_cycle({"cycle": 4, "cycle_id": "20261204T151500Z", "pipeline": "broken", "results": {
        SPOKE_A: [{"event": "orders", "action": "inject", "outcome": "ok", "reason": None, "token": token}],
        SPOKE_B: [
            {"event": "orders", "action": "detect", "outcome": "failed", "reason": "detect returned False",
             "token": token},
            {"event": "refunds", "action": "detect", "outcome": "ok", "reason": None, "token": token},
            {"event": "ledger", "action": "detect", "outcome": "ok", "reason": None},
        ]}, "transitions": [], "alerts_sent": [], "recoveries": [], "topic_subscriber_received": []})

    printed = capsys.readouterr().out.splitlines()[1:]
    by_probe = {(line.split()[1], line.split()[2]): line for line in printed}
    assert by_probe["inject", "orders"].endswith(f"ok  token={token}")
    # asked to verify the token, and could not: not "verified"
    assert by_probe["detect", "orders"].endswith(f"failed  token={token}  (detect returned False)")
    assert by_probe["detect", "refunds"].endswith(f"ok  verified={token}")
    assert by_probe["detect", "ledger"].endswith("ok")
