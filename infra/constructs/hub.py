"""The hub: state table, alert topic, tick function and schedule, spoke access role, dashboard.

Used by the hub stack (spokes rolled out by StackSet) and by the single stack in
distributed mode (hub and spoke in one account).
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, Aws, Fn, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra import permissions
from infra.config import DivaInfraConfig
from infra.constructs.function import DivaFunction, lambda_role
from infra.constructs.observability import HubObservability
from infra.constructs.tick import TickSchedule, tick_dead_letter_queue
from infra.nag import acknowledge

PARTITION_KEY = "pk"
TTL_ATTRIBUTE = "expires_at"
SESSION_TAG = "SpokeAccount"


class Hub(Construct):
    """Everything in the hub account. Spoke targets are given as lists (tokens allowed)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: DivaInfraConfig,
        code: lambda_.Code,
        spoke_accounts: Sequence[str],
        spoke_regions: Sequence[str],
        trusted_accounts: Sequence[str],
        external_id: str,
        brought_role: iam.IRole | None = None,
    ) -> None:
        super().__init__(scope, id)
        self.config = config
        stack = Stack.of(self)
        self.key = self._key(config)
        self.table = self._table(config)
        self.topic = self._topic()
        self.dead_letter_queue = tick_dead_letter_queue(self, "TickDeadLetterQueue")

        self.function_role: iam.IRole = brought_role or lambda_role(
            self, "FunctionRole", description="DIVA hub tick: hub table, alert topic, invoke spokes"
        )
        environment = {
            "DIVA_MODE": "hub",
            "DIVA_STATE_URL": f"dynamodb://{self.table.table_name}",
            "DIVA_EVENTS_MODULE": config.events_module,
            "DIVA_MAX_WORKERS": str(config.max_workers),
            "DIVA_PARALLELIZE": "true" if config.parallelize_events else "false",
            "DIVA_LOG_LEVEL": config.lambda_log_level,
            "DIVA_HUB_ACCOUNT": Aws.ACCOUNT_ID,
            "DIVA_ALERT_TOPIC_ARN": self.topic.topic_arn,
            "DIVA_SPOKE_FUNCTION_NAME": config.spoke_function_name,
            "DIVA_SPOKE_ACCOUNTS": Fn.join(",", list(spoke_accounts)) if spoke_accounts else "",
            "DIVA_SPOKE_REGIONS": Fn.join(",", list(spoke_regions)),
        }
        self.tick_function = DivaFunction(
            self,
            "Tick",
            config=config,
            function_name=config.hub_function_name,
            handler="hub.handler.handler",
            code=code,
            role=self.function_role,
            environment=environment,
            service_name=config.name_prefix,
            description="DIVA hub: runs the cycle, dispatches probes to spokes, alerts",
            reserved_concurrency=config.reserved_concurrency,
            failure_queue=self.dead_letter_queue,
        )
        self.tick = TickSchedule(
            self,
            "Tick" + "Schedule",
            config=config,
            function=self.tick_function.function,
            dead_letter_queue=self.dead_letter_queue,
            schedule_name=config.hub_function_name,
            role=brought_role,
        )
        self.access_role: iam.Role | None = None
        if brought_role is None:
            self._grant_hub(stack, config, spoke_accounts, spoke_regions)
            self.access_role = self._access_role(config, trusted_accounts, external_id)
        self.observability = HubObservability(
            self,
            "Observability",
            config=config,
            function=self.tick_function.function,
            dead_letter_queue=self.dead_letter_queue,
            alert_topic=self.topic,
        )

    # -- resources ------------------------------------------------------------------------
    def _key(self, config: DivaInfraConfig) -> kms.IKey:
        if config.kms_key_arn:
            return kms.Key.from_key_arn(self, "Key", config.kms_key_arn)
        # A customer key, not alias/aws/sns: CloudWatch alarms cannot publish to a topic
        # encrypted with the AWS-managed SNS key.
        key = kms.Key(
            self,
            "Key",
            description="DIVA hub alert topic",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],  # in a key policy, "*" means this key
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )
        return key

    def _table(self, config: DivaInfraConfig) -> dynamodb.ITable:
        if config.dynamodb_table_name:
            return dynamodb.Table.from_table_name(self, "Table", config.dynamodb_table_name)
        customer_key = kms.Key.from_key_arn(self, "TableKey", config.kms_key_arn) if config.kms_key_arn else None
        return dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name=PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=True,
            encryption=(
                dynamodb.TableEncryption.CUSTOMER_MANAGED if customer_key else dynamodb.TableEncryption.AWS_MANAGED
            ),
            encryption_key=customer_key,
            time_to_live_attribute=TTL_ATTRIBUTE,
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _topic(self) -> sns.Topic:
        topic = sns.Topic(self, "AlertTopic", display_name="DIVA alerts", master_key=self.key, enforce_ssl=True)
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )
        return topic

    # -- permissions ----------------------------------------------------------------------
    def _grant_hub(
        self,
        stack: Stack,
        config: DivaInfraConfig,
        spoke_accounts: Sequence[str],
        spoke_regions: Sequence[str],
    ) -> None:
        role = self.function_role
        assert isinstance(role, iam.Role)
        self.tick_function.grant_runtime_basics(role, config)
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=list(permissions.HUB_TABLE), resources=[self.table.table_arn])
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=list(permissions.HUB_ALERTS), resources=[self.topic.topic_arn])
        )
        self.key.grant(role, "kms:GenerateDataKey", "kms:Decrypt")  # publish to the encrypted topic
        if config.kms_key_arn and not config.dynamodb_table_name:
            self.key.grant(role, "kms:Encrypt")
        function_name = config.spoke_function_name

        def spoke_arn(account: str, region: str) -> str:
            return stack.format_arn(
                service="lambda", region=region, account=account, resource="function",
                resource_name=function_name, arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )

        if spoke_accounts:
            spoke_arns = [spoke_arn(account, region) for account in spoke_accounts for region in spoke_regions]
            conditions = None
        else:
            # Targeted by OU: accounts are not known here, so any account in our organization.
            spoke_arns = [spoke_arn("*", region) for region in spoke_regions]
            conditions = {"StringEquals": {"aws:ResourceOrgID": config.org_id}}
            for region in spoke_regions:
                acknowledge(
                    role,
                    f"IAM5[Resource::arn:<AWS::Partition>:lambda:{region}:*:function:{function_name}]",
                    "Spokes are targeted by OU, so their accounts are unknown at synth time; the "
                    "grant is limited to the spoke function name and to accounts of our "
                    "organization (aws:ResourceOrgID).",
                )
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=list(permissions.HUB_DISPATCH), resources=spoke_arns, conditions=conditions)
        )

    def _access_role(self, config: DivaInfraConfig, trusted_accounts: Sequence[str], external_id: str) -> iam.Role:
        """The role spokes assume to write their results into the hub table."""
        role = iam.Role(
            self,
            "SpokeAccessRole",
            description="Assumed by DIVA spokes to write their own result items into the hub table",
            # Replaced below by the full trust policy; CDK's principals cannot express it.
            assumed_by=iam.AccountRootPrincipal(),
        )
        role.node.default_child.add_property_override(
            "AssumeRolePolicyDocument", spoke_trust_policy(config, trusted_accounts, external_id)
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=list(permissions.SPOKE_RESULTS),
                resources=[self.table.table_arn],
                conditions={
                    "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"${{aws:PrincipalTag/{SESSION_TAG}}}#*"]},
                    # ForAllValues is true for an empty key set: require that keys are present.
                    "Null": {"dynamodb:LeadingKeys": "false"},
                },
            )
        )
        if config.kms_key_arn and not config.dynamodb_table_name:
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                    resources=[config.kms_key_arn],
                    conditions={"StringEquals": {"kms:ViaService": f"dynamodb.{Aws.REGION}.amazonaws.com"}},
                )
            )
        return role


