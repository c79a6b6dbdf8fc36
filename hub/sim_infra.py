"""How `diva sim` deploys its spokes: the project's own spoke template, through a StackSet.

On the simulation's moto server, with the hub account's credentials:

1. synthesize `DivaSpoke` with the infra code (`infra.spoke_stack.SpokeStack`, cdk-nag
   checked, as `diva synth` does for `deployment: hub-spoke`); aws_cdk is imported here,
   lazily, so the rest of DIVA does not need it;
2. build the spoke zip (`infra.bundle.build_zip`) and put it in one code bucket per region,
   `<prefix>-<region>`, in the hub account (README, "Spoke code in every region");
3. create the StackSet administration role (hub) and execution role (each spoke account),
   then a SELF_MANAGED StackSet in the hub account and its stack instances in every spoke
   account x region, and wait until each instance is CURRENT;
4. read each instance's stack in its own account and region: the function ARN and role ARN
   (stack outputs) and the function's environment, which is what a spoke worker runs with.

moto checks no trust policy, but every identity used afterwards is a deployed one.
When aws_cdk or Node is missing, `unavailable()` says why and the simulation creates its
spokes with boto3 instead.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STACK_SET = "diva-spokes"
CODE_PREFIX = "diva-sim-code"
CODE_KEY = "diva/spoke.zip"
ADMIN_ROLE = "AWSCloudFormationStackSetAdministrationRole"
EXECUTION_ROLE = "AWSCloudFormationStackSetExecutionRole"
DEPLOY_TIMEOUT = 60.0
_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "cloudformation.amazonaws.com"}, "Action": "sts:AssumeRole"}]}

Session = Any
SessionFor = Callable[[str, str, str], Session]  # (account, region, role name) -> boto3 Session


@dataclass
class SpokeInstance:
    """One stack instance, as deployed in its account and region."""

    account: str
    region: str
    status: str
    stack_name: str = ""
    function_arn: str = ""
    role_arn: str = ""
    environment: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict:
        return {"account": self.account, "region": self.region, "status": self.status,
                "stack": self.stack_name, "function_arn": self.function_arn, "role_arn": self.role_arn}


@dataclass
class SpokeRollout:
    method: str  # "stackset" or "boto3"
    stack_set: str | None = None
    instances: list[SpokeInstance] = field(default_factory=list)
    note: str | None = None
    seconds: float = 0.0

    def summary(self) -> dict:
        return {"method": self.method, "stack_set": self.stack_set, "note": self.note,
                "seconds": self.seconds, "instances": [i.summary() for i in self.instances]}

    def instance(self, account: str, region: str) -> SpokeInstance | None:
        return next((i for i in self.instances if (i.account, i.region) == (account, region)), None)


def unavailable() -> str | None:
    """Why the spoke template cannot be synthesized here (None: it can)."""
    if shutil.which("node") is None:
        return "Node.js is not installed"
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    try:
        import aws_cdk  # noqa: F401 - starts Node through jsii
        import cdk_nag  # noqa: F401
    except Exception as error:  # ImportError, or jsii failing to start Node
        return f"aws_cdk is not usable ({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''})"
    return None


def sim_config(*, accounts: Sequence[str], regions: Sequence[str], external_id: str, events_module: str) -> Any:
    from infra.config import parse_config

    return parse_config({
        "deployment": "hub-spoke", "external_id": external_id, "target_accounts": list(accounts),
        "target_regions": list(regions), "spoke_code_bucket_prefix": CODE_PREFIX, "spoke_code_key": CODE_KEY,
        "events_module": events_module, "lambda_log_level": "WARNING",
    })


def synthesize_spoke_template(config: Any) -> dict:
    """The DivaSpoke template exactly as `infra.app.build` makes it for hub-spoke (nag checked)."""
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    import aws_cdk as cdk
    from cdk_nag import AwsSolutionsChecks

    from infra.app import SPOKE_STACK
    from infra.spoke_stack import SpokeStack

    with tempfile.TemporaryDirectory(prefix="diva-sim-synth-") as outdir:
        app = cdk.App(outdir=outdir)
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
        SpokeStack(app, SPOKE_STACK, config=config)
        return app.synth().get_stack_by_name(SPOKE_STACK).template


def upload_code(hub: Session, endpoint: str, regions: Sequence[str]) -> str:
    """The deterministic spoke zip in `<CODE_PREFIX>-<region>` for every region; its SHA-256."""
    from infra.bundle import build_zip

    with tempfile.TemporaryDirectory(prefix="diva-sim-code-") as directory:
        path = Path(directory) / "spoke.zip"
        digest = build_zip(path)
        body = path.read_bytes()
    for region in regions:
        s3 = hub.client("s3", region_name=region, endpoint_url=endpoint)
        location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=f"{CODE_PREFIX}-{region}", **location)
        s3.put_object(Bucket=f"{CODE_PREFIX}-{region}", Key=CODE_KEY, Body=body)
    return digest


def _role(iam: Any, name: str, trust: dict) -> str:
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


def deploy_spokes(
    *,
    hub: Session,
    hub_account: str,
    hub_region: str,
    endpoint: str,
    template: dict,
    parameters: dict[str, str],
    accounts: Sequence[str],
    regions: Sequence[str],
    session_for: SessionFor,
    timeout: float = DEPLOY_TIMEOUT,
) -> list[SpokeInstance]:
    """Create the StackSet and its instances; wait until all are CURRENT; read each stack back."""
    admin_arn = _role(hub.client("iam", endpoint_url=endpoint), ADMIN_ROLE, _TRUST)
    for account in accounts:
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                          "Principal": {"AWS": admin_arn}}]}
        _role(session_for(account, hub_region, "diva-sim").client("iam", endpoint_url=endpoint), EXECUTION_ROLE, trust)

    cloudformation = hub.client("cloudformation", region_name=hub_region, endpoint_url=endpoint)
    cloudformation.create_stack_set(
        StackSetName=STACK_SET, TemplateBody=json.dumps(template), PermissionModel="SELF_MANAGED",
        AdministrationRoleARN=admin_arn, ExecutionRoleName=EXECUTION_ROLE, Capabilities=["CAPABILITY_IAM"],
        Description="DIVA spokes (diva sim)",
        Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
    )
    operation = cloudformation.create_stack_instances(
        StackSetName=STACK_SET, Accounts=list(accounts), Regions=list(regions),
        OperationPreferences={"RegionConcurrencyType": "PARALLEL", "MaxConcurrentPercentage": 100},
    )["OperationId"]
    wanted = {(account, region) for account in accounts for region in regions}
    deadline = time.monotonic() + timeout
    while True:
        status = cloudformation.describe_stack_set_operation(
            StackSetName=STACK_SET, OperationId=operation)["StackSetOperation"]["Status"]
        if status in ("FAILED", "STOPPED"):
            raise RuntimeError(f"StackSet {STACK_SET}: operation {operation} {status}")
        summaries = cloudformation.list_stack_instances(StackSetName=STACK_SET)["Summaries"]
        current = {(s["Account"], s["Region"]) for s in summaries if s["Status"] == "CURRENT"}
        if status == "SUCCEEDED" and wanted <= current:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"StackSet {STACK_SET}: instances not CURRENT after {timeout:.0f}s "
                               f"(operation {status}; current: {sorted(current)})")
        time.sleep(0.2)

    instances = []
    for summary in sorted(summaries, key=lambda s: (s["Account"], s["Region"])):
        instance = SpokeInstance(account=summary["Account"], region=summary["Region"], status=summary["Status"])
        # Read back as CloudFormation does: with the execution role in the target account.
        target = session_for(instance.account, instance.region, EXECUTION_ROLE)
        _read_stack(instance, target, endpoint, summary.get("StackId", ""))
        instances.append(instance)
    return instances


def _read_stack(instance: SpokeInstance, session: Session, endpoint: str, stack_id: str) -> None:
    cloudformation = session.client("cloudformation", region_name=instance.region, endpoint_url=endpoint)
    stacks = []
    if stack_id:
        try:
            stacks = cloudformation.describe_stacks(StackName=stack_id)["Stacks"]
        except Exception:  # moto names the instance's stack differently from the id it lists
            stacks = []
    if not stacks:
        stacks = [s for s in cloudformation.describe_stacks()["Stacks"]
                  if s["StackName"].startswith("StackSet") and STACK_SET in s["StackName"]]
    if len(stacks) != 1:
        raise RuntimeError(f"StackSet {STACK_SET}: expected one stack in {instance.account}/{instance.region}, "
                           f"found {[s['StackName'] for s in stacks]}")
    stack = stacks[0]
    if not stack["StackStatus"].endswith("_COMPLETE") or "ROLLBACK" in stack["StackStatus"]:
        raise RuntimeError(f"stack {stack['StackName']} in {instance.account}/{instance.region}: "
                           f"{stack['StackStatus']}")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    instance.stack_name = stack["StackName"]
    instance.function_arn = outputs["SpokeFunctionArn"]
    instance.role_arn = outputs["SpokeRoleArn"]
    configuration = session.client("lambda", region_name=instance.region, endpoint_url=endpoint) \
        .get_function_configuration(FunctionName=instance.function_arn)
    if configuration["Role"] != instance.role_arn:
        raise RuntimeError(f"{instance.function_arn} runs as {configuration['Role']}, not {instance.role_arn}")
    instance.environment = dict(configuration.get("Environment", {}).get("Variables", {}))
