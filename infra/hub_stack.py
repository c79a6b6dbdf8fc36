"""The hub stack: deployed once (with bootstrap) in the hub account and region.

Holds the hub (table, topic, tick function and schedule, spoke access role, dashboard and
alarms) and the StackSet that rolls the spoke stack out to the target OUs or accounts.
"""

from __future__ import annotations

from aws_cdk import Aws, CfnOutput, Stack
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import DivaInfraConfig
from infra.constructs.hub import Hub
from infra.constructs.rollout import SpokeRollout


class HubStack(Stack):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: DivaInfraConfig,
        code: lambda_.Code,
        spoke_template_body: str,
        **stack_options,
    ) -> None:
        super().__init__(scope, id, description="DIVA hub: schedule, state, alerts, spoke rollout", **stack_options)
        assert config.external_id and config.spoke_code_bucket_prefix  # enforced by the config model
        stackset_name = f"{config.name_prefix}-spokes"
        self.hub = Hub(
            self,
            "Hub",
            config=config,
            code=code,
            spoke_accounts=config.target_accounts,
            spoke_regions=config.target_regions,
            trusted_accounts=config.target_accounts,
            external_id=config.external_id,
        )
        assert self.hub.access_role is not None
        self.rollout = SpokeRollout(
            self,
            "SpokeRollout",
            config=config,
            stackset_name=stackset_name,
            template_body=spoke_template_body,
            parameters={
                "HubAccountId": Aws.ACCOUNT_ID,
                "HubRegion": Aws.REGION,
                "HubTableName": self.hub.table.table_name,
                "HubAccessRoleArn": self.hub.access_role.role_arn,
                "HubInvokerRoleArn": self.hub.function_role.role_arn,
                "ExternalId": config.external_id,
                "CodeBucketPrefix": config.spoke_code_bucket_prefix,
                "CodeKey": config.spoke_code_key,
            },
        )
        outputs = {
            "LambdaFunctionName": self.hub.tick_function.function.function_name,
            "LambdaFunctionArn": self.hub.tick_function.function.function_arn,
            "DynamodbTableName": self.hub.table.table_name,
            "EventbridgeRuleName": self.hub.tick.schedule.schedule_name,
            "EventbridgeRuleArn": self.hub.tick.schedule.schedule_arn,
            "LambdaExecutionRoleArn": self.hub.function_role.role_arn,
            "AlertTopicArn": self.hub.topic.topic_arn,
            "SpokeAccessRoleArn": self.hub.access_role.role_arn,
            "SpokeStackSetName": stackset_name,
        }
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)
