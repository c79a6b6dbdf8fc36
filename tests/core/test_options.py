"""User configuration: every spelling users already write, and errors that name event and option."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.options import parse_events
from diva_core.errors import ConfigError
from diva_runtime.user_logic import load_events

REPO = Path(__file__).resolve().parents[2]


def yes(name):
    return True


def base(**options):
    return {"detect": yes, "inject": yes, **options}


def problems(raw) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_events(raw)
    return caught.value.problems


def test_error_names_the_event_and_the_option():
    assert problems({"orders": base(max_failures=0)}) == [
        "event 'orders': max_failures must be an integer >= 1, got 0"
    ]


def test_every_problem_is_reported_one_line_each():
    found = problems({
        "orders": base(max_failure=3, timeout=0),
        "billing": base(role="sometimes", inject_each_period="yes"),
    })
    assert "event 'orders': unknown option 'max_failure' (did you mean 'max_failures'?)" in found
    assert any(p.startswith("event 'orders': timeout must be") for p in found)
    assert any(p.startswith("event 'billing': role must be one of") for p in found)
    assert "event 'billing': inject_each_period must be true or false, got 'yes'" in found


def test_unknown_nested_option_is_an_error():
    assert problems({"e": base(reset={"mode": "fast", "sucess_threshold": 2})}) == [
        "event 'e': unknown option 'reset.sucess_threshold' (did you mean 'success_threshold'?)"
    ]


def test_booleans_are_not_thresholds():
    assert problems({"e": base(max_failures=True)}) == ["event 'e': max_failures must be an integer >= 1, got True"]


def test_both_threshold_spellings_must_agree():
    [problem] = problems({"e": base(max_failures=2, max_failed_detections=3)})
    assert problem.startswith("event 'e': max_failures and max_failed_detections")
    assert parse_events({"e": base(max_failures=2, max_failed_detections=2)})["e"].policy().detection_threshold == 2


def test_default_detection_threshold_is_the_seed_readmes_one():
    assert parse_events({"e": base()})["e"].policy().detection_threshold == 1
    assert parse_events({"e": base(max_failed_detections=3)})["e"].policy().detection_threshold == 3


@pytest.mark.parametrize("alias", ["success_threshold", "cooldown_threshold", "cooldown_success_threshold"])
def test_cooldown_threshold_aliases(alias):
    policy = parse_events({"e": base(reset={"mode": "cooldown", alias: 5})})["e"].policy()
    assert (policy.reset_mode, policy.cooldown_threshold) == ("cooldown", 5)


def test_conflicting_cooldown_aliases_are_an_error():
    [problem] = problems({"e": base(reset={"success_threshold": 2, "cooldown_threshold": 3})})
    assert problem.startswith("event 'e': reset: conflicting values")


def test_role_needs_its_functions():
    assert problems({"e": {"detect": yes}}) == ["event 'e': inject is required for role 'both'"]
    assert parse_events({"e": {"inject": yes, "role": "inject"}})["e"].policy().role == "inject"


def test_callables_must_be_callable():
    assert problems({"e": base(alert="pagerduty")}) == ["event 'e': alert must be a function, got 'pagerduty'"]


def test_get_events_must_return_a_mapping():
    assert problems(["e"]) == ["get_events() must return a dict of event name -> options, got list"]


def test_diva_options_timeout_and_notify_recovery():
    policy = parse_events({"e": base(timeout=2.5, notify_recovery=False, remind_every=12)})["e"].policy()
    assert (policy.timeout, policy.notify_recovery, policy.remind_every) == (2.5, False, 12)


def test_seed_example_runs_unchanged():
    events = load_events(str(REPO / "user_logic" / "seed_example.py"))
    policy = events["sample_event"].policy()
    assert policy.detection_threshold == 3 and not policy.inject_each_period


def test_upstream_event_logic_runs_unchanged():
    events = load_events(str(REPO / "tests" / "fixtures" / "upstream_event_logic.py"))
    payments = events["payments_cooldown"].policy()
    assert (payments.detection_threshold, payments.injection_threshold) == (3, 2)
    assert (payments.reset_mode, payments.cooldown_threshold, payments.warmup_enabled) == ("cooldown", 2, True)
    assert events["kafka_inject_only"].policy().role == "inject"
    assert events["audit_detect_only"].policy().cooldown_threshold == 3


def test_loading_a_folder_with_user_logic_py(tmp_path):
    (tmp_path / "user_logic.py").write_text((REPO / "user_logic" / "seed_example.py").read_text())
    assert list(load_events(str(tmp_path))) == ["sample_event"]


def test_a_module_that_fails_to_import_is_a_config_error(tmp_path):
    bad = tmp_path / "user_logic.py"
    bad.write_text("raise RuntimeError('no credentials')\n")
    with pytest.raises(ConfigError, match="importing it raised RuntimeError: no credentials"):
        load_events(str(bad))


def test_timeout_must_be_a_number_not_a_flag_or_text():
    assert problems({"e": base(timeout=True)}) == [
        "event 'e': timeout must be a number of seconds > 0 and <= 900, got True"]
    assert problems({"e": base(timeout="5")}) == [
        "event 'e': timeout must be a number of seconds > 0 and <= 900, got '5'"]
    assert parse_events({"e": base(timeout=5)})["e"].policy().timeout == 5.0


def test_options_must_be_a_mapping():
    assert problems({"e": None}) == ["event 'e': options must be a mapping of options, got None"]
