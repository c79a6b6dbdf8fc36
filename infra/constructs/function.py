"""A DIVA Lambda function: Python 3.12 + the Powertools layer, own log group, optional VPC."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, Fn, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk.aws_lambda_destinations import SqsDestination
from constructs import Construct

from infra.config import DivaInfraConfig
from infra.nag import acknowledge, acknowledge_wildcards

# The AWS-published Powertools v3 layer (includes pydantic v2). It exists in every commercial
# region under the same account, so a region-templated ARN resolves in each StackSet region.
POWERTOOLS_LAYER_ACCOUNT = "017000801446"
POWERTOOLS_LAYER_NAME = "AWSLambdaPowertoolsPythonV3-python312-x86_64"
RUNTIME = lambda_.Runtime.PYTHON_3_12  # must match the layer's python312 build
METRICS_NAMESPACE = "DIVA"


def powertools_layer_arn(version: int) -> str:
    return Fn.sub(
        f"arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:{POWERTOOLS_LAYER_ACCOUNT}:layer:"
        f"{POWERTOOLS_LAYER_NAME}:{version}"
    )


class DivaFunction(Construct):
    """One DIVA function. `role` is created by the caller (least privilege) or brought."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: DivaInfraConfig,
        function_name: str,
        handler: str,
        code: lambda_.Code,
        role: iam.IRole,
        environment: Mapping[str, str],
        service_name: str,
        description: str,
        reserved_concurrency: int | None = None,
        failure_queue: sqs.IQueue | None = None,
    ) -> None:
        super().__init__(scope, id)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=logs.RetentionDays.INFINITE,  # set below: the config holds days, not the enum
            # Logs are evidence of past incidents; keep them when the stack goes.
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.log_group.node.default_child.retention_in_days = config.log_retention_days
        env_key = kms.Key.from_key_arn(self, "EnvKey", config.kms_key_arn) if config.kms_key_arn else None
        async_options: dict = {}
        if failure_queue is not None:
            # A failed tick is not retried by Lambda: the next scheduled tick runs the cycle
            # again anyway, and the handler is idempotent per scheduled time. The failure is
            # kept in the dead-letter queue, whose alarm tells an operator.
            async_options = {
                "retry_attempts": 0,
                "max_event_age": Duration.seconds(config.tick_max_event_age_sec),
                "on_failure": SqsDestination(failure_queue),
            }
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=function_name,
            description=description,
            runtime=RUNTIME,
            architecture=lambda_.Architecture.X86_64,
            handler=handler,
            code=code,
            role=role,
            memory_size=config.lambda_memory_mb,
            timeout=Duration.seconds(config.lambda_timeout_sec),
            layers=[
                lambda_.LayerVersion.from_layer_version_arn(
                    self, "Powertools", powertools_layer_arn(config.powertools_layer_version)
                )
            ],
            environment={
                **environment,
                "POWERTOOLS_SERVICE_NAME": service_name,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            },
            environment_encryption=env_key,
            log_group=self.log_group,
            reserved_concurrent_executions=reserved_concurrency,
            **async_options,
        )
        acknowledge(
            self.function,
            "L1",
            f"Pinned to {RUNTIME.name}: the dependencies (pydantic v2, Powertools) come from the AWS "
            f"Powertools layer, which is built per Python version ({POWERTOOLS_LAYER_NAME}).",
        )
        if config.vpc_config is not None:
            # The seed takes subnet and security group ids, not a VPC object: set them raw.
            cfn = self.function.node.default_child
            cfn.vpc_config = lambda_.CfnFunction.VpcConfigProperty(
                subnet_ids=list(config.vpc_config.subnet_ids),
                security_group_ids=list(config.vpc_config.security_group_ids),
            )

    def grant_runtime_basics(self, role: iam.Role, config: DivaInfraConfig) -> None:
        """Logs (this function's log group only), env-key decrypt and VPC ENI management."""
        self.log_group.grant_write(role)
        if config.kms_key_arn:
            role.add_to_principal_policy(
                iam.PolicyStatement(actions=["kms:Decrypt"], resources=[config.kms_key_arn])
            )
        if config.vpc_config is not None:
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=[
                        "ec2:CreateNetworkInterface",
                        "ec2:DescribeNetworkInterfaces",
                        "ec2:DeleteNetworkInterface",
                        "ec2:AssignPrivateIpAddresses",
                        "ec2:UnassignPrivateIpAddresses",
                    ],
                    resources=["*"],
                )
            )
            acknowledge(
                role,
                "IAM5[Resource::*]",
                "Lambda VPC networking: ec2:CreateNetworkInterface and the Describe/Assign calls Lambda "
                "makes for the function's ENIs do not support resource-level permissions "
                "(the AWSLambdaVPCAccessExecutionRole policy also uses *).",
            )


def lambda_role(scope: Construct, id: str, *, description: str, role_name: str | None = None) -> iam.Role:
    """An execution role with no managed policies: every permission is added explicitly."""
    return iam.Role(
        scope,
        id,
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=description,
        role_name=role_name,
    )


def add_probe_statements(role: iam.Role, config: DivaInfraConfig) -> None:
    """The user's probes run in this role: add the statements they configured, nothing more."""
    for statement in config.probe_statements:
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=list(statement.actions), resources=list(statement.resources))
        )
        acknowledge_wildcards(
            role,
            actions=list(statement.actions),
            resources=list(statement.resources),
            reason="Granted because the user listed it in probe_statements: their inject/detect "
            "functions need it; DIVA itself does not use it.",
        )
