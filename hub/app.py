"""The tick function's composition root: one code path for monolithic and hub mode.

Both modes run the same `Cycle`; they differ only in what is plugged in:

    monolithic  in-process prober   S3 (or file) state   event's alert (+ SNS if a topic is set)
    hub         spokes via Lambda   DynamoDB state       event's alert + the hub's SNS topic

Built once per Lambda container, on the first invocation, from `Settings`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from contracts.options import EventOptions, parse_events
from contracts.placement import Placement, Target, parse_targets, resolve_placements
from diva_core.errors import ConfigError
from diva_runtime import aws
from diva_runtime.cycle import Cycle, CycleReport, InProcessProber, Prober, SinkFactory, default_sinks
from diva_runtime.probes import HungCalls
from diva_runtime.settings import Settings
from diva_runtime.stores.base import StateStore
from hub.alerts import SnsSink
from hub.dispatch import Dispatcher, LambdaDispatcher
from hub.metrics import RecordingMetrics, TickFigures, TickMetrics
from hub.prober import RemoteProber
from hub.results import ResultReader
from hub.ticks import parse_tick

log = logging.getLogger("diva.hub")


@dataclass
class Remote:
    """Hub mode's way of probing: where each half runs, how to reach it, where results land."""

    placements: Mapping[str, Placement]
    dispatcher: Dispatcher
    results: ResultReader


@dataclass
class HubApp:
    settings: Settings
    events: Mapping[str, EventOptions]
    store: StateStore
    sinks: SinkFactory
    metrics: TickMetrics = field(default_factory=RecordingMetrics)
    remote: Remote | None = None
    clock: Callable[[], float] = time.monotonic
    last_prober: Prober | None = field(default=None, repr=False)
    # Kept across ticks of a warm container: they remember calls abandoned after their
    # timeout, so a probe or sink that hangs every tick does not leave a thread per tick.
    _in_process: InProcessProber | None = field(default=None, repr=False)
    _hung_sinks: HungCalls = field(default_factory=HungCalls, repr=False)

    def prober_for(self, cycle_id: str) -> Prober:
        if self.remote is None:
            if self._in_process is None:
                self._in_process = InProcessProber(self.events, max_workers=self.settings.workers)
            return self._in_process
        return RemoteProber(cycle_id=cycle_id, placements=self.remote.placements,
                            dispatcher=self.remote.dispatcher, results=self.remote.results, clock=self.clock)

    def tick(self, event: Mapping[str, Any] | None, *, remaining_seconds: float | None = None) -> CycleReport:
        started = self.clock()
        try:
            tick = parse_tick(event)
            deadline = None
            if remaining_seconds is not None:
                deadline = started + max(1.0, remaining_seconds - self.settings.tick_margin_seconds)
            prober = self.last_prober = self.prober_for(tick.cycle_id)
            cycle = Cycle(events=self.events, store=self.store, prober=prober, sinks=self.sinks,
                          max_workers=self.settings.workers, hung_sinks=self._hung_sinks)
            report = cycle.run(cycle_id=tick.cycle_id, now=tick.scheduled_at, deadline=deadline)
        except Exception:
            self.metrics.tick_failed()
            raise
        self.metrics.tick_completed(TickFigures.from_report(report, self.clock() - started))
        return report


def summary(report: CycleReport) -> dict[str, Any]:
    """What the handler returns and logs: small, whatever the number of events."""
    return {
        "cycle_id": report.cycle_id,
        "transitions": [f"{t.event}: {t.old} -> {t.new} ({t.reason})" for t in report.transitions],
        "alerts_sent": sum(1 for d in report.deliveries if d.kind != "recovery" and d.complete),
        "recoveries_sent": sum(1 for d in report.deliveries if d.kind == "recovery" and d.complete),
        "deliveries_failed": sum(1 for d in report.deliveries if not d.complete),
        "skipped_duplicate": len(report.skipped_duplicate),
        "unfinished": report.unfinished,
    }


def load_events_and_targets(source: str) -> tuple[dict[str, EventOptions], dict[str, Target]]:
    """`get_events()` and the optional `get_targets()` from one load of the user's module."""
    from diva_runtime.user_logic import load_module

    module = load_module(source)
    results = []
    for function_name, required in (("get_events", True), ("get_targets", False)):
        function = getattr(module, function_name, None)
        if function is None and not required:
            results.append(None)
            continue
        if not callable(function):
            raise ConfigError([f"events module {source}: defines no {function_name}() function"])
        try:
            results.append(function())
        except Exception as exc:
            raise ConfigError([f"events module {source}: {function_name}() raised {type(exc).__name__}: {exc}"]) from exc
    return parse_events(results[0]), parse_targets(results[1])


def identity_from_arn(arn: str | None) -> tuple[str | None, str | None]:
    """(account, region) of a Lambda function ARN, or (None, None)."""
    parts = (arn or "").split(":")
    return (parts[4], parts[3]) if len(parts) >= 7 and parts[2] == "lambda" else (None, None)


def _hub_runs_a_spoke(settings: Settings, hub: Target) -> bool:
    """Only if DIVA_SPOKE_ACCOUNTS and DIVA_SPOKE_REGIONS list the hub's own account and region
    (the single-account distributed stack does). The hub stack deploys no spoke beside
    itself, and a service-managed StackSet never deploys to the management account."""
    return hub.account in settings.spoke_accounts and hub.region in settings.spoke_regions


