"""Synthesize each configuration once per test session (per xdist worker, lazily).

A first CDK synth in a process costs ~5 s (Node + jsii start); later ones well under a
second. Tests ask for the configurations they need by name, so a worker that runs only
config tests never starts Node. All tests here share the `infra` xdist group: with
`--dist loadgroup` they run on one worker and synthesize once.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

HUB_ACCOUNT = "999999999999"
SPOKE_ACCOUNTS = ["111111111111", "222222222222"]
SPOKE_REGIONS = ["us-east-1", "eu-west-1"]
CODE_PREFIX = "diva-code-test"
EXISTING_BUCKET = "acme-existing-diva-state"
EXISTING_TABLE = "acme-existing-diva-hub"
TUNED_SPOKE_REGIONS = ["eu-west-1", "ap-southeast-2", "sa-east-1"]

CONFIGS: dict[str, dict] = {
    "monolithic": {},
    "monolithic_byo": {
        "lambda_role_arn": "arn:aws:iam::123456789012:role/diva-lambda",
        "kms_key_arn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "vpc_config": {"subnet_ids": ["subnet-0123456789abcdef0"], "security_group_ids": ["sg-0123456789abcdef0"]},
        "schedule": "rate(5m)",
    },
    "monolithic_vpc_kms": {
        "kms_key_arn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "vpc_config": {"subnet_ids": ["subnet-0123456789abcdef0"], "security_group_ids": ["sg-0123456789abcdef0"]},
        "probe_statements": [{"actions": ["sqs:SendMessage"], "resources": ["arn:aws:sqs:*:*:orders-*"]}],
    },
    "distributed": {"diva_mode": "distributed"},
    "distributed_byo": {"diva_mode": "distributed", "lambda_role_arn": "arn:aws:iam::123456789012:role/diva-lambda"},
    "hub_accounts": {
        "deployment": "hub-spoke",
        "external_id": "diva-ext-0001",
        "target_accounts": SPOKE_ACCOUNTS,
        "target_regions": SPOKE_REGIONS,
        "spoke_code_bucket_prefix": CODE_PREFIX,
        "rollout": {"region_concurrency": "SEQUENTIAL", "max_concurrent_percentage": 50,
                    "failure_tolerance_percentage": 10},
    },
    # Every upstream tuning option away from its default, with existing state storage.
    "monolithic_tuned": {
        "lambda_memory_mb": 512, "lambda_timeout_sec": 300, "lambda_log_level": "DEBUG", "max_workers": 16,
        "s3_bucket_name": EXISTING_BUCKET,
    },
    "hub_tuned": {
        "deployment": "hub-spoke",
        "external_id": "diva-ext-0002",
        "target_accounts": SPOKE_ACCOUNTS,
        "target_regions": TUNED_SPOKE_REGIONS,
        "spoke_code_bucket_prefix": CODE_PREFIX,
        "lambda_memory_mb": 1024, "lambda_timeout_sec": 600, "lambda_log_level": "WARNING", "max_workers": 32,
        "dynamodb_table_name": EXISTING_TABLE,
    },
    "hub_ous": {
        "deployment": "hub-spoke",
        "external_id": "diva-ext-0001",
        "org_id": "o-abcdefghij",
        "target_ous": ["ou-abcd-12345678", "ou-abcd-87654321"],
        "target_regions": SPOKE_REGIONS,
        "spoke_code_bucket_prefix": CODE_PREFIX,
        "call_as": "DELEGATED_ADMIN",
    },
}


class Synths:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._done: dict[str, object] = {}

    def __call__(self, name: str):
        """The infra.app.Synthesized result for configuration `name`."""
        if name not in self._done:
            from infra.app import build
            from infra.config import parse_config

            self._done[name] = build(
                parse_config(CONFIGS[name]), outdir=self.root / name, code_dir=self.root / f"{name}-code"
            )
        return self._done[name]

    def template(self, name: str, stack: str):
        from aws_cdk.assertions import Template

        return Template.from_json(self(name).templates[stack])

    def all(self):
        return {name: self(name) for name in CONFIGS}


@pytest.fixture(scope="session")
def synths(tmp_path_factory) -> Synths:
    return Synths(tmp_path_factory.mktemp("cdk"))


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.xdist_group("infra"))
