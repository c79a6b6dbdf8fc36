"""Configuration errors name the field; the spoke bundle is deterministic; `diva synth` writes templates."""

from __future__ import annotations

import json
import zipfile

import pytest

from infra.config import ConfigError, parse_config

HUB = {"deployment": "hub-spoke", "external_id": "diva-ext-0001", "target_accounts": ["111111111111"],
       "target_regions": ["us-east-1"], "spoke_code_bucket_prefix": "diva-code-test"}


@pytest.mark.parametrize("raw, field", [
    ({"schedule": "every 5 minutes"}, "schedule"),
    ({"diva_mode": "both"}, "diva_mode"),
    ({"lambda_role_arn": "my-role"}, "lambda_role_arn"),
    ({"vpc_config": {"subnet_ids": ["vpc-123"], "security_group_ids": ["sg-0123456789abcdef0"]}}, "vpc_config"),
    ({"lambda_memory_mb": 64}, "lambda_memory_mb"),
    ({"log_retention_days": 10}, "log_retention_days"),
    ({"max_worker": 4}, "max_worker"),
    ({**HUB, "external_id": None}, "external_id"),
    ({**HUB, "target_ous": ["ou-abcd-12345678"]}, "target_ous"),
    ({**{k: v for k, v in HUB.items() if k != "target_accounts"}, "target_ous": ["ou-abcd-12345678"]}, "org_id"),
    ({**HUB, "target_regions": ["mars-1"]}, "target_regions"),
    ({**HUB, "target_accounts": ["1234"]}, "target_accounts"),
    ({"dynamodb_table_name": "diva-state"}, "dynamodb_table_name"),
])
def test_a_bad_value_fails_with_a_message_naming_it(raw, field):
    with pytest.raises(ConfigError, match=rf"invalid DIVA configuration: {field}\b"):
        parse_config(raw)


def test_configuration_errors_are_divas_own_config_error_with_one_line_per_problem(tmp_path, capsys):
    from diva_core.errors import ConfigError as DivaConfigError
    from diva_core.errors import DivaError
    from infra.synth import main

    with pytest.raises(DivaConfigError) as error:
        parse_config({"schedule": "every 5", "lambda_memory_mb": 64})
    assert isinstance(error.value, DivaError)
    assert sorted(line.split(":")[1].strip() for line in error.value.problems) == ["lambda_memory_mb", "schedule"]

    config = tmp_path / "diva.json"
    config.write_text(json.dumps({"schedule": "every 5", "lambda_memory_mb": 64}))
    assert main(["--config", str(config), "--out", str(tmp_path / "bad")]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and all(line.startswith("diva synth: invalid DIVA configuration: ") for line in lines)


def test_seed_defaults_and_spellings_are_accepted():
    config = parse_config({"schedule_expression": "rate(1 m)", "lambda_name": "probe", "lambda_vpc_config": None})
    assert config.schedule == "rate(1 minute)" and config.schedule_interval_minutes == 1
    assert config.spoke_function_name == "probe-spoke"
    assert parse_config({"schedule": "rate(5m)"}).schedule == "rate(5 minutes)"
    assert parse_config({"schedule": "cron(0/5 * * * ? *)"}).schedule_interval_minutes is None


def test_config_comes_from_context_json_or_a_file(tmp_path):
    from infra.config import load_config

    assert load_config(context='{"diva_mode": "distributed"}').diva_mode == "distributed"
    path = tmp_path / "diva.json"
    path.write_text(json.dumps(HUB))
    assert load_config(path=path).target_accounts == ["111111111111"]


def test_spoke_zip_is_deterministic_and_has_the_import_layout(tmp_path):
    from infra.bundle import build_zip

    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    assert build_zip(first) == build_zip(second)
    names = zipfile.ZipFile(first).namelist()
    for package in ("hub", "spoke", "diva_core", "contracts", "diva_runtime", "user_logic"):
        assert f"{package}/__init__.py" in names
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)
    assert names == sorted(names)


def test_diva_synth_writes_templates_and_refuses_a_bad_config(tmp_path, capsys, synths):
    from infra.synth import main

    config = tmp_path / "diva.json"
    config.write_text(json.dumps({"schedule": "every 5"}))
    assert main(["--config", str(config), "--out", str(tmp_path / "bad")]) == 2
    assert "schedule" in capsys.readouterr().err

    synths("monolithic")  # Node is already up in this session: the CLI's synth is quick
    config.write_text(json.dumps(HUB))
    assert main(["--config", str(config), "--out", str(tmp_path / "out")]) == 0
    for stack in ("DivaHub", "DivaSpoke"):
        template = json.loads((tmp_path / "out" / f"{stack}.template.json").read_text())
        assert template["Resources"]


def test_event_logic_path_sets_the_events_module_to_the_bundled_name(tmp_path):
    logic = tmp_path / "event_logic.py"
    logic.write_text("def get_events():\n    return {}\n")
    package = tmp_path / "my_checks"
    package.mkdir()
    (package / "__init__.py").write_text("def get_events():\n    return {}\n")

    assert parse_config({"event_logic_path": str(logic)}).events_module == "event_logic"
    assert parse_config({"event_logic_path": str(package)}).events_module == "my_checks"
    assert parse_config({"event_logic_path": str(logic), "events_module": "event_logic"}).events_module == "event_logic"
    with pytest.raises(ConfigError, match="event_logic_path: .*'event-logic' is not an importable module name"):
        parse_config({"event_logic_path": str(tmp_path / "event-logic.py")})


def test_synth_refuses_an_events_module_that_is_not_in_the_bundle(tmp_path, synths):
    from infra.app import build

    logic = tmp_path / "event_logic.py"
    logic.write_text("def get_events():\n    return {}\n")
    synths("monolithic")  # Node is up: build is quick
    with pytest.raises(ConfigError, match="events_module: 'user_logic' is not in the Lambda bundle"):
        build(parse_config({"event_logic_path": str(logic), "events_module": "user_logic"}),
              outdir=tmp_path / "bad", code_dir=tmp_path / "bad-code")
    with pytest.raises(ConfigError, match="event_logic_path: 'hub' would replace DIVA's own package"):
        (tmp_path / "hub.py").write_text("")
        build(parse_config({"event_logic_path": str(tmp_path / "hub.py"), "events_module": "hub"}),
              outdir=tmp_path / "bad2", code_dir=tmp_path / "bad2-code")

    result = build(parse_config({"event_logic_path": str(logic)}), outdir=tmp_path / "out",
                   code_dir=tmp_path / "code")
    functions = [r for r in result.templates["DivaStack"]["Resources"].values()
                 if r["Type"] == "AWS::Lambda::Function"]
    assert functions[0]["Properties"]["Environment"]["Variables"]["DIVA_EVENTS_MODULE"] == "event_logic"
    assert (tmp_path / "code" / "event_logic.py").is_file()
    # a module inside a bundled package is fine too
    build(parse_config({"events_module": "hub.sim_events"}), outdir=tmp_path / "sim", code_dir=tmp_path / "sim-code")