def _require_placements(events: Mapping[str, EventOptions], settings: Settings, hub: Target) -> None:
    """Without a spoke in the hub account, a half with no placement could never be probed:
    every tick would record `no result` and alert. Refuse it at startup instead."""
    if _hub_runs_a_spoke(settings, hub):
        return
    problems = []
    for name, options in sorted(events.items()):
        placement = options.placement
        missing = [half for half in ("inject", "detect") if placement is None or getattr(placement, half) is None]
        if missing:
            what = "placement" if len(missing) == 2 else f"placement.{missing[0]}"
            problems.append(f"event '{name}': {what} is required in hub mode "
                            f"(no spoke runs in the hub account {hub})")
    if problems:
        raise ConfigError(problems)


def _check_spokes(placements: Mapping[str, Placement], settings: Settings) -> None:
    """With a known list of spoke accounts/regions, a placement outside it is a config error."""
    accounts = set(settings.spoke_accounts) or None
    regions = set(settings.spoke_regions) or None
    problems = []
    for event, placement in placements.items():
        for half in ("inject", "detect"):
            target = placement.target(half)
            if accounts is not None and target.account not in accounts:
                problems.append(f"event '{event}': placement.{half} is account {target.account}, "
                                f"which has no spoke (DIVA_SPOKE_ACCOUNTS: {', '.join(settings.spoke_accounts)})")
            if regions is not None and target.region not in regions:
                problems.append(f"event '{event}': placement.{half} is region {target.region}, "
                                f"which has no spoke (DIVA_SPOKE_REGIONS: {', '.join(settings.spoke_regions)})")
    if problems:
        raise ConfigError(problems)


def _state_store(settings: Settings, session: Any, region: str | None) -> StateStore:
    url = settings.state_url or ""
    endpoint = settings.endpoint_url
    if url.startswith("dynamodb://"):
        from diva_runtime.stores.dynamodb import DynamoDBStateStore

        if "?" in url or not settings.state_table:
            raise ConfigError([f"DIVA_STATE_URL must be dynamodb://<table> in hub mode, got {url!r}"])
        client = aws.client("dynamodb", session=session, region=region, endpoint_url=endpoint)
        return DynamoDBStateStore(table=settings.state_table, client=client)
    if url.startswith("s3://"):
        from diva_runtime.stores.s3 import S3StateStore

        parsed = urlparse(url)
        if not parsed.netloc or not parsed.path.strip("/"):
            raise ConfigError([f"DIVA_STATE_URL must be s3://<bucket>/<key>, got {url!r}"])
        client = aws.client("s3", session=session, region=region, endpoint_url=endpoint)
        return S3StateStore(bucket=parsed.netloc, key=parsed.path.lstrip("/"), client=client)
    from diva_runtime.stores import open_store

    return open_store(url, endpoint_url=endpoint, region=region)


def build_hub(
    settings: Settings,
    *,
    function_arn: str | None = None,
    session: Any = None,
    events: Mapping[str, EventOptions] | None = None,
    targets: Mapping[str, Target] | None = None,
    dispatcher: Dispatcher | None = None,
    metrics: TickMetrics | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> HubApp:
    settings.check_hub()
    if events is None:
        events, loaded_targets = load_events_and_targets(settings.events_module)
        targets = loaded_targets if targets is None else targets
    if session is None:
        import boto3

        session = boto3.session.Session()
    account, arn_region = identity_from_arn(function_arn)
    region = settings.region or arn_region or session.region_name

    extra = []
    if settings.alert_topic_arn:
        topic_region = settings.alert_topic_arn.split(":")[3]
        sns = aws.client("sns", session=session, region=topic_region, endpoint_url=settings.endpoint_url)
        extra.append(SnsSink(topic_arn=settings.alert_topic_arn, client=sns))
    sinks = default_sinks(events, extra=extra)
    store = _state_store(settings, session, region)
    app = HubApp(settings=settings, events=events, store=store, sinks=sinks,
                 metrics=metrics or RecordingMetrics(), clock=clock)
    if settings.mode == "monolithic":
        placed = sorted(name for name, options in events.items() if options.placement is not None)
        if placed:
            log.warning("monolithic mode runs every event here; placement ignored for: %s", ", ".join(placed))
        return app

    hub_account = settings.hub_account or account
    if not hub_account or not region:
        raise ConfigError(["the hub's own account and region are unknown: set DIVA_HUB_ACCOUNT and AWS_REGION"])
    hub_target = Target(account=hub_account, region=region)
    _require_placements(events, settings, hub_target)
    placements = resolve_placements({name: options.placement for name, options in events.items()},
                                    targets or {}, default=hub_target)
    _check_spokes(placements, settings)
    table_client = aws.client("dynamodb", session=session, region=region, endpoint_url=settings.endpoint_url)
    app.remote = Remote(
        placements=placements,
        dispatcher=dispatcher or LambdaDispatcher(function_name=settings.spoke_function_name, session=session,
                                                  endpoint_url=settings.endpoint_url),
        results=ResultReader(client=table_client, table=settings.state_table, known_events=list(events)),
    )
    return app
