"""The one validated configuration model for DIVA's infrastructure.

Read from CDK context (`cdk synth -c diva='{"diva_mode": ...}'` or the `diva` key in
cdk.json) or from a JSON file (`diva synth --config FILE`). Field names follow the seed's
Terraform module (`diva_mode`, `lambda_role_arn`, `schedule`, `vpc_config`, `kms_key_arn`)
and upstream's later options (`lambda_memory_mb`, `lambda_timeout_sec`, ...), so a user of
either can move their values across unchanged.

This module imports no aws_cdk: configuration errors surface before the (slow) CDK import.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from diva_core.errors import ConfigError

__all__ = ["ConfigError", "DivaInfraConfig", "load_config", "normalize_schedule", "parse_config"]

ACCOUNT_ID = r"^[0-9]{12}$"
REGION = r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$"
ROLE_ARN = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]+$"
KMS_KEY_ARN = r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]{1,128}$"
ORG_ID = r"^o-[a-z0-9]{10,32}$"
OU_ID = r"^(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$"
# STS ExternalId: 2-1224 characters of [\w+=,.@:/-].
EXTERNAL_ID = r"^[A-Za-z0-9_+=,.@:/-]+$"
NAME = r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$"

# CloudWatch Logs accepts only these retention values.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
                      1827, 2192, 2557, 2922, 3288, 3653)

_RATE = re.compile(r"^rate\(\s*(\d+)\s*([a-z]+)\s*\)$")
_RATE_UNITS = {
    "m": "minute", "min": "minute", "mins": "minute", "minute": "minute", "minutes": "minute",
    "h": "hour", "hr": "hour", "hrs": "hour", "hour": "hour", "hours": "hour",
    "d": "day", "day": "day", "days": "day",
}
_UNIT_MINUTES = {"minute": 1, "hour": 60, "day": 1440}


class _Model(BaseModel):
    # Unknown or misspelled options fail loudly (an upstream weakness we do not repeat).
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class VpcConfig(_Model):
    """The seed's `vpc_config` object: attach the Lambda functions to these subnets."""

    subnet_ids: list[str] = Field(min_length=1)
    security_group_ids: list[str] = Field(min_length=1)

    @field_validator("subnet_ids")
    @classmethod
    def _subnets(cls, values: list[str]) -> list[str]:
        for value in values:
            if not re.match(r"^subnet-[0-9a-f]{8,17}$", value):
                raise ValueError(f"{value!r} is not a subnet id (subnet-...)")
        return values

    @field_validator("security_group_ids")
    @classmethod
    def _groups(cls, values: list[str]) -> list[str]:
        for value in values:
            if not re.match(r"^sg-[0-9a-f]{8,17}$", value):
                raise ValueError(f"{value!r} is not a security group id (sg-...)")
        return values


class ProbeStatement(_Model):
    """An extra IAM Allow statement the user's probes need (added to the prober's role)."""

    actions: list[str] = Field(min_length=1)
    resources: list[str] = Field(min_length=1)

    @field_validator("actions")
    @classmethod
    def _actions(cls, values: list[str]) -> list[str]:
        for value in values:
            if not re.match(r"^[a-z0-9-]+:[A-Za-z0-9*]+$", value):
                raise ValueError(f"{value!r} is not an IAM action (service:Action)")
        return values


class Rollout(_Model):
    """StackSet operation preferences for the spoke rollout."""

    region_concurrency: Literal["SEQUENTIAL", "PARALLEL"] = "PARALLEL"
    max_concurrent_percentage: int = Field(default=25, ge=1, le=100)
    failure_tolerance_percentage: int = Field(default=0, ge=0, le=100)


