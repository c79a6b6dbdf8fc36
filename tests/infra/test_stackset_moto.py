"""The synthesized spoke template, rolled out by a (self-managed) StackSet in moto into two
accounts x two regions: every instance deploys, and each region's function reads its code
from the bucket in its own region."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from tests.infra.conftest import CODE_PREFIX, HUB_ACCOUNT, SPOKE_ACCOUNTS, SPOKE_REGIONS

CODE_KEY = "diva/spoke.zip"


@pytest.fixture
def aws(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MOTO_ACCOUNT_ID", raising=False)  # AssumeRole must switch accounts
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    from moto import mock_aws

    with mock_aws():
        yield


def _session(account: str):
    import boto3

    credentials = boto3.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/inspect", RoleSessionName="inspect")["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"], aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"])


def _upload_code(zip_bytes: bytes) -> None:
    """One code bucket per region, `<prefix>-<region>`, as the README ("Deploying DIVA on AWS") describes."""
    import boto3

    for region in SPOKE_REGIONS:
        s3 = boto3.client("s3", region_name=region)
        location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=f"{CODE_PREFIX}-{region}", **location)
        s3.put_object(Bucket=f"{CODE_PREFIX}-{region}", Key=CODE_KEY, Body=zip_bytes)


def test_spoke_template_deploys_by_stackset_into_two_accounts_and_two_regions(synths, aws, tmp_path):
    import boto3
    from moto.awslambda.models import lambda_backends

    from infra.bundle import build_zip

    zip_path = tmp_path / "spoke.zip"
    build_zip(zip_path)
    zip_bytes = zip_path.read_bytes()
    _upload_code(zip_bytes)
    template = synths("hub_accounts").templates["DivaSpoke"]
    parameters = {
        "HubAccountId": HUB_ACCOUNT,
        "HubRegion": "us-east-1",
        "HubTableName": "diva-hub-table",
        "HubAccessRoleArn": f"arn:aws:iam::{HUB_ACCOUNT}:role/diva-spoke-access",
        "HubInvokerRoleArn": f"arn:aws:iam::{HUB_ACCOUNT}:role/diva-hub-tick",
        "ExternalId": "diva-ext-0001",
        "CodeBucketPrefix": CODE_PREFIX,
        "CodeKey": CODE_KEY,
    }
    cloudformation = boto3.client("cloudformation", region_name="us-east-1")
    cloudformation.create_stack_set(
        StackSetName="diva-spokes", TemplateBody=json.dumps(template), PermissionModel="SELF_MANAGED",
        Capabilities=["CAPABILITY_IAM"],
        Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
    )
    operation = cloudformation.create_stack_instances(
        StackSetName="diva-spokes", Accounts=SPOKE_ACCOUNTS, Regions=SPOKE_REGIONS)
    status = cloudformation.describe_stack_set_operation(
        StackSetName="diva-spokes", OperationId=operation["OperationId"])["StackSetOperation"]["Status"]
    assert status == "SUCCEEDED"
    instances = cloudformation.list_stack_instances(StackSetName="diva-spokes")["Summaries"]
    assert sorted((i["Account"], i["Region"], i["Status"]) for i in instances) == sorted(
        (account, region, "CURRENT") for account in SPOKE_ACCOUNTS for region in SPOKE_REGIONS)

    expected_sha = base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode()
    s3 = boto3.client("s3", region_name="us-east-1")
    for account in SPOKE_ACCOUNTS:
        session = _session(account)
        for region in SPOKE_REGIONS:
            function = session.client("lambda", region_name=region).get_function(FunctionName="diva-spoke")
            configuration = function["Configuration"]
            assert configuration["FunctionArn"] == f"arn:aws:lambda:{region}:{account}:function:diva-spoke"
            assert configuration["CodeSha256"] == expected_sha  # the code object was found and read
            # moto does not check the bucket's region itself, so check the resolved bucket:
            code = lambda_backends[account][region].get_function("diva-spoke").code
            assert code["S3Bucket"] == f"{CODE_PREFIX}-{region}" and code["S3Key"] == CODE_KEY
            location = s3.get_bucket_location(Bucket=code["S3Bucket"])["LocationConstraint"] or "us-east-1"
            assert location == region
            policy = json.loads(session.client("lambda", region_name=region).get_policy(
                FunctionName="diva-spoke")["Policy"])
            assert [s["Principal"] for s in policy["Statement"]] == [parameters["HubInvokerRoleArn"]]
            environment = configuration["Environment"]["Variables"]
            assert environment["DIVA_HUB_ROLE_ARN"] == parameters["HubAccessRoleArn"]
