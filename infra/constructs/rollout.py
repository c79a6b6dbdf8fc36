"""The spoke rollout: a StackSet of the spoke template, by OU or by account list."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import aws_cloudformation as cloudformation
from constructs import Construct

from infra.config import DivaInfraConfig

# CloudFormation's limit on an inline TemplateBody.
MAX_TEMPLATE_BODY_BYTES = 51_200


class SpokeRollout(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: DivaInfraConfig,
        stackset_name: str,
        template_body: str,
        parameters: Mapping[str, str],
    ) -> None:
        super().__init__(scope, id)
        size = len(template_body.encode())
        if size > MAX_TEMPLATE_BODY_BYTES:
            raise ValueError(f"spoke template is {size} bytes, over the {MAX_TEMPLATE_BODY_BYTES}-byte "
                             "TemplateBody limit; trim probe_statements or host it and use template_url")
        preferences = cloudformation.CfnStackSet.OperationPreferencesProperty(
            region_concurrency_type=config.rollout.region_concurrency,
            max_concurrent_percentage=config.rollout.max_concurrent_percentage,
            failure_tolerance_percentage=config.rollout.failure_tolerance_percentage,
        )
        common = dict(
            stack_set_name=stackset_name,
            description="DIVA spokes: injector/detector functions the DIVA hub invokes",
            template_body=template_body,
            capabilities=["CAPABILITY_IAM"],
            parameters=[
                cloudformation.CfnStackSet.ParameterProperty(parameter_key=key, parameter_value=value)
                for key, value in parameters.items()
            ],
            operation_preferences=preferences,
            # Let CloudFormation queue non-conflicting operations instead of failing them.
            managed_execution={"Active": True},
        )
        if config.target_ous:
            # Service-managed: Organizations creates the execution roles; new accounts that
            # join a target OU get a spoke automatically, leavers lose theirs.
            self.stack_set = cloudformation.CfnStackSet(
                self,
                "StackSet",
                permission_model="SERVICE_MANAGED",
                call_as=config.call_as,
                auto_deployment=cloudformation.CfnStackSet.AutoDeploymentProperty(
                    enabled=True, retain_stacks_on_account_removal=False
                ),
                stack_instances_group=[
                    cloudformation.CfnStackSet.StackInstancesProperty(
                        deployment_targets=cloudformation.CfnStackSet.DeploymentTargetsProperty(
                            organizational_unit_ids=list(config.target_ous)
                        ),
                        regions=list(config.target_regions),
                    )
                ],
                **common,
            )
        else:
            # Self-managed: the hub account's StackSet administration role assumes the
            # execution role (by name) in each listed account.
            self.stack_set = cloudformation.CfnStackSet(
                self,
                "StackSet",
                permission_model="SELF_MANAGED",
                administration_role_arn=config.stackset_administration_role_arn,
                execution_role_name=config.stackset_execution_role_name,
                stack_instances_group=[
                    cloudformation.CfnStackSet.StackInstancesProperty(
                        deployment_targets=cloudformation.CfnStackSet.DeploymentTargetsProperty(
                            accounts=list(config.target_accounts)
                        ),
                        regions=list(config.target_regions),
                    )
                ],
                **common,
            )
