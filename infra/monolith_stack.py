"""The single stack: the seed's Terraform module as one CloudFormation stack.

diva_mode "monolithic": one function (the hub code path with in-process probing), one S3
state object, one schedule. diva_mode "distributed": hub and spoke together in this account.
With `lambda_role_arn` no IAM resource is created: the brought role runs the functions and
the schedule (the README ("Deploying DIVA on AWS") lists what it needs).
"""

from __future__ import annotations

from aws_cdk import Aws, CfnOutput, Fn, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra import permissions
from infra.config import DivaInfraConfig
from infra.constructs.function import DivaFunction, add_probe_statements, lambda_role
from infra.constructs.hub import Hub
from infra.constructs.spoke import Spoke
from infra.constructs.tick import TickSchedule, tick_dead_letter_queue
from infra.nag import acknowledge

# The seed's outputs (Terraform snake_case) -> CloudFormation output ids. The schedule's
# name and ARN stand for the seed's EventBridge rule.
SEED_OUTPUTS = {
    "lambda_function_name": "LambdaFunctionName",
    "lambda_function_arn": "LambdaFunctionArn",
    "state_bucket_name": "StateBucketName",
    "dynamodb_table_name": "DynamodbTableName",
    "eventbridge_rule_name": "EventbridgeRuleName",
    "eventbridge_rule_arn": "EventbridgeRuleArn",
    "lambda_execution_role_arn": "LambdaExecutionRoleArn",
}


class MonolithStack(Stack):
    def __init__(self, scope: Construct, id: str, *, config: DivaInfraConfig, code: lambda_.Code,
                 **stack_options) -> None:
        super().__init__(scope, id, description=f"DIVA single stack ({config.diva_mode})", **stack_options)
        self.config = config
        self.brought_role = (
            iam.Role.from_role_arn(self, "BroughtRole", config.lambda_role_arn, mutable=False)
            if config.lambda_role_arn else None
        )
        if config.diva_mode == "monolithic":
            outputs = self._monolithic(config, code)
        else:
            outputs = self._distributed(config, code)
        for seed_name, output_id in SEED_OUTPUTS.items():
            if seed_name in outputs:
                CfnOutput(self, output_id, value=outputs[seed_name], description=f"seed output {seed_name}")

    def _monolithic(self, config: DivaInfraConfig, code: lambda_.Code) -> dict[str, str]:
        self.bucket = self._state_bucket(config)
        state_url = f"s3://{self.bucket.bucket_name}/{config.state_object_key}"
        role: iam.IRole = self.brought_role or lambda_role(
            self, "FunctionRole", description="DIVA monolithic: state object, logs, the user's probes"
        )
        dead_letter_queue = tick_dead_letter_queue(self, "TickDeadLetterQueue")
        self.function = DivaFunction(
            self,
            "Diva",
            config=config,
            function_name=config.hub_function_name,
            handler="hub.handler.handler",
            code=code,
            role=role,
            environment={
                "DIVA_MODE": "monolithic",
                "DIVA_STATE_URL": state_url,
                "DIVA_EVENTS_MODULE": config.events_module,
                "DIVA_MAX_WORKERS": str(config.max_workers),
                "DIVA_PARALLELIZE": "true" if config.parallelize_events else "false",
                "DIVA_LOG_LEVEL": config.lambda_log_level,
            },
            service_name=config.name_prefix,
            description="DIVA monolithic: detect, inject, verify, alert in one function",
            reserved_concurrency=config.reserved_concurrency,
            failure_queue=dead_letter_queue,
        )
        self.tick = TickSchedule(
            self, "Tick", config=config, function=self.function.function, dead_letter_queue=dead_letter_queue,
            schedule_name=config.hub_function_name, role=self.brought_role,
        )
        if isinstance(role, iam.Role):
            self.function.grant_runtime_basics(role, config)
            object_arn = self.bucket.arn_for_objects(config.state_object_key)
            get_put = [a for a in permissions.MONOLITHIC_STATE if a != "s3:ListBucket"]
            role.add_to_principal_policy(iam.PolicyStatement(actions=get_put, resources=[object_arn]))
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["s3:ListBucket"],
                    resources=[self.bucket.bucket_arn],
                    conditions={"StringEquals": {"s3:prefix": [config.state_object_key]}},
                )
            )
            if config.kms_key_arn:
                role.add_to_principal_policy(
                    iam.PolicyStatement(
                        actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                        resources=[config.kms_key_arn],
                    )
                )
            add_probe_statements(role, config)
        return {
            "lambda_function_name": self.function.function.function_name,
            "lambda_function_arn": self.function.function.function_arn,
            "state_bucket_name": self.bucket.bucket_name,
            "eventbridge_rule_name": self.tick.schedule.schedule_name,
            "eventbridge_rule_arn": self.tick.schedule.schedule_arn,
            "lambda_execution_role_arn": role.role_arn,
        }

    def _state_bucket(self, config: DivaInfraConfig) -> s3.IBucket:
        if config.s3_bucket_name:
            return s3.Bucket.from_bucket_name(self, "StateBucket", config.s3_bucket_name)
        key = kms.Key.from_key_arn(self, "StateKey", config.kms_key_arn) if config.kms_key_arn else None
        bucket = s3.Bucket(
            self,
            "StateBucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,  # every state write is a version: a bad write can be rolled back
            encryption=s3.BucketEncryption.KMS if key else s3.BucketEncryption.S3_MANAGED,
            encryption_key=key,
            bucket_key_enabled=True if key else None,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            bucket,
            "S1",
            "Holds one state object written only by the DIVA function; versioning keeps every write, "
            "and server access logs would need a second bucket that itself has no access logs. "
            "Use CloudTrail S3 data events if an access audit is required.",
        )
        return bucket

    def _distributed(self, config: DivaInfraConfig, code: lambda_.Code) -> dict[str, str]:
        external_id = config.external_id or Fn.join("-", [config.name_prefix, Aws.ACCOUNT_ID])
        self.hub = Hub(
            self,
            "Hub",
            config=config,
            code=code,
            spoke_accounts=[Aws.ACCOUNT_ID],
            spoke_regions=[Aws.REGION],
            trusted_accounts=[Aws.ACCOUNT_ID],
            external_id=external_id,
            brought_role=self.brought_role,
        )
        self.spoke = Spoke(
            self,
            "Spoke",
            config=config,
            code=code,
            hub_account=Aws.ACCOUNT_ID,
            hub_region=Aws.REGION,
            hub_table_name=self.hub.table.table_name,
            hub_role_arn=self.hub.access_role.role_arn if self.hub.access_role else None,
            external_id=external_id,
            invoker_role_arn=None if self.brought_role else self.hub.function_role.role_arn,
            brought_role=self.brought_role,
        )
        return {
            "lambda_function_name": self.hub.tick_function.function.function_name,
            "lambda_function_arn": self.hub.tick_function.function.function_arn,
            "dynamodb_table_name": self.hub.table.table_name,
            "eventbridge_rule_name": self.hub.tick.schedule.schedule_name,
            "eventbridge_rule_arn": self.hub.tick.schedule.schedule_arn,
            "lambda_execution_role_arn": self.hub.function_role.role_arn,
        }