class DivaInfraConfig(_Model):
    """Everything the DIVA stacks need. See the README ("Deploying DIVA on AWS") for the meaning of each field."""

    # -- what to deploy ------------------------------------------------------------------
    deployment: Literal["single-stack", "hub-spoke"] = Field(
        default="single-stack",
        description="single-stack: the seed module's one stack (diva_mode picks monolithic "
        "or distributed-in-one-account); hub-spoke: a hub stack whose StackSet rolls the "
        "spoke out to target_ous or target_accounts.",
    )
    diva_mode: Literal["monolithic", "distributed"] = "monolithic"
    name_prefix: str = Field(default="diva", pattern=NAME, alias="lambda_name")

    # -- the seed module's variables ------------------------------------------------------
    lambda_role_arn: str | None = Field(default=None, pattern=ROLE_ARN, max_length=2048)
    schedule: str = Field(default="rate(5 minutes)", alias="schedule_expression")
    vpc_config: VpcConfig | None = Field(default=None, alias="lambda_vpc_config")
    kms_key_arn: str | None = Field(default=None, pattern=KMS_KEY_ARN)

    # -- upstream's later options -----------------------------------------------------------
    lambda_memory_mb: int = Field(default=128, ge=128, le=10240)
    lambda_timeout_sec: int = Field(default=60, ge=1, le=900)
    lambda_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    max_workers: int = Field(default=128, ge=1, le=1024)
    """Concurrent probe calls. Probes wait on I/O, so the default is the runtime's 128, not
    upstream's 8 (which made 1,000 slow probes take 12 s)."""
    parallelize_events: bool = True
    s3_bucket_name: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    dynamodb_table_name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{3,255}$")
    """An existing DIVA-shaped table (partition key `pk`, string; TTL on `expires_at`). Not
    an upstream table keyed `event_id`: copy its state across with `diva migrate`."""
    state_object_key: str = Field(default="diva/state.json", min_length=1, max_length=1024)
    events_module: str = Field(default="user_logic", pattern=r"^[A-Za-z_][\w.]*$")
    event_logic_path: str | None = Field(
        default=None,
        description="A .py file or package directory with get_events(); bundled instead of "
        "the repository's user_logic/ and imported as events_module.",
    )

    # -- operations -------------------------------------------------------------------------
    log_retention_days: int = 30
    reserved_concurrency: int = Field(default=1, ge=1, le=1000)
    tick_retry_attempts: int = Field(default=2, ge=0, le=185)
    tick_max_event_age_sec: int = Field(default=300, ge=60, le=86400)
    powertools_layer_version: int = Field(default=23, ge=1)
    """The newest version seen in Powertools' merged docs (python312-x86_64:23); a newer one
    may exist, an older one always does. Check `aws lambda get-layer-version-by-arn`."""
    probe_statements: list[ProbeStatement] = Field(default_factory=list)

    # -- hub and spokes -----------------------------------------------------------------------
    external_id: str | None = Field(default=None, pattern=EXTERNAL_ID, min_length=2, max_length=1224)
    org_id: str | None = Field(default=None, pattern=ORG_ID)
    target_ous: list[str] = Field(default_factory=list)
    target_accounts: list[str] = Field(default_factory=list)
    target_regions: list[str] = Field(default_factory=list)
    rollout: Rollout = Field(default_factory=Rollout)
    call_as: Literal["SELF", "DELEGATED_ADMIN"] = "SELF"
    stackset_administration_role_arn: str | None = Field(default=None, pattern=ROLE_ARN, max_length=2048)
    stackset_execution_role_name: str = "AWSCloudFormationStackSetExecutionRole"
    spoke_code_bucket_prefix: str | None = Field(
        default=None, pattern=r"^[a-z0-9][a-z0-9.-]{1,40}$",
        description="Spoke code lives in s3://<prefix>-<region>/<spoke_code_key> in every "
        "target region (Lambda reads code only from its own region).",
    )
    spoke_code_key: str = Field(default="diva/spoke.zip", min_length=1)

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        return normalize_schedule(value)

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"must be one of {', '.join(map(str, LOG_RETENTION_DAYS))}, got {value}")
        return value

    @field_validator("target_ous")
    @classmethod
    def _ous(cls, values: list[str]) -> list[str]:
        for value in values:
            if not re.match(OU_ID, value):
                raise ValueError(f"{value!r} is not an OU or root id (ou-xxxx-xxxxxxxx or r-xxxx)")
        return values

    @field_validator("target_accounts")
    @classmethod
    def _accounts(cls, values: list[str]) -> list[str]:
        for value in values:
            if not re.match(ACCOUNT_ID, value):
                raise ValueError(f"{value!r} is not a 12-digit account id")
        return values

    @field_validator("target_regions")
    @classmethod
    def _regions(cls, values: list[str]) -> list[str]:
        for value in values:
            if not re.match(REGION, value):
                raise ValueError(f"{value!r} is not a region name")
        if len(set(values)) != len(values):
            raise ValueError("lists a region twice")
        return values

    @model_validator(mode="before")
    @classmethod
    def _events_module_from_path(cls, data: Any) -> Any:
        """The bundle imports `event_logic_path` under its own name (upstream's
        `event_logic.py` is module `event_logic`), so that is the default events module."""
        if not isinstance(data, dict) or not data.get("event_logic_path") or "events_module" in data:
            return data
        path = str(data["event_logic_path"]).rstrip("/\\")
        name = Path(path).stem if path.endswith(".py") else Path(path).name
        if not name.isidentifier():
            raise ValueError(f"event_logic_path: {path!r} is bundled under its own name, and {name!r} "
                             "is not an importable module name; rename it (e.g. event_logic.py)")
        return {**data, "events_module": name}

    @model_validator(mode="after")
    def _consistent(self) -> DivaInfraConfig:
        if self.deployment == "hub-spoke":
            if self.lambda_role_arn:
                raise ValueError("lambda_role_arn: bring-your-own role is for deployment "
                                 "'single-stack'; hub-spoke creates one least-privilege role per function")
            if not self.external_id:
                raise ValueError("external_id: required for deployment 'hub-spoke'")
            if bool(self.target_ous) == bool(self.target_accounts):
                raise ValueError("target_ous / target_accounts: give exactly one of them "
                                 "(OUs: service-managed StackSet; accounts: self-managed)")
            if self.target_ous and not self.org_id:
                raise ValueError("org_id: required when targeting OUs (the hub role trusts the organization)")
            if not self.target_regions:
                raise ValueError("target_regions: give at least one region for the spokes")
            if not self.spoke_code_bucket_prefix:
                raise ValueError("spoke_code_bucket_prefix: required for deployment 'hub-spoke'")
            if self.call_as == "DELEGATED_ADMIN" and not self.target_ous:
                raise ValueError("call_as: DELEGATED_ADMIN applies to service-managed (target_ous) StackSets only")
        if self.s3_bucket_name and self.diva_mode != "monolithic":
            raise ValueError("s3_bucket_name: only used with diva_mode 'monolithic'")
        if self.dynamodb_table_name and not self.distributed:
            raise ValueError("dynamodb_table_name: only used with diva_mode 'distributed' or deployment "
                             "'hub-spoke' (monolithic state is an S3 object: s3_bucket_name)")
        return self

    # -- derived values ------------------------------------------------------------------
    @property
    def distributed(self) -> bool:
        return self.deployment == "hub-spoke" or self.diva_mode == "distributed"

    @property
    def spoke_function_name(self) -> str:
        # Identical in every target account and region: the hub builds spoke ARNs from it.
        return f"{self.name_prefix}-spoke"

    @property
    def spoke_role_prefix(self) -> str:
        """Every spoke function role is `<prefix><region>`; the hub access role trusts only
        roles named so (`aws:PrincipalArn`), not every principal of a spoke account."""
        return f"{self.name_prefix}-spoke-"

    @property
    def hub_function_name(self) -> str:
        return f"{self.name_prefix}-hub" if self.distributed else self.name_prefix

    @property
    def schedule_interval_minutes(self) -> int | None:
        match = _RATE.match(self.schedule)
        if not match:
            return None
        return int(match.group(1)) * _UNIT_MINUTES[_RATE_UNITS[match.group(2)]]


