"""The one settings object a Lambda handler reads from its environment.

Built in the handler's composition root from an environment mapping
(`Settings.from_env(os.environ)`), never at import time, so tests pass a plain dict and a
bad value fails the first invocation with a message naming the variable. Empty values are
"not set" (CloudFormation cannot omit an environment variable conditionally), and
booleans are parsed, not truth-tested: "false" is False.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from diva_core.errors import ConfigError

TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})

ENVIRONMENT = {
    "mode": "DIVA_MODE",
    "state_url": "DIVA_STATE_URL",
    "events_module": "DIVA_EVENTS_MODULE",
    "max_workers": "DIVA_MAX_WORKERS",
    "parallelize": "DIVA_PARALLELIZE",
    "log_level": "DIVA_LOG_LEVEL",
    "alert_topic_arn": "DIVA_ALERT_TOPIC_ARN",
    "spoke_function_name": "DIVA_SPOKE_FUNCTION_NAME",
    "spoke_accounts": "DIVA_SPOKE_ACCOUNTS",
    "spoke_regions": "DIVA_SPOKE_REGIONS",
    "hub_role_arn": "DIVA_HUB_ROLE_ARN",
    "external_id": "DIVA_EXTERNAL_ID",
    "hub_table": "DIVA_HUB_TABLE",
    "hub_region": "DIVA_HUB_REGION",
    "hub_account": "DIVA_HUB_ACCOUNT",
    "endpoint_url": "DIVA_ENDPOINT_URL",
    "tick_margin_seconds": "DIVA_TICK_MARGIN_SECONDS",
    "region": "AWS_REGION",
    "service_name": "POWERTOOLS_SERVICE_NAME",
}
"""Field -> environment variable. The only place these names are spelled."""

Account = Annotated[str, Field(pattern=r"^\d{12}$")]


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["monolithic", "hub"] = "monolithic"
    state_url: str | None = None
    """`s3://bucket/key` (monolithic) or `dynamodb://table` (hub)."""
    events_module: str = "user_logic"
    max_workers: Annotated[int, Field(ge=1, le=1024)] = 128
    parallelize: bool = True
    """Upstream's `parallelize_events`: false runs one probe at a time."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    alert_topic_arn: Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:.+$")] | None = None
    spoke_function_name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = "diva-spoke"
    spoke_accounts: tuple[Account, ...] = ()
    spoke_regions: tuple[str, ...] = ()
    hub_role_arn: Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")] | None = None
    """Empty: the spoke writes with its own role (hub and spoke in one account)."""
    external_id: Annotated[str, Field(min_length=2, max_length=1224)] | None = None
    hub_table: str | None = None
    hub_region: str | None = None
    hub_account: Account | None = None
    endpoint_url: Annotated[str, Field(pattern=r"^https?://")] | None = None
    """A local AWS-compatible endpoint (moto, dynalite) for every client; never set on AWS."""
    tick_margin_seconds: Annotated[float, Field(ge=0, le=300)] = 10.0
    """Time kept back from the Lambda timeout to store state and send alerts."""
    region: str | None = None
    service_name: Annotated[str, Field(min_length=1, max_length=128)] = "diva"
    """Logger service and metrics dimension; the stacks set it to the function's name prefix,
    which is what the dashboard and alarms select on."""

    @field_validator("mode", mode="before")
    @classmethod
    def _upstream_mode(cls, value: Any) -> Any:
        """Upstream DIVA calls hub mode "distributed"."""
        return "hub" if isinstance(value, str) and value.strip().lower() == "distributed" else value

    @field_validator("parallelize", mode="before")
    @classmethod
    def _boolean(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip().lower()
            if text in TRUE:
                return True
            if text in FALSE:
                return False
            raise ValueError(f"must be true or false, got {value!r}")
        return value

    @field_validator("spoke_accounts", "spoke_regions", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> "Settings":
        raw = {field: environ[name] for field, name in ENVIRONMENT.items() if environ.get(name, "").strip()}
        if "region" not in raw and environ.get("AWS_DEFAULT_REGION", "").strip():
            raw["region"] = environ["AWS_DEFAULT_REGION"]
        try:
            settings = cls.model_validate({field: value.strip() for field, value in raw.items()})
        except ValidationError as exc:
            raise ConfigError([_describe(error, raw) for error in exc.errors()]) from None
        return settings

    @property
    def workers(self) -> int:
        return self.max_workers if self.parallelize else 1

    # -- what each role needs ----------------------------------------------------------

    def require(self, *fields: str, role: str) -> None:
        missing = [ENVIRONMENT[field] for field in fields if getattr(self, field) in (None, "", ())]
        if missing:
            raise ConfigError([f"{name} is required for the {role}" for name in missing])

    def check_hub(self) -> None:
        """The tick function, in either mode."""
        self.require("state_url", role=f"{self.mode} tick function")
        scheme = self.state_url.split(":", 1)[0]
        expected = {"monolithic": ("s3", "file"), "hub": ("dynamodb",)}[self.mode]
        if scheme not in expected:
            wanted = " or ".join(f"{s}://" if s != "file" else "file:" for s in expected)
            raise ConfigError([f"DIVA_STATE_URL must be {wanted} when DIVA_MODE={self.mode}, got {self.state_url!r}"])

    def check_spoke(self) -> None:
        self.require("hub_table", "hub_region", role="spoke")
        if self.hub_role_arn:
            self.require("external_id", role="spoke (DIVA_HUB_ROLE_ARN is set)")

    @property
    def state_table(self) -> str | None:
        """The hub table, named by `dynamodb://table` (results live beside the state)."""
        if self.state_url and self.state_url.startswith("dynamodb://"):
            return self.state_url.removeprefix("dynamodb://").split("?", 1)[0].strip("/") or None
        return None


def _describe(error: dict[str, Any], raw: Mapping[str, str]) -> str:
    field = str(error["loc"][0]) if error["loc"] else ""
    name = ENVIRONMENT.get(field, field)
    got = raw.get(field)
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "literal_error":
        return f"{name} must be one of {ctx.get('expected')}, got {got!r}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"{name} must be a whole number, got {got!r}"
    if kind in ("greater_than_equal", "less_than_equal"):
        bounds = {"ge": ">=", "le": "<="}
        limit = " and ".join(f"{bounds[k]} {v}" for k, v in ctx.items() if k in bounds)
        return f"{name} must be {limit}, got {got!r}"
    if kind in ("float_parsing", "float_type"):
        return f"{name} must be a number, got {got!r}"
    if kind == "string_pattern_mismatch":
        return f"{name} is not valid: {got!r} does not match {ctx.get('pattern')}"
    if kind == "string_too_short":
        return f"{name} must be at least {ctx.get('min_length')} characters"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{name} {message}"