def spoke_trust_policy(config: DivaInfraConfig, trusted_accounts: Sequence[str], external_id: str) -> dict:
    """Trust: the organization or the listed accounts, with the external id, and a session tag
    naming the caller's own account (the DynamoDB grant is scoped by that tag).

    Only the spoke functions' roles (`<name>-spoke-<region>`, `aws:PrincipalArn`): an account
    principal alone would let any role or user of a spoke account that learns the external
    id write results as that account."""
    role_pattern = f":role/{config.spoke_role_prefix}*"
    if config.org_id:
        principal: dict = {"AWS": "*"}
        who = {"aws:PrincipalOrgID": config.org_id}
        spoke_roles = [Fn.join("", ["arn:", Aws.PARTITION, ":iam::*", role_pattern])]
    else:
        principal = {
            "AWS": [Fn.join("", ["arn:", Aws.PARTITION, ":iam::", account, ":root"]) for account in trusted_accounts]
        }
        who = {}
        spoke_roles = [Fn.join("", ["arn:", Aws.PARTITION, ":iam::", account, role_pattern])
                       for account in trusted_accounts]
    own_account_tag = {f"aws:RequestTag/{SESSION_TAG}": "${aws:PrincipalAccount}"}
    only_spoke_roles = {"ArnLike": {"aws:PrincipalArn": spoke_roles}}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AssumeWithExternalIdAndOwnAccountTag",
                "Effect": "Allow",
                "Principal": principal,
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {**who, "sts:ExternalId": external_id, **own_account_tag},
                              **only_spoke_roles},
            },
            {
                "Sid": "TagSessionWithOwnAccountOnly",
                "Effect": "Allow",
                "Principal": principal,
                "Action": "sts:TagSession",
                "Condition": {
                    "StringEquals": {**who, **own_account_tag},
                    "ForAllValues:StringEquals": {"aws:TagKeys": [SESSION_TAG]},
                    **only_spoke_roles,
                },
            },
        ],
    }