def normalize_schedule(value: str) -> str:
    """Accept the seed's `rate(5m)` shorthand; emit what EventBridge Scheduler accepts."""
    text = value.strip()
    match = _RATE.match(text)
    if match:
        count, unit = int(match.group(1)), match.group(2)
        if unit not in _RATE_UNITS or count < 1:
            raise ValueError(f"{value!r} is not a rate expression (e.g. rate(5 minutes))")
        word = _RATE_UNITS[unit]
        return f"rate({count} {word}{'' if count == 1 else 's'})"
    if re.match(r"^cron\((\S+\s+){5}\S+\)$", text) or re.match(r"^at\(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\)$", text):
        return text
    raise ValueError(f"{value!r} is not a schedule expression: use rate(5 minutes), "
                     "cron(0/5 * * * ? *) or at(2030-01-01T00:00:00)")


def _describe(error: dict[str, Any]) -> str:
    location = ".".join(str(part) for part in error["loc"]) or "config"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return f"{location}: unknown option (misspelled?)"
    if location == "config" or message.split(":", 1)[0] in DivaInfraConfig.model_fields:
        return message
    return f"{location}: {message}"


def parse_config(raw: dict[str, Any] | None) -> DivaInfraConfig:
    """Validate raw values; bad values raise ConfigError, one line per problem, each naming
    its field."""
    try:
        return DivaInfraConfig.model_validate(raw or {})
    except ValidationError as error:
        problems = dict.fromkeys(f"invalid DIVA configuration: {_describe(e)}" for e in error.errors())
        raise ConfigError(list(problems)) from None


def load_config(*, context: Any = None, path: str | Path | None = None) -> DivaInfraConfig:
    """Read the `diva` CDK context value (a dict or a JSON string) or a JSON config file."""
    if path is not None:
        try:
            raw = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise ConfigError([f"cannot read DIVA configuration {path}: {error}"]) from None
        return parse_config(raw)
    if isinstance(context, str):
        try:
            context = json.loads(context)
        except json.JSONDecodeError as error:
            raise ConfigError([f"context 'diva' is not JSON: {error}"]) from None
    if context is not None and not isinstance(context, dict):
        raise ConfigError(["context 'diva' must be a JSON object"])
    return parse_config(context)
