"""The single stack: the seed module's variables and outputs."""

from __future__ import annotations

from aws_cdk.assertions import Match

from infra.monolith_stack import SEED_OUTPUTS

KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_state_bucket_is_private_tls_only_versioned_and_encrypted(synths):
    template = synths.template("monolithic", "DivaStack")
    template.has_resource_properties("AWS::S3::Bucket", {
        "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                           "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
        "VersioningConfiguration": {"Status": "Enabled"},
        "BucketEncryption": {"ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
    })
    template.has_resource_properties("AWS::S3::BucketPolicy", {
        "PolicyDocument": {"Statement": Match.array_with([Match.object_like({
            "Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})])},
    })


def test_state_bucket_uses_the_customer_key_when_given(synths):
    synths.template("monolithic_vpc_kms", "DivaStack").has_resource_properties("AWS::S3::Bucket", {
        "BucketEncryption": {"ServerSideEncryptionConfiguration": [{
            "ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KEY},
            "BucketKeyEnabled": True}]},
    })


def test_one_function_runs_the_hub_code_path_with_s3_state(synths):
    template = synths.template("monolithic", "DivaStack")
    template.resource_properties_count_is("AWS::Lambda::Function", {"Handler": "hub.handler.handler"}, 1)
    template.has_resource_properties("AWS::Lambda::Function", {
        "FunctionName": "diva",
        "MemorySize": 128,
        "Timeout": 60,
        "Environment": {"Variables": Match.object_like({
            "DIVA_MODE": "monolithic",
            "DIVA_STATE_URL": {"Fn::Join": ["", ["s3://", {"Ref": Match.any_value()}, "/diva/state.json"]]},
            "DIVA_MAX_WORKERS": "128",
            "DIVA_LOG_LEVEL": "INFO",
        })},
    })


def test_created_role_reaches_only_the_state_object(synths):
    template = synths.template("monolithic", "DivaStack")
    [bucket_id] = template.find_resources("AWS::S3::Bucket")
    template.has_resource_properties("AWS::IAM::Policy", {
        "PolicyDocument": {"Statement": Match.array_with([
            {"Action": ["s3:GetObject", "s3:PutObject"], "Effect": "Allow",
             "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/diva/state.json"]]}},
            {"Action": "s3:ListBucket", "Effect": "Allow", "Resource": {"Fn::GetAtt": [bucket_id, "Arn"]},
             "Condition": {"StringEquals": {"s3:prefix": ["diva/state.json"]}}},
        ])},
    })


def test_brought_role_means_no_iam_is_created(synths):
    for name in ("monolithic_byo", "distributed_byo"):
        template = synths(name).templates["DivaStack"]
        iam = [k for k, r in template["Resources"].items() if r["Type"].startswith("AWS::IAM::")]
        assert iam == [], f"{name}: {iam}"
        arn = "arn:aws:iam::123456789012:role/diva-lambda"
        for function in (r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"):
            assert function["Properties"]["Role"] == arn
        [schedule] = [r for r in template["Resources"].values() if r["Type"] == "AWS::Scheduler::Schedule"]
        assert schedule["Properties"]["Target"]["RoleArn"] == arn
        assert template["Outputs"]["LambdaExecutionRoleArn"]["Value"] == arn


def test_seed_variables_vpc_kms_and_short_rate_are_honoured(synths):
    template = synths.template("monolithic_byo", "DivaStack")
    template.has_resource_properties("AWS::Lambda::Function", {
        "VpcConfig": {"SubnetIds": ["subnet-0123456789abcdef0"], "SecurityGroupIds": ["sg-0123456789abcdef0"]},
        "KmsKeyArn": KEY,
    })
    template.has_resource_properties("AWS::Scheduler::Schedule", {"ScheduleExpression": "rate(5 minutes)"})


def test_outputs_stand_for_each_seed_output(synths):
    monolithic = synths("monolithic").templates["DivaStack"]["Outputs"]
    distributed = synths("distributed").templates["DivaStack"]["Outputs"]
    only_distributed, only_monolithic = {"dynamodb_table_name"}, {"state_bucket_name"}
    for seed_name, output_id in SEED_OUTPUTS.items():
        if seed_name not in only_distributed:
            assert output_id in monolithic, seed_name
        if seed_name not in only_monolithic:
            assert output_id in distributed, seed_name
    [schedule_id] = [k for k, r in synths("monolithic").templates["DivaStack"]["Resources"].items()
                     if r["Type"] == "AWS::Scheduler::Schedule"]
    assert monolithic["EventbridgeRuleName"]["Value"] == {"Ref": schedule_id}
    assert monolithic["EventbridgeRuleArn"]["Value"] == {"Fn::GetAtt": [schedule_id, "Arn"]}


def test_distributed_in_one_account_deploys_hub_and_spoke_together(synths):
    template = synths.template("distributed", "DivaStack")
    template.has_resource_properties("AWS::Lambda::Function", {"Handler": "hub.handler.handler",
                                                               "FunctionName": "diva-hub"})
    template.has_resource_properties("AWS::Lambda::Function", {
        "Handler": "spoke.handler.handler", "FunctionName": "diva-spoke",
        "Environment": {"Variables": Match.object_like({"DIVA_HUB_ACCOUNT": {"Ref": "AWS::AccountId"}})},
    })
    template.has_resource_properties("AWS::DynamoDB::Table", {"PointInTimeRecoverySpecification":
                                                              {"PointInTimeRecoveryEnabled": True}})
    template.has_resource_properties("AWS::Lambda::Permission", {"Action": "lambda:InvokeFunction"})
    assert not template.find_resources("AWS::S3::Bucket")


def test_distributed_in_one_account_lists_its_own_account_and_region_as_the_spoke(synths):
    # The hub lets events without placement run beside it only when these name its own
    # account and region (hub/app.py); this stack deploys the spoke there.
    template = synths.template("distributed", "DivaStack")
    template.has_resource_properties("AWS::Lambda::Function", {
        "FunctionName": "diva-hub",
        "Environment": {"Variables": Match.object_like({
            "DIVA_SPOKE_ACCOUNTS": {"Ref": "AWS::AccountId"}, "DIVA_SPOKE_REGIONS": {"Ref": "AWS::Region"},
        })},
    })
