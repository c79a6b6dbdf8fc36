"""Settings from the environment, placements and named targets, tick identity."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from contracts.options import parse_events
from contracts.placement import Target, parse_targets, resolve_placements
from diva_core.errors import ConfigError
from diva_runtime.settings import Settings
from hub.ticks import parse_tick

HUB = Target(account="111111111111", region="us-east-1")


def _ok(name: str) -> bool:
    return True


def test_settings_read_every_variable_and_parse_booleans_properly():
    settings = Settings.from_env({
        "DIVA_MODE": "hub", "DIVA_STATE_URL": "dynamodb://diva-hub", "DIVA_MAX_WORKERS": "16",
        "DIVA_PARALLELIZE": "false", "DIVA_LOG_LEVEL": "DEBUG", "DIVA_SPOKE_ACCOUNTS": "222222222222,333333333333",
        "DIVA_HUB_ROLE_ARN": "", "DIVA_ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:111111111111:diva",
        "AWS_REGION": "us-east-1", "UNRELATED": "x",
    })
    assert settings.mode == "hub" and settings.state_table == "diva-hub"
    assert settings.parallelize is False and settings.workers == 1
    assert settings.spoke_accounts == ("222222222222", "333333333333")
    assert settings.hub_role_arn is None  # empty means "not set"
    assert Settings.from_env({"DIVA_MODE": "distributed"}).mode == "hub"  # upstream's name


@pytest.mark.parametrize(("env", "message"), [
    ({"DIVA_MAX_WORKERS": "many"}, "DIVA_MAX_WORKERS must be a whole number, got 'many'"),
    ({"DIVA_MAX_WORKERS": "0"}, "DIVA_MAX_WORKERS must be >= 1"),
    ({"DIVA_PARALLELIZE": "nope"}, "DIVA_PARALLELIZE must be true or false, got 'nope'"),
    ({"DIVA_MODE": "cluster"}, "DIVA_MODE must be one of"),
    ({"DIVA_HUB_ACCOUNT": "12"}, "DIVA_HUB_ACCOUNT is not valid"),
])
def test_bad_settings_name_the_variable(env: dict, message: str):
    with pytest.raises(ConfigError) as error:
        Settings.from_env(env)
    assert message in str(error.value)


def test_each_role_says_which_variable_it_misses():
    with pytest.raises(ConfigError, match="DIVA_STATE_URL is required"):
        Settings.from_env({"DIVA_MODE": "hub"}).check_hub()
    with pytest.raises(ConfigError, match="must be dynamodb:// when DIVA_MODE=hub"):
        Settings.from_env({"DIVA_MODE": "hub", "DIVA_STATE_URL": "s3://b/k"}).check_hub()
    with pytest.raises(ConfigError, match="DIVA_EXTERNAL_ID is required"):
        Settings.from_env({"DIVA_HUB_TABLE": "t", "DIVA_HUB_REGION": "us-east-1",
                           "DIVA_HUB_ROLE_ARN": "arn:aws:iam::111111111111:role/x"}).check_spoke()


def test_placements_resolve_named_targets_and_default_to_the_hub():
    events = parse_events({
        "cross": {"detect": _ok, "inject": _ok, "placement": {"inject": "eu", "detect": {
            "account": "333333333333", "region": "us-east-1"}}},
        "both": {"detect": _ok, "inject": _ok, "placement": "eu"},
        "local": {"detect": _ok, "inject": _ok},
    })
    targets = parse_targets({"eu": {"account": "222222222222", "region": "eu-west-1"}})
    placements = resolve_placements({n: o.placement for n, o in events.items()}, targets, default=HUB)

    assert str(placements["cross"].inject) == "222222222222/eu-west-1"
    assert str(placements["cross"].detect) == "333333333333/us-east-1"
    assert placements["both"].inject == placements["both"].detect == targets["eu"]
    assert placements["local"].detect == HUB


def test_placement_errors_are_one_sentence_naming_the_event():
    with pytest.raises(ConfigError, match="event 'x': placement.detect: account must be a 12-digit"):
        parse_events({"x": {"detect": _ok, "inject": _ok, "placement": {"detect": {"account": "1", "region": "eu-west-1"}}}})
    events = parse_events({"x": {"detect": _ok, "inject": _ok, "placement": {"inject": "nowhere"}}})
    with pytest.raises(ConfigError, match="event 'x': placement.inject names unknown target 'nowhere'"):
        resolve_placements({"x": events["x"].placement}, {}, default=HUB)
    with pytest.raises(ConfigError, match="target 'eu': region must be an AWS region"):
        parse_targets({"eu": {"account": "222222222222", "region": "Europe"}})


def test_the_cycle_id_comes_from_the_scheduled_time_so_a_redelivered_tick_is_the_same_cycle():
    first = parse_tick({"scheduled_time": "2026-12-04T15:40:00Z"})
    again = parse_tick({"scheduled_time": "2026-12-04T15:40:00Z"})
    assert first == again and first.cycle_id == "20261204T154000Z"
    assert first.scheduled_at == datetime(2026, 12, 4, 15, 40, tzinfo=timezone.utc)
    assert parse_tick({"time": "2026-12-04T15:45:00Z", "detail-type": "Scheduled Event"}).cycle_id == "20261204T154500Z"
    with pytest.raises(ConfigError, match="scheduled_time must be an ISO 8601 time"):
        parse_tick({"scheduled_time": "soon"})


def _build(events: dict, **settings):
    import boto3

    from hub.app import build_hub
    from hub.dispatch import InProcessDispatcher

    session = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="y", region_name=HUB.region)
    return build_hub(Settings(mode="hub", state_url="dynamodb://diva-hub", region=HUB.region, **settings),
                     function_arn=f"arn:aws:lambda:{HUB.region}:{HUB.account}:function:diva-hub", session=session,
                     events=events, targets={}, dispatcher=InProcessDispatcher({}))


def test_in_hub_mode_an_event_without_placement_is_refused_when_no_spoke_runs_in_the_hub_account():
    events = parse_events({
        "orders": {"detect": _ok, "inject": _ok},
        "billing": {"detect": _ok, "inject": _ok, "placement": {"detect": {"account": "222222222222",
                                                                            "region": "eu-west-1"}}},
        "placed": {"detect": _ok, "inject": _ok, "placement": {"account": "222222222222", "region": "eu-west-1"}},
    })
    with pytest.raises(ConfigError) as error:
        _build(events, spoke_accounts=("222222222222",), spoke_regions=("eu-west-1",))
    assert error.value.problems == [
        "event 'billing': placement.inject is required in hub mode "
        "(no spoke runs in the hub account 111111111111/us-east-1)",
        "event 'orders': placement is required in hub mode (no spoke runs in the hub account 111111111111/us-east-1)",
    ]
    with pytest.raises(ConfigError, match="event 'orders': placement is required in hub mode"):
        _build(events)  # spokes unknown: the hub account is not assumed to have one


def test_an_explicit_placement_in_the_hub_account_needs_a_spoke_there_too():
    events = parse_events({"orders": {"detect": _ok, "inject": _ok, "placement": HUB.model_dump()}})
    with pytest.raises(ConfigError, match="placement.inject is account 111111111111, which has no spoke"):
        _build(events, spoke_accounts=("222222222222",), spoke_regions=("us-east-1",))


def test_events_without_placement_run_in_the_hub_account_when_a_spoke_is_deployed_there():
    # The single-account distributed stack lists its own account and region as the spoke.
    events = parse_events({"orders": {"detect": _ok, "inject": _ok}})
    app = _build(events, spoke_accounts=(HUB.account,), spoke_regions=(HUB.region,))
    assert app.remote.placements["orders"].inject == app.remote.placements["orders"].detect == HUB
