"""The spoke stack: deployable anywhere by a StackSet, least privilege, invocable by the hub."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match


def test_spoke_needs_no_bootstrap_and_has_no_assets(synths):
    template = synths("hub_accounts").templates["DivaSpoke"]
    assert "BootstrapVersion" not in template.get("Parameters", {})
    assert "CheckBootstrapVersion" not in template.get("Rules", {})
    assert "cdk-hnb659fds" not in json.dumps(template)  # nothing in a bootstrap bucket


def test_spoke_code_comes_from_the_bucket_of_its_own_region(synths):
    template = synths.template("hub_accounts", "DivaSpoke")
    template.has_resource_properties("AWS::Lambda::Function", {
        "FunctionName": "diva-spoke",
        "Handler": "spoke.handler.handler",
        "Code": {
            "S3Bucket": {"Fn::Sub": ["${Prefix}-${AWS::Region}", {"Prefix": {"Ref": "CodeBucketPrefix"}}]},
            "S3Key": {"Ref": "CodeKey"},
        },
        "Environment": {"Variables": Match.object_like({
            "DIVA_HUB_ROLE_ARN": {"Ref": "HubAccessRoleArn"},
            "DIVA_HUB_TABLE": {"Ref": "HubTableName"},
            "DIVA_HUB_ACCOUNT": {"Ref": "HubAccountId"},
            "DIVA_HUB_REGION": {"Ref": "HubRegion"},
            "DIVA_EXTERNAL_ID": {"Ref": "ExternalId"},
        })},
    })


def test_spoke_role_may_only_assume_the_hub_access_role(synths):
    template = synths.template("hub_accounts", "DivaSpoke")
    statements = [s for p in template.find_resources("AWS::IAM::Policy").values()
                  for s in p["Properties"]["PolicyDocument"]["Statement"]]
    non_logging = [s for s in statements if not str(s["Action"]).startswith("['logs:")
                   and s["Action"] != ["logs:CreateLogStream", "logs:PutLogEvents"]]
    assert non_logging == [{
        "Action": ["sts:AssumeRole", "sts:TagSession"], "Effect": "Allow", "Resource": {"Ref": "HubAccessRoleArn"},
    }]
    assert not template.find_resources("AWS::IAM::ManagedPolicy")
    for role in template.find_resources("AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"]


def test_probe_statements_from_the_config_reach_the_probing_role(synths):
    template = synths.template("monolithic_vpc_kms", "DivaStack")
    template.has_resource_properties("AWS::IAM::Policy", {
        "PolicyDocument": {"Statement": Match.array_with([
            {"Action": "sqs:SendMessage", "Effect": "Allow", "Resource": "arn:aws:sqs:*:*:orders-*"},
        ])},
    })


def test_hub_tick_role_may_invoke_the_spoke(synths):
    template = synths.template("hub_accounts", "DivaSpoke")
    template.has_resource_properties("AWS::Lambda::Permission", {
        "Action": "lambda:InvokeFunction",
        "Principal": {"Ref": "HubInvokerRoleArn"},
    })
    hub = synths("hub_accounts").templates["DivaHub"]
    [stackset] = [r for r in hub["Resources"].values() if r["Type"] == "AWS::CloudFormation::StackSet"]
    invoker = next(p["ParameterValue"] for p in stackset["Properties"]["Parameters"]
                   if p["ParameterKey"] == "HubInvokerRoleArn")
    [hub_function] = [r for r in hub["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert hub_function["Properties"]["Role"] == invoker  # the tick's own role, nothing wider


def test_spoke_role_has_a_fixed_name_per_region_that_the_hub_trust_can_match(synths):
    # IAM is global and the StackSet puts one instance per region in each account.
    template = synths.template("hub_accounts", "DivaSpoke")
    template.has_resource_properties("AWS::IAM::Role", {
        "RoleName": {"Fn::Join": ["", ["diva-spoke-", {"Ref": "AWS::Region"}]]},
        "AssumeRolePolicyDocument": Match.object_like({"Statement": [Match.object_like({
            "Principal": {"Service": "lambda.amazonaws.com"}})]}),
    })
    single = synths.template("distributed", "DivaStack")
    single.has_resource_properties("AWS::IAM::Role", {
        "RoleName": {"Fn::Join": ["", ["diva-spoke-", {"Ref": "AWS::Region"}]]}})


def test_the_spoke_role_name_fits_iam_s_64_characters_for_the_longest_prefix_and_region():
    from infra.config import parse_config
    from infra.constructs.spoke import LONGEST_REGION, spoke_role_name

    config = parse_config({"lambda_name": "a" * 32})
    assert len(spoke_role_name(config, LONGEST_REGION)) <= 64
