"""Run the commands meant for this spoke, with the engine's timeouts, and record results.

A command for another account or region is refused and nothing is written for it: the
hub then sees no result, which is what a misrouted command deserves. A command for an
event this spoke does not know, or for a half the event does not have, is answered with
an `error` result so the hub can say why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone

from contracts.commands import (
    MAX_CORRELATION_BYTES,
    MAX_REASON_BYTES,
    CommandBatch,
    ProbeCommand,
    ProbeResult,
    SpokeReply,
    clip_json_bytes,
)
from contracts.options import EventOptions
from diva_runtime.cycle import accepts_token
from diva_runtime.probes import DEFAULT_MAX_WORKERS, Call, Finished, HungCalls, interpret, run_calls
from spoke.writer import HubResultWriter

log = logging.getLogger("diva.spoke")

WRITE_WORKERS = 8
"""Parallel result writes (botocore pools 10 connections per client)."""


@dataclass(frozen=True)
class SpokeIdentity:
    account: str
    region: str

    @classmethod
    def from_function_arn(cls, arn: str) -> "SpokeIdentity":
        """`arn:aws:lambda:<region>:<account>:function:<name>`: set by Lambda, not by the caller."""
        parts = arn.split(":")
        if len(parts) < 7 or parts[2] != "lambda":
            raise ValueError(f"not a Lambda function ARN: {arn!r}")
        return cls(account=parts[4], region=parts[3])


class SpokeRunner:
    def __init__(self, *, events: Mapping[str, EventOptions], identity: SpokeIdentity,
                 max_workers: int = DEFAULT_MAX_WORKERS, wall_clock: Callable[[], datetime] | None = None,
                 hung: HungCalls | None = None):
        self.events = events
        self.identity = identity
        self.max_workers = max_workers
        self.hung = hung
        self._now = wall_clock or (lambda: datetime.now(timezone.utc))
        self._token_aware = {
            name: options.detect is not None and accepts_token(options.detect) for name, options in events.items()
        }

    def _refusal(self, command: ProbeCommand) -> str | None:
        if (command.account, command.region) != (self.identity.account, self.identity.region):
            return (f"{command.event}/{command.action}: meant for {command.account}/{command.region}, "
                    f"this spoke is {self.identity.account}/{self.identity.region}")
        return None

    def _invalid(self, command: ProbeCommand) -> str | None:
        options = self.events.get(command.event)
        if options is None:
            return f"event '{command.event}' is not defined in this spoke's events module"
        if getattr(options, command.action) is None:
            return f"event '{command.event}' has no {command.action} function in this spoke's events module"
        return None

    def run(self, batch: CommandBatch, writer: HubResultWriter, *, deadline: float | None = None) -> SpokeReply:
        refused: list[str] = []
        results: list[ProbeResult] = []
        calls: list[Call] = []
        started: dict[tuple[str, str], datetime] = {}
        commands: dict[tuple[str, str], ProbeCommand] = {}
        for command in batch.commands:
            refusal = self._refusal(command)
            if refusal:
                log.warning("refused command: %s", refusal)
                refused.append(refusal)
                continue
            problem = self._invalid(command)
            if problem:
                results.append(self._result(command, "error", problem, self._now(), 0.0))
                continue
            if command.action == "inject" and not writer.claim_injection(command.cycle_id, command.event, now=self._now()):
                log.info("%s: injection for cycle %s already claimed; not injecting twice",
                         command.event, command.cycle_id)
                continue
            commands[(command.event, command.action)] = command
            calls.append(self._call(command, started))

        # Keyed by (event, action), stable across invocations, so a probe still hung from an
        # earlier cycle is recognised and not started again.
        finished = {done.call.key: done for done in run_calls(calls, max_workers=self.max_workers,
                                                              deadline=deadline, hung=self.hung)}
        for call in calls:
            command = commands[call.key]
            done = finished.get(call.key)
            if done is None:
                reason = f"{command.action} still running when the spoke's deadline came"
                results.append(self._result(command, "timeout", reason, started.get(call.key, self._now()), 0.0))
                continue
            results.append(self._from_finished(command, done, started.get(call.key, self._now())))

        written = self._write_all(results, writer)
        return SpokeReply(account=self.identity.account, region=self.identity.region, written=written,
                          already_written=len(results) - written, refused=tuple(refused))

    def _call(self, command: ProbeCommand, started: dict[tuple[str, str], datetime]) -> Call:
        options = self.events[command.event]
        fn = options.detect if command.action == "detect" else options.inject
        args: tuple = (command.event,)
        if command.action == "detect" and self._token_aware[command.event]:
            args = (command.event, command.correlation_id)

        key = (command.event, command.action)

        def timed(*call_args):
            started[key] = self._now()
            return fn(*call_args)

        return Call(key, timed, args, min(command.timeout, options.timeout))

    def _from_finished(self, command: ProbeCommand, done: Finished, started_at: datetime) -> ProbeResult:
        outcome = interpret(command.action, done)
        correlation = outcome.token if command.action == "inject" else command.correlation_id
        return self._result(command, outcome.outcome, outcome.reason, started_at, outcome.duration, correlation)

    def _result(self, command: ProbeCommand, outcome: str, reason: str | None, started_at: datetime,
                duration: float, correlation_id: str | None = None) -> ProbeResult:
        return ProbeResult(
            event=command.event, cycle_id=command.cycle_id, action=command.action, outcome=outcome,
            reason=clip_json_bytes(reason, MAX_REASON_BYTES), started_at=started_at, duration=round(max(0.0, duration), 6),
            account=self.identity.account, region=self.identity.region,
            correlation_id=clip_json_bytes(correlation_id, MAX_CORRELATION_BYTES),
        )

    def _write_all(self, results: list[ProbeResult], writer: HubResultWriter) -> int:
        if not results:
            return 0
        now = self._now()
        with ThreadPoolExecutor(max_workers=min(WRITE_WORKERS, len(results))) as pool:
            outcomes = list(pool.map(lambda result: writer.write(result, now=now), results))
        return sum(outcomes)


def spoke_deadline(remaining_seconds: float | None, clock: Callable[[], float], margin: float = 2.0) -> float | None:
    """Stop probing early enough to write the results before Lambda stops the spoke."""
    if remaining_seconds is None:
        return None
    return clock() + max(0.5, remaining_seconds - margin)

