"""The spoke's composition root: settings, the user's events, hub credentials, the writer.

Built once per Lambda container on the first invocation (never at import). The hub role
is assumed per invocation: the credentials then never outlive their session, and one STS
call per tick costs nothing next to the probes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from contracts.commands import CommandBatch, SpokeReply
from contracts.options import EventOptions
from diva_core.errors import ConfigError
from diva_runtime import aws
from diva_runtime.probes import HungCalls
from diva_runtime.settings import Settings
from spoke.runner import SpokeIdentity, SpokeRunner, spoke_deadline
from spoke.writer import HubResultWriter

log = logging.getLogger("diva.spoke")

SESSION_TAG = "SpokeAccount"
"""The hub role's LeadingKeys condition reads this tag: `${aws:PrincipalTag/SpokeAccount}#*`."""


def hub_client(service: str, *, base: Any, role_arn: str, external_id: str, account: str, region: str,
               endpoint_url: str | None = None) -> Any:
    """A client acting as the hub role, its session tagged with the spoke's own account.

    Made from the spoke's own session so botocore's loaded service models are reused.
    """
    from botocore.config import Config

    sts = aws.client("sts", session=base, region=region, endpoint_url=endpoint_url)
    with aws.translated(f"assume {role_arn}"):
        credentials = sts.assume_role(
            RoleArn=role_arn,
            RoleSessionName=f"diva-spoke-{account}",
            ExternalId=external_id,
            Tags=[{"Key": SESSION_TAG, "Value": account}],
            DurationSeconds=900,
        )["Credentials"]
    return base.client(
        service, region_name=region, endpoint_url=endpoint_url,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        config=Config(retries=dict(aws.RETRY_CONFIG), connect_timeout=5, read_timeout=30),
    )


@dataclass
class SpokeApp:
    settings: Settings
    events: Mapping[str, EventOptions]
    base_session: Any
    """The spoke's own credentials (its Lambda role): used for STS, and by the user's probes."""
    on_writer: Callable[[HubResultWriter], None] | None = None
    hung: HungCalls = field(default_factory=HungCalls)
    """Probes abandoned after their timeout, remembered across invocations of a warm
    container so one that hangs every cycle is not started again while it still runs."""

    def writer_for(self, identity: SpokeIdentity) -> HubResultWriter:
        settings = self.settings
        if settings.hub_role_arn:
            client = hub_client("dynamodb", base=self.base_session, role_arn=settings.hub_role_arn,
                                external_id=settings.external_id or "", account=identity.account,
                                region=settings.hub_region, endpoint_url=settings.endpoint_url)
        else:
            client = aws.client("dynamodb", session=self.base_session, region=settings.hub_region,
                                endpoint_url=settings.endpoint_url)
        writer = HubResultWriter(client=client, table=settings.hub_table, account=identity.account,
                                 region=identity.region)
        if self.on_writer:
            self.on_writer(writer)
        return writer

    def invoke(self, payload: Mapping[str, Any], *, function_arn: str,
               remaining_seconds: float | None = None) -> dict[str, Any]:
        identity = SpokeIdentity.from_function_arn(function_arn)
        batch = CommandBatch.model_validate(payload)
        deadline = spoke_deadline(remaining_seconds, time.monotonic)
        runner = SpokeRunner(events=self.events, identity=identity, max_workers=self.settings.workers,
                             hung=self.hung)
        reply: SpokeReply = runner.run(batch, self.writer_for(identity), deadline=deadline)
        log.info("cycle %s: %d result(s) written, %d already there, %d refused",
                 batch.cycle_id, reply.written, reply.already_written, len(reply.refused))
        return reply.model_dump(mode="json")


def build_spoke(settings: Settings, *, base_session: Any = None,
                events: Mapping[str, EventOptions] | None = None) -> SpokeApp:
    settings.check_spoke()
    if events is None:
        from diva_runtime.user_logic import load_events

        events = load_events(settings.events_module)
    if base_session is None:
        import boto3

        base_session = boto3.session.Session()
    if not settings.hub_table:
        raise ConfigError(["DIVA_HUB_TABLE is required for the spoke"])
    return SpokeApp(settings=settings, events=events, base_session=base_session)
