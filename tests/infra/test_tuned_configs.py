"""Upstream's tuning options away from their defaults, and state storage the user already has.

`monolithic_tuned` and `hub_tuned` (tests/infra/conftest.py) set `lambda_memory_mb`,
`lambda_timeout_sec`, `lambda_log_level` and `max_workers`, and name an existing bucket or
table: nothing is created for state, and every reference (environment, IAM, StackSet
parameters, outputs) points at the named one.
"""

from __future__ import annotations

import json

from aws_cdk.assertions import Match

from tests.infra.conftest import EXISTING_BUCKET, EXISTING_TABLE

TABLE_ARN = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":dynamodb:", {"Ref": "AWS::Region"}, ":",
                               {"Ref": "AWS::AccountId"}, f":table/{EXISTING_TABLE}"]]}


def _statements(template) -> list[dict]:
    return [statement for policy in template.find_resources("AWS::IAM::Policy").values()
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]]


def test_monolithic_function_takes_the_tuned_memory_timeout_log_level_and_workers(synths):
    synths.template("monolithic_tuned", "DivaStack").has_resource_properties("AWS::Lambda::Function", {
        "FunctionName": "diva",
        "MemorySize": 512,
        "Timeout": 300,
        "Environment": {"Variables": Match.object_like({
            "DIVA_LOG_LEVEL": "DEBUG",
            "DIVA_MAX_WORKERS": "16",
            "DIVA_STATE_URL": f"s3://{EXISTING_BUCKET}/diva/state.json",
        })},
    })


def test_an_existing_state_bucket_is_used_not_created_and_the_role_reaches_only_its_state_object(synths):
    template = synths.template("monolithic_tuned", "DivaStack")
    assert not template.find_resources("AWS::S3::Bucket")
    assert not template.find_resources("AWS::S3::BucketPolicy")  # the user's bucket keeps its own policy
    partition = ["arn:", {"Ref": "AWS::Partition"}]
    state = [s for s in _statements(template) if "s3:" in json.dumps(s["Action"])]
    assert state == [
        {"Action": ["s3:GetObject", "s3:PutObject"], "Effect": "Allow",
         "Resource": {"Fn::Join": ["", [*partition, f":s3:::{EXISTING_BUCKET}/diva/state.json"]]}},
        {"Action": "s3:ListBucket", "Effect": "Allow",
         "Resource": {"Fn::Join": ["", [*partition, f":s3:::{EXISTING_BUCKET}"]]},
         "Condition": {"StringEquals": {"s3:prefix": ["diva/state.json"]}}},
    ]
    assert synths("monolithic_tuned").templates["DivaStack"]["Outputs"]["StateBucketName"]["Value"] == EXISTING_BUCKET


def test_hub_and_spoke_functions_take_the_tuned_memory_timeout_log_level_and_workers(synths):
    for stack, handler in (("DivaHub", "hub.handler.handler"), ("DivaSpoke", "spoke.handler.handler")):
        synths.template("hub_tuned", stack).has_resource_properties("AWS::Lambda::Function", {
            "Handler": handler,
            "MemorySize": 1024,
            "Timeout": 600,
            "Environment": {"Variables": Match.object_like({"DIVA_LOG_LEVEL": "WARNING", "DIVA_MAX_WORKERS": "32"})},
        })


def test_an_existing_hub_table_is_used_not_created_by_the_tick_the_spokes_and_their_role(synths):
    template = synths.template("hub_tuned", "DivaHub")
    assert not template.find_resources("AWS::DynamoDB::Table")
    template.has_resource_properties("AWS::Lambda::Function", {
        "Handler": "hub.handler.handler",
        "Environment": {"Variables": Match.object_like({"DIVA_STATE_URL": f"dynamodb://{EXISTING_TABLE}"})},
    })
    table_statements = [s for s in _statements(template) if "dynamodb:" in json.dumps(s["Action"])]
    # the tick's reads and writes, and the spoke access role's PutItem: both on the named table only
    assert sorted(json.dumps(s["Action"]) for s in table_statements) == [
        '"dynamodb:PutItem"', '["dynamodb:BatchGetItem", "dynamodb:Scan", "dynamodb:PutItem"]']
    assert all(s["Resource"] == TABLE_ARN for s in table_statements)
    # the spokes write into it: the StackSet passes its name to every stack instance
    template.has_resource_properties("AWS::CloudFormation::StackSet", {
        "Parameters": Match.array_with([{"ParameterKey": "HubTableName", "ParameterValue": EXISTING_TABLE}]),
    })
    assert synths("hub_tuned").templates["DivaHub"]["Outputs"]["DynamodbTableName"]["Value"] == EXISTING_TABLE
