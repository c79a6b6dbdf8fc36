"""The spoke: the injector/detector function, its own role, and the hub's permission to invoke it."""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import permissions
from infra.config import DivaInfraConfig
from infra.constructs.function import DivaFunction, add_probe_statements, lambda_role


LONGEST_REGION = "ap-southeast-7"
"""14 characters, as long as any region name so far; with the 32-character name prefix
limit, `<prefix>-spoke-<region>` stays within IAM's 64."""


def spoke_role_name(config: DivaInfraConfig, region: str) -> str:
    """Fixed and predictable, so the hub's trust can name it. One per region: IAM is global,
    and the StackSet deploys one spoke per region into the same account."""
    return f"{config.spoke_role_prefix}{region}"


class Spoke(Construct):
    """Values may be CloudFormation parameters (StackSet spoke) or hub tokens (single stack).

    `hub_role_arn` None means the spoke writes with its own role (single stack with a
    brought role: no IAM is created, so there is no access role to assume).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: DivaInfraConfig,
        code: lambda_.Code,
        hub_account: str,
        hub_region: str,
        hub_table_name: str,
        hub_role_arn: str | None,
        external_id: str,
        invoker_role_arn: str | None,
        brought_role: iam.IRole | None = None,
    ) -> None:
        super().__init__(scope, id)
        self.role: iam.IRole = brought_role or lambda_role(
            self, "Role", description="DIVA spoke: assume the hub access role, plus the user's probe permissions",
            role_name=spoke_role_name(config, Aws.REGION),
        )
        self.function = DivaFunction(
            self,
            "Probe",
            config=config,
            function_name=config.spoke_function_name,
            handler="spoke.handler.handler",
            code=code,
            role=self.role,
            environment={
                "DIVA_EVENTS_MODULE": config.events_module,
                "DIVA_MAX_WORKERS": str(config.max_workers),
                "DIVA_PARALLELIZE": "true" if config.parallelize_events else "false",
                "DIVA_LOG_LEVEL": config.lambda_log_level,
                "DIVA_HUB_ACCOUNT": hub_account,
                "DIVA_HUB_REGION": hub_region,
                "DIVA_HUB_TABLE": hub_table_name,
                "DIVA_HUB_ROLE_ARN": hub_role_arn or "",
                "DIVA_EXTERNAL_ID": external_id,
            },
            service_name=config.name_prefix,
            description="DIVA spoke: runs inject/detect for the hub and writes results to the hub table",
        )
        if isinstance(self.role, iam.Role):
            self.function.grant_runtime_basics(self.role, config)
            if hub_role_arn:
                self.role.add_to_principal_policy(
                    iam.PolicyStatement(actions=list(permissions.SPOKE_ASSUME), resources=[hub_role_arn])
                )
            add_probe_statements(self.role, config)
        if invoker_role_arn:
            # The hub tick invokes this function synchronously, cross-account, with its role.
            self.invoke_permission = lambda_.CfnPermission(
                self,
                "HubInvoke",
                action="lambda:InvokeFunction",
                function_name=self.function.function.function_arn,
                principal=invoker_role_arn,
            )
