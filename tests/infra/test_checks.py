"""cdk-nag (AwsSolutions) and cfn-lint on every synthesized template."""

from __future__ import annotations

import json

import pytest

from tests.infra.conftest import CONFIGS

SPOKE_STACK = "DivaSpoke"  # infra.app.SPOKE_STACK; importing infra.app here would start Node at collection

# Generic reasons that explain nothing; every acknowledgment must say why *this* finding is fine.
_VAGUE = ("not needed", "n/a", "suppressed", "false positive", "ok", "todo")


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_cdk_nag_has_no_unacknowledged_findings_and_every_acknowledgment_has_a_reason(synths, name):
    result = synths(name)  # synth itself fails on an unacknowledged finding
    reports = {path.parent / "validation-report.json" for path in result.files.values()}
    assert reports
    for path in reports:
        if not path.exists():
            continue  # the spoke template copy beside the hub's
        for plugin in json.loads(path.read_text())["pluginReports"]:
            assert plugin["pluginName"] == "AwsSolutions"
            assert plugin["conclusion"] == "success" and plugin["violations"] == []
            for acknowledged in plugin["suppressedViolations"]:
                reason = acknowledged["reason"].strip()
                assert len(reason) >= 60 and reason.lower() not in _VAGUE, acknowledged["acknowledgedId"]


def test_cdk_nag_is_really_checking(synths):
    """A stack with a known finding fails synth: proof the plugin runs, not just passes."""
    import aws_cdk as cdk
    from aws_cdk import aws_sqs as sqs

    from infra.app import _checked_app

    app = _checked_app(synths.root / "nag-probe")
    stack = cdk.Stack(app, "Probe")
    sqs.Queue(stack, "Plain")
    with pytest.raises(Exception, match="AwsSolutions-SQS"):
        app.synth()


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_cfn_lint_reports_no_errors(synths, name):
    problems = []
    for stack, path in synths(name).files.items():
        matches = _lint(path, _regions(name, stack))
        problems += [f"{stack}: {m.rule.id} {m.message} ({m.path_string})" for m in matches]
    assert problems == []


def test_the_spoke_template_is_linted_in_every_target_region():
    # A resource type, runtime or layer missing in one region fails only that region's lint.
    assert _regions("hub_tuned", SPOKE_STACK) == ["eu-west-1", "ap-southeast-2", "sa-east-1"]
    assert _regions("hub_accounts", SPOKE_STACK) == ["us-east-1", "eu-west-1"]
    assert _regions("hub_accounts", "DivaHub") == ["us-east-1"]


def _regions(config: str, stack: str) -> list[str]:
    """The spoke template deploys to every target region; the other stacks to one."""
    return list(CONFIGS[config].get("target_regions") or ["us-east-1"]) if stack == SPOKE_STACK else ["us-east-1"]


def _lint(path, regions: list[str]):
    from cfnlint.api import ManualArgs, lint

    return lint(path.read_text(), config=ManualArgs(ignore_checks=["W3005"], regions=regions))
