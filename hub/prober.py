"""The hub's prober: the cycle's `Prober` port, answered by spokes in other accounts.

Two phases inside one tick, the monolithic order: every event's first half (detect, or
inject for inject-only events), then, from those outcomes, the injections the engine asks
for (`should_inject`). Each phase:

1. reads the results this cycle already has (a duplicated tick re-uses them: nothing is
   injected twice);
2. sends the missing commands, one synchronous invoke per spoke account and region, in
   parallel, and waits until every spoke answered or the phase's time is up;
3. reads the results back from the table by computed key. A command whose result is still
   missing counts as a failed probe, reason `no result`.

An event that could not even be dispatched before the tick's deadline is left out, like
an unfinished probe in monolithic mode: it keeps its state.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait

from contracts.commands import CommandBatch, ProbeCommand
from contracts.placement import Placement, Target
from diva_core.observations import Observation, ProbeOutcome
from diva_runtime.cycle import ProbePlan
from hub.dispatch import Dispatcher, DispatchError
from hub.results import Expected, ResultReader

log = logging.getLogger("diva.hub.prober")

NO_RESULT = "no result"
DISPATCH_MARGIN = 5.0
"""Seconds a spoke gets beyond its slowest probe: cold start, STS, writing results."""
MAX_PARALLEL_INVOKES = 32


class RemoteProber:
    def __init__(self, *, cycle_id: str, placements: Mapping[str, Placement], dispatcher: Dispatcher,
                 results: ResultReader, clock: Callable[[], float] = time.monotonic,
                 dispatch_margin: float = DISPATCH_MARGIN):
        self.cycle_id = cycle_id
        self.placements = placements
        self.dispatcher = dispatcher
        self.results = results
        self.clock = clock
        self.dispatch_margin = dispatch_margin
        self.dispatch_errors: list[str] = []

    def observe(self, names: Sequence[str], plan: ProbePlan, deadline: float | None) -> dict[str, Observation]:
        first = {name: ("detect" if plan.policies[name].detects else "inject") for name in names}
        first_outcomes = self._phase(first, plan, deadline)
        detected = {n: o for n, o in first_outcomes.items() if first[n] == "detect"}
        injected = {n: o for n, o in first_outcomes.items() if first[n] == "inject"}

        second = {n: "inject" for n, outcome in detected.items() if plan.should_inject(n, outcome)}
        injected.update(self._phase(second, plan, deadline))

        observations: dict[str, Observation] = {}
        for name in names:
            if name not in first_outcomes or (name in second and name not in injected):
                continue  # never dispatched before the deadline: keeps its state
            observations[name] = Observation(detect=detected.get(name), inject=injected.get(name))
        return observations

    def _expected(self, name: str, action: str) -> Expected:
        return Expected(name, action, self.placements[name].target(action), self.cycle_id)

    def _phase(self, wanted: Mapping[str, str], plan: ProbePlan, deadline: float | None) -> dict[str, ProbeOutcome]:
        if not wanted:
            return {}
        expected = {name: self._expected(name, action) for name, action in wanted.items()}
        found = self.results.read(expected.values())
        missing = [name for name, exp in expected.items() if exp not in found]
        if not missing:
            return {name: found[exp] for name, exp in expected.items()}

        timeout = max(plan.policies[name].timeout for name in missing) + self.dispatch_margin
        if deadline is not None:
            timeout = min(timeout, deadline - self.clock())
        if timeout <= 0:
            log.warning("cycle %s: no time left to dispatch %d command(s)", self.cycle_id, len(missing))
            return {name: found[exp] for name, exp in expected.items() if exp in found}

        failures = self._dispatch(missing, wanted, plan, timeout)
        found.update(self.results.read(expected[name] for name in missing))
        outcomes: dict[str, ProbeOutcome] = {}
        for name, exp in expected.items():
            if exp in found:
                outcomes[name] = found[exp]
            else:
                why = failures.get(exp.target)
                reason = NO_RESULT if why is None else f"{NO_RESULT} ({why})"
                outcomes[name] = ProbeOutcome(exp.action, "no_result", reason)
        return outcomes

    def _dispatch(self, names: Sequence[str], wanted: Mapping[str, str], plan: ProbePlan,
                  timeout: float) -> dict[Target, str]:
        """Invoke every spoke concerned in parallel; returns why a spoke did not answer."""
        batches: dict[Target, list[ProbeCommand]] = defaultdict(list)
        for name in names:
            action = wanted[name]
            target = self.placements[name].target(action)
            token = plan.state(name).correlation_token if action == "detect" else None
            batches[target].append(ProbeCommand(
                event=name, cycle_id=self.cycle_id, action=action, account=target.account, region=target.region,
                correlation_id=token, timeout=plan.policies[name].timeout,
            ))
        failures: dict[Target, str] = {}
        pool = ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_INVOKES, len(batches)), thread_name_prefix="diva-invoke")
        try:
            futures = {
                pool.submit(self.dispatcher.dispatch, target, CommandBatch(cycle_id=self.cycle_id, commands=tuple(cmds)),
                            timeout=timeout): target
                for target, cmds in batches.items()
            }
            done, pending = wait(futures, timeout=timeout)
            for future in pending:
                failures[futures[future]] = f"spoke did not answer within {timeout:.0f}s"
            for future in done:
                target = futures[future]
                try:
                    reply = future.result()
                except DispatchError as exc:
                    failures[target] = str(exc)
                    continue
                refused = reply.get("refused") if isinstance(reply, Mapping) else None
                if refused:
                    log.error("spoke %s refused %d command(s): %s", target, len(refused), "; ".join(refused[:5]))
        finally:
            # A spoke still running is abandoned, not awaited: its late result lands at this
            # cycle's key, which no later cycle reads.
            pool.shutdown(wait=False, cancel_futures=True)
        for target, why in failures.items():
            log.error("cycle %s: %s", self.cycle_id, why if str(target) in why else f"spoke {target}: {why}")
            self.dispatch_errors.append(f"{target}: {why}")
        return failures
