"""The spoke stack, rolled out by the hub's StackSet to every target account and region.

Synthesized without bootstrap requirements (no assets, no bootstrap version rule), so a
StackSet can create it in accounts that were never bootstrapped. Lambda reads code only from
its own region: the code is `s3://<CodeBucketPrefix>-<AWS::Region>/<CodeKey>`, filled by
`python -m infra.bundle` and a copy per region (the README ("Deploying DIVA on AWS")).
"""

from __future__ import annotations

from aws_cdk import BootstraplessSynthesizer, CfnOutput, CfnParameter, Fn, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import DivaInfraConfig
from infra.constructs.spoke import Spoke

# The StackSet passes these; the hub stack fills them from its own resources.
PARAMETERS = (
    "HubAccountId", "HubRegion", "HubTableName", "HubAccessRoleArn", "HubInvokerRoleArn",
    "ExternalId", "CodeBucketPrefix", "CodeKey",
)


class SpokeStack(Stack):
    def __init__(self, scope: Construct, id: str, *, config: DivaInfraConfig) -> None:
        super().__init__(
            scope,
            id,
            synthesizer=BootstraplessSynthesizer(),
            description="DIVA spoke: injector/detector function invoked by the DIVA hub",
        )
        p = {
            "HubAccountId": CfnParameter(self, "HubAccountId", allowed_pattern=r"\d{12}",
                                         description="Account of the DIVA hub"),
            "HubRegion": CfnParameter(self, "HubRegion", description="Region of the DIVA hub table"),
            "HubTableName": CfnParameter(self, "HubTableName", description="DIVA hub table name"),
            "HubAccessRoleArn": CfnParameter(self, "HubAccessRoleArn",
                                             description="Role in the hub the spoke assumes to write results"),
            "HubInvokerRoleArn": CfnParameter(self, "HubInvokerRoleArn",
                                              description="Hub tick role allowed to invoke this spoke"),
            "ExternalId": CfnParameter(self, "ExternalId", no_echo=True, min_length=2,
                                       description="sts:ExternalId the hub access role requires"),
            "CodeBucketPrefix": CfnParameter(self, "CodeBucketPrefix",
                                             default=config.spoke_code_bucket_prefix or "diva-code",
                                             description="Code bucket is <prefix>-<region>"),
            "CodeKey": CfnParameter(self, "CodeKey", default=config.spoke_code_key,
                                    description="Key of the spoke code zip in the regional bucket"),
        }
        bucket_name = Fn.sub("${Prefix}-${AWS::Region}", {"Prefix": p["CodeBucketPrefix"].value_as_string})
        code_bucket = s3.Bucket.from_bucket_name(self, "CodeBucket", bucket_name)
        self.spoke = Spoke(
            self,
            "Spoke",
            config=config,
            code=lambda_.Code.from_bucket(code_bucket, p["CodeKey"].value_as_string),
            hub_account=p["HubAccountId"].value_as_string,
            hub_region=p["HubRegion"].value_as_string,
            hub_table_name=p["HubTableName"].value_as_string,
            hub_role_arn=p["HubAccessRoleArn"].value_as_string,
            external_id=p["ExternalId"].value_as_string,
            invoker_role_arn=p["HubInvokerRoleArn"].value_as_string,
        )
        CfnOutput(self, "SpokeFunctionArn", value=self.spoke.function.function.function_arn)
        CfnOutput(self, "SpokeRoleArn", value=self.spoke.role.role_arn)
