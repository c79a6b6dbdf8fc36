"""The hub stack: state table, alert topic, schedule, spoke access role, alarms, StackSet."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match

from tests.infra.conftest import SPOKE_ACCOUNTS, SPOKE_REGIONS


def _statements(template, resource_type="AWS::IAM::Policy"):
    for resource in template.find_resources(resource_type).values():
        yield from resource["Properties"]["PolicyDocument"]["Statement"]


def _role(template, description_start: str) -> dict:
    [role] = [r for r in template.find_resources("AWS::IAM::Role").values()
              if r["Properties"].get("Description", "").startswith(description_start)]
    return role


def test_state_table_is_on_demand_recoverable_protected_encrypted_with_ttl(synths):
    template = synths.template("hub_accounts", "DivaHub")
    template.has_resource("AWS::DynamoDB::Table", {
        "DeletionPolicy": "Retain",
        "Properties": {
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "DeletionProtectionEnabled": True,
            "SSESpecification": {"SSEEnabled": True},
            "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
        },
    })


def test_state_table_uses_the_customer_key_when_given(synths):
    template = synths.template("monolithic_vpc_kms", "DivaStack")
    assert not template.find_resources("AWS::DynamoDB::Table")  # monolithic: S3, no table
    # distributed with a key: the table is encrypted with it
    from infra.app import build
    from infra.config import parse_config

    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    result = build(parse_config({"diva_mode": "distributed", "kms_key_arn": key}),
                   outdir=synths.root / "dist-kms", code_dir=synths.root / "dist-kms-code")
    from aws_cdk.assertions import Template

    Template.from_json(result.templates["DivaStack"]).has_resource_properties("AWS::DynamoDB::Table", {
        "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": key},
    })


def test_alert_topic_is_encrypted_and_refuses_plain_http(synths):
    template = synths.template("hub_accounts", "DivaHub")
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    template.has_resource_properties("AWS::SNS::TopicPolicy", {
        "PolicyDocument": {"Statement": Match.array_with([Match.object_like({
            "Effect": "Deny", "Action": "sns:Publish",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        })])},
    })
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


def test_tick_schedule_retries_deliberately_into_a_dead_letter_queue(synths):
    template = synths.template("hub_accounts", "DivaHub")
    [queue_id] = template.find_resources("AWS::SQS::Queue")
    template.has_resource_properties("AWS::Scheduler::Schedule", {
        "ScheduleExpression": "rate(5 minutes)",
        "Target": {
            "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 300},
            "DeadLetterConfig": {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}},
            "Input": Match.serialized_json(Match.object_like({"scheduled_time": "<aws.scheduler.scheduled-time>"})),
        },
    })
    # the function's own failures: not retried by Lambda, kept in the same queue
    template.has_resource_properties("AWS::Lambda::EventInvokeConfig", {
        "MaximumRetryAttempts": 0,
        "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [queue_id, "Arn"]}}},
    })


def test_hub_function_runtime_layer_concurrency_logs_and_environment(synths):
    template = synths.template("hub_accounts", "DivaHub")
    template.has_resource_properties("AWS::Lambda::Function", {
        "FunctionName": "diva-hub",
        "Handler": "hub.handler.handler",
        "Runtime": "python3.12",
        "ReservedConcurrentExecutions": 1,
        "Layers": [{"Fn::Sub": Match.string_like_regexp(
            r"^arn:\$\{AWS::Partition\}:lambda:\$\{AWS::Region\}:017000801446:layer:"
            r"AWSLambdaPowertoolsPythonV3-python312-x86_64:\d+$")}],
        "LoggingConfig": {"LogGroup": Match.any_value()},
        "Environment": {"Variables": Match.object_like({
            "DIVA_MODE": "hub",
            "DIVA_STATE_URL": Match.any_value(),
            "DIVA_SPOKE_FUNCTION_NAME": "diva-spoke",
            "DIVA_SPOKE_ACCOUNTS": ",".join(SPOKE_ACCOUNTS),
            "DIVA_SPOKE_REGIONS": ",".join(SPOKE_REGIONS),
            "DIVA_ALERT_TOPIC_ARN": Match.any_value(),
            "POWERTOOLS_METRICS_NAMESPACE": "DIVA",
        })},
    })
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 30})


def test_spoke_access_role_trusts_only_listed_accounts_with_external_id_and_own_account_tag(synths):
    template = synths.template("hub_accounts", "DivaHub")
    trust = _role(template, "Assumed by DIVA spokes")["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    by_action = {statement["Action"]: statement for statement in trust}
    assert set(by_action) == {"sts:AssumeRole", "sts:TagSession"}
    assume = by_action["sts:AssumeRole"]
    principals = json.dumps(assume["Principal"])
    assert all(account in principals for account in SPOKE_ACCOUNTS) and '"*"' not in principals
    assert assume["Condition"]["StringEquals"] == {
        "sts:ExternalId": "diva-ext-0001",
        "aws:RequestTag/SpokeAccount": "${aws:PrincipalAccount}",
    }
    tag = by_action["sts:TagSession"]
    assert tag["Condition"]["StringEquals"] == {"aws:RequestTag/SpokeAccount": "${aws:PrincipalAccount}"}
    assert tag["Condition"]["ForAllValues:StringEquals"] == {"aws:TagKeys": ["SpokeAccount"]}


def test_spoke_access_role_trusts_the_organization_when_targeting_ous(synths):
    template = synths.template("hub_ous", "DivaHub")
    trust = _role(template, "Assumed by DIVA spokes")["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    for statement in trust:
        assert statement["Principal"] == {"AWS": "*"}
        assert statement["Condition"]["StringEquals"]["aws:PrincipalOrgID"] == "o-abcdefghij"
        assert statement["Condition"]["StringEquals"]["aws:RequestTag/SpokeAccount"] == "${aws:PrincipalAccount}"


def _principal_arn_patterns(statement: dict) -> list:
    return statement["Condition"]["ArnLike"]["aws:PrincipalArn"]


def test_only_the_spoke_function_roles_may_assume_the_access_role_not_any_principal_of_the_account(synths):
    accounts = synths.template("hub_accounts", "DivaHub")
    for statement in _role(accounts, "Assumed by DIVA spokes")["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
        assert _principal_arn_patterns(statement) == [
            {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":iam::{account}:role/diva-spoke-*"]]}
            for account in SPOKE_ACCOUNTS
        ]
    ous = synths.template("hub_ous", "DivaHub")
    for statement in _role(ous, "Assumed by DIVA spokes")["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
        assert _principal_arn_patterns(statement) == [
            {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::*:role/diva-spoke-*"]]}]
    single = synths.template("distributed", "DivaStack")
    for statement in _role(single, "Assumed by DIVA spokes")["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
        assert _principal_arn_patterns(statement) == [{"Fn::Join": ["", [
            "arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "AWS::AccountId"}, ":role/diva-spoke-*"]]}]


def test_spoke_access_role_may_touch_only_items_keyed_by_its_session_tag(synths):
    template = synths.template("hub_accounts", "DivaHub")
    role_id = next(k for k, r in template.find_resources("AWS::IAM::Role").items()
                   if r["Properties"].get("Description", "").startswith("Assumed by DIVA spokes"))
    [policy] = [p for p in template.find_resources("AWS::IAM::Policy").values()
                if p["Properties"]["Roles"] == [{"Ref": role_id}]]
    [statement] = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["${aws:PrincipalTag/SpokeAccount}#*"]},
        "Null": {"dynamodb:LeadingKeys": "false"},
    }
    assert "dynamodb:Scan" not in statement["Action"] and "dynamodb:Query" not in statement["Action"]
    [table_id] = template.find_resources("AWS::DynamoDB::Table")
    assert statement["Resource"] == {"Fn::GetAtt": [table_id, "Arn"]}


def test_hub_may_invoke_exactly_the_spoke_function_in_each_target(synths):
    template = synths.template("hub_accounts", "DivaHub")
    [invoke] = [s for s in _statements(template) if s["Action"] == "lambda:InvokeFunction"
                and "diva-spoke" in json.dumps(s["Resource"])]
    rendered = sorted(json.dumps(r) for r in invoke["Resource"])
    assert len(rendered) == len(SPOKE_ACCOUNTS) * len(SPOKE_REGIONS)
    for account in SPOKE_ACCOUNTS:
        for region in SPOKE_REGIONS:
            assert any(f":lambda:{region}:{account}:function:diva-spoke" in r for r in rendered)


def test_hub_targeting_ous_invokes_spokes_only_inside_the_organization(synths):
    template = synths.template("hub_ous", "DivaHub")
    [invoke] = [s for s in _statements(template) if s["Action"] == "lambda:InvokeFunction"
                and "diva-spoke" in json.dumps(s["Resource"])]
    assert invoke["Condition"] == {"StringEquals": {"aws:ResourceOrgID": "o-abcdefghij"}}
    # Events name the accounts they run in, so the hub needs no StackSet discovery grant.
    assert not any("cloudformation:" in json.dumps(s["Action"]) for s in _statements(template))


def test_alarms_heartbeat_breaches_on_missing_data_and_all_notify_the_topic(synths):
    template = synths.template("hub_accounts", "DivaHub")
    [topic_id] = template.find_resources("AWS::SNS::Topic")
    template.has_resource_properties("AWS::CloudWatch::Alarm", {
        "MetricName": "Heartbeat", "Namespace": "DIVA", "Statistic": "Sum",
        "ComparisonOperator": "LessThanThreshold", "Threshold": 1, "EvaluationPeriods": 2, "Period": 300,
        "TreatMissingData": "breaching", "AlarmActions": [{"Ref": topic_id}],
    })
    template.has_resource_properties("AWS::CloudWatch::Alarm", {
        "Metrics": Match.array_with([
            Match.object_like({"Expression": "FILL(raised, 0) + FILL(caught, 0)"}),
            Match.object_like({"MetricStat": Match.object_like({"Metric": Match.object_like(
                {"MetricName": "Errors", "Namespace": "AWS/Lambda"})})}),
            Match.object_like({"MetricStat": Match.object_like({"Metric": Match.object_like(
                {"MetricName": "TickErrors", "Namespace": "DIVA"})})}),
        ]),
        "TreatMissingData": "notBreaching", "AlarmActions": [{"Ref": topic_id}],
    })
    template.has_resource_properties("AWS::CloudWatch::Alarm", {
        "MetricName": "ApproximateNumberOfMessagesVisible", "Namespace": "AWS/SQS",
        "AlarmActions": [{"Ref": topic_id}],
    })


def test_dashboard_shows_events_probes_alerts_and_ticks(synths):
    template = synths.template("hub_accounts", "DivaHub")
    [dashboard] = template.find_resources("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for metric in ("EventsHealthy", "EventsFailing", "ProbeDuration", "AlertsSent", "TickDuration"):
        assert metric in body


def test_stackset_by_accounts_is_self_managed_with_configured_regions_and_preferences(synths):
    template = synths.template("hub_accounts", "DivaHub")
    template.has_resource_properties("AWS::CloudFormation::StackSet", {
        "PermissionModel": "SELF_MANAGED",
        "ExecutionRoleName": "AWSCloudFormationStackSetExecutionRole",
        "Capabilities": ["CAPABILITY_IAM"],
        "StackInstancesGroup": [{"DeploymentTargets": {"Accounts": SPOKE_ACCOUNTS}, "Regions": SPOKE_REGIONS}],
        "OperationPreferences": {"RegionConcurrencyType": "SEQUENTIAL", "MaxConcurrentPercentage": 50,
                                 "FailureTolerancePercentage": 10},
        "Parameters": Match.array_with([
            {"ParameterKey": "ExternalId", "ParameterValue": "diva-ext-0001"},
            {"ParameterKey": "CodeBucketPrefix", "ParameterValue": "diva-code-test"},
        ]),
    })


def test_stackset_by_ous_is_service_managed_with_auto_deployment(synths):
    template = synths.template("hub_ous", "DivaHub")
    template.has_resource_properties("AWS::CloudFormation::StackSet", {
        "PermissionModel": "SERVICE_MANAGED",
        "CallAs": "DELEGATED_ADMIN",
        "AutoDeployment": {"Enabled": True, "RetainStacksOnAccountRemoval": False},
        "StackInstancesGroup": [{
            "DeploymentTargets": {"OrganizationalUnitIds": ["ou-abcd-12345678", "ou-abcd-87654321"]},
            "Regions": SPOKE_REGIONS,
        }],
    })


def test_stackset_carries_the_synthesized_spoke_template(synths):
    result = synths("hub_accounts")
    [stackset] = [r for r in result.templates["DivaHub"]["Resources"].values()
                  if r["Type"] == "AWS::CloudFormation::StackSet"]
    assert json.loads(stackset["Properties"]["TemplateBody"]) == result.templates["DivaSpoke"]
