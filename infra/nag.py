"""cdk-nag 3 acknowledgments. Each names one finding and says why it does not apply.

Acknowledgments sit next to the resource that causes them (in the constructs), so a finding
cannot be silenced far from its cause. cdk-nag 3 matches a finding by its full id, including
the offending action or resource (`AwsSolutions-IAM5[Resource::...]`), so each wildcard is
acknowledged on its own.
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import IConstruct

PACK = "AwsSolutions"


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge one AwsSolutions finding (e.g. "S1", "IAM5[Resource::*]") on `scope`."""
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=f"{PACK}::{PACK}-{rule}", reason=reason))


def acknowledge_wildcards(scope: IConstruct, *, actions: list[str], resources: list[str], reason: str) -> None:
    """Acknowledge IAM5 for the literal wildcard actions/resources of one statement."""
    for action in actions:
        if "*" in action:
            acknowledge(scope, f"IAM5[Action::{action}]", reason)
    for resource in resources:
        if "*" in resource:
            acknowledge(scope, f"IAM5[Resource::{resource}]", reason)
