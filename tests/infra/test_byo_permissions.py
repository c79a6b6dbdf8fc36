"""The brought-role permission list in README.md, checked against the code.

1. The doc's "code" rows per mode are exactly what infra/permissions.py grants created roles.
2. Every AWS call the runtime makes (boto3 client methods found in hub/, spoke/ and
   shared/diva_runtime/) maps to an action in infra/permissions.py.
3. Every action infra/permissions.py grants for a service is called by the code, once the code
   calls that service at all (so a grant cannot outlive the call that needed it).
"""

from __future__ import annotations

import re
from pathlib import Path

from infra import permissions

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "README.md"
RUNTIME_SOURCES = [REPO / "hub", REPO / "spoke", REPO / "shared" / "diva_runtime"]
# `diva sim` builds a whole local AWS (tables, topics, a StackSet) on a moto server; it never
# runs in a deployed Lambda, so its setup calls need no grant.
LOCAL_ONLY = {REPO / "hub" / "simulation.py", REPO / "hub" / "sim_events.py", REPO / "hub" / "sim_infra.py"}
SERVICES = {"s3": "s3", "dynamodb": "dynamodb", "sns": "sns", "sts": "sts", "lambda": "lambda",
            "cloudformation": "cloudformation"}
# Operations whose IAM action differs from the API name.
SPECIAL = {
    "lambda:Invoke": {"lambda:InvokeFunction"},
    "s3:HeadObject": {"s3:GetObject"},
    "s3:ListObjectsV2": {"s3:ListBucket"},
    "s3:ListObjects": {"s3:ListBucket"},
    "dynamodb:TransactWriteItems": {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
                                    "dynamodb:ConditionCheckItem"},
    "dynamodb:TransactGetItems": {"dynamodb:GetItem"},
}
# Implied by how the runtime calls: S3 writes with IfMatch need s3:GetObject; a GetObject
# that must tell a missing object (404) from no access (403) needs s3:ListBucket; spokes
# always tag their AssumeRole session (sts:TagSession).
IMPLIED = {"s3:PutObject": {"s3:GetObject"}, "s3:GetObject": {"s3:ListBucket"}, "sts:AssumeRole": {"sts:TagSession"}}

BYO_MODES = {
    "monolithic": set(permissions.MONOLITHIC_STATE),
    "distributed": set(permissions.HUB_TABLE) | set(permissions.HUB_ALERTS) | set(permissions.HUB_DISPATCH),
}
ALL_GRANTED = set().union(*(getattr(permissions, name) for name in dir(permissions) if name.isupper()))


def _doc_rows() -> list[dict[str, str]]:
    text = DOC.read_text()
    block = text.split("<!-- byo-permissions:start -->")[1].split("<!-- byo-permissions:end -->")[0]
    rows = []
    for line in block.strip().splitlines()[2:]:
        action, modes, needed_by, resource = [cell.strip() for cell in line.strip().strip("|").split("|")]
        rows.append({"action": action.strip("`"), "modes": {m.strip() for m in modes.split(",")},
                     "needed_by": needed_by, "resource": resource})
    return rows


def _operation_index() -> dict[str, set[str]]:
    """boto3 method name -> IAM-style `service:Operation` names, from botocore's local models."""
    import botocore.session
    from botocore import xform_name

    session = botocore.session.get_session()
    index: dict[str, set[str]] = {}
    for service, prefix in SERVICES.items():
        for operation in session.get_service_model(service).operation_names:
            index.setdefault(xform_name(operation), set()).add(f"{prefix}:{operation}")
    return index


def _code_calls() -> dict[str, list[str]]:
    """IAM action -> where the runtime code calls it."""
    index = _operation_index()
    found: dict[str, list[str]] = {}
    pattern = re.compile(r"\.([a-z][a-z0-9_]*)\(|get_paginator\(\s*[\"']([a-z0-9_]+)[\"']")
    for root in RUNTIME_SOURCES:
        for path in sorted(root.rglob("*.py")):
            if path in LOCAL_ONLY:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                for match in pattern.finditer(line):
                    operations = index.get(match.group(1) or match.group(2), set())
                    if len(operations) != 1:
                        continue  # not an AWS call, or ambiguous across services
                    [operation] = operations
                    actions = SPECIAL.get(operation, {operation}) | IMPLIED.get(operation, set())
                    for action in actions:
                        found.setdefault(action, []).append(f"{path.relative_to(REPO)}:{number}")
    return found


def test_doc_lists_exactly_the_code_permissions_of_each_mode():
    rows = _doc_rows()
    for mode, granted in BYO_MODES.items():
        documented = {row["action"] for row in rows if row["needed_by"] == "code" and mode in row["modes"]}
        assert documented == granted, f"{mode}: README.md vs infra/permissions.py"
    assert all(row["needed_by"] in {"code", "platform"} for row in rows)


def test_every_aws_call_in_the_runtime_is_granted_and_documented():
    documented = {row["action"] for row in _doc_rows()}
    spoke_only = set(permissions.SPOKE_ASSUME)
    missing = {action: where for action, where in _code_calls().items() if action not in ALL_GRANTED}
    assert missing == {}, "add these to infra/permissions.py (and README.md): " + repr(missing)
    undocumented = {a for a in _code_calls() if a not in documented and a not in spoke_only}
    assert undocumented == set(), "add these to README.md's brought-role table"


def test_no_grant_outlives_the_call_that_needed_it():
    calls = _code_calls()
    called_services = {action.split(":")[0] for action in calls}
    unused = sorted(action for action in ALL_GRANTED
                    if action.split(":")[0] in called_services and action not in calls
                    # ConditionCheckItem is used only inside TransactWriteItems; Query/Delete
                    # are the hub's result reads and clean-up, pending in the runtime
                    and action not in {"dynamodb:ConditionCheckItem"})
    assert unused == [], f"granted but never called by hub/, spoke/, shared/diva_runtime/: {unused}"


def test_created_roles_carry_the_documented_code_permissions(synths):
    """What the single stack grants its own role equals what a brought role is told to have."""
    for config, mode in (("monolithic", "monolithic"), ("distributed", "distributed")):
        template = synths(config).templates["DivaStack"]
        granted: set[str] = set()
        for resource in template["Resources"].values():
            if resource["Type"] == "AWS::IAM::Policy":
                for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                    actions = statement["Action"]
                    granted |= {actions} if isinstance(actions, str) else set(actions)
        code_services = {action.split(":")[0] for action in BYO_MODES[mode]}
        assert {a for a in granted if a.split(":")[0] in code_services and a != "lambda:InvokeFunction"} \
            | (BYO_MODES[mode] & {"lambda:InvokeFunction"}) >= BYO_MODES[mode]
        assert BYO_MODES[mode] <= granted
