"""A warm Lambda container runs many ticks in one process: nothing may pile up across them."""

from __future__ import annotations

import threading

from contracts.options import parse_events
from diva_runtime.cycle import default_sinks
from diva_runtime.settings import Settings
from diva_runtime.stores.file import FileStateStore
from hub.app import HubApp


def test_a_probe_that_hangs_every_tick_leaves_one_thread_not_one_per_tick(tmp_path):
    release = threading.Event()
    events = parse_events({"stuck": {"detect": lambda n: release.wait(30), "inject": lambda n: True,
                                     "timeout": 0.05, "max_failures": 50}})
    app = HubApp(settings=Settings(mode="monolithic", state_url=f"file:{tmp_path / 's.json'}"), events=events,
                 store=FileStateStore(tmp_path / "s.json"), sinks=default_sinks(events))
    try:
        before = threading.active_count()
        for minute in range(0, 30, 5):
            report = app.tick({"scheduled_time": f"2026-12-04T12:{minute:02d}:00Z"})
        assert threading.active_count() - before <= 2
        assert report.states["stuck"].detection_failures == 6
    finally:
        release.set()


class _RecordingWriter:
    """Stands in for the hub table: the runner only claims injections and writes results."""

    def __init__(self):
        self.results = []

    def claim_injection(self, cycle_id, event, *, now):
        return True

    def write(self, result, *, now):
        self.results.append(result)
        return True


def test_a_spoke_does_not_restart_a_probe_still_hung_from_an_earlier_invocation():
    from contracts.commands import CommandBatch, ProbeCommand
    from diva_runtime.probes import HungCalls
    from spoke.runner import SpokeIdentity, SpokeRunner

    release = threading.Event()
    started = []

    def detect(name):
        started.append(name)
        return release.wait(30)

    events = parse_events({"stuck": {"detect": detect, "inject": lambda n: True, "timeout": 0.05}})
    identity = SpokeIdentity(account="222222222222", region="eu-west-1")
    hung = HungCalls()
    writer = _RecordingWriter()
    try:
        for cycle in ("20261204T120000Z", "20261204T120500Z", "20261204T121000Z"):
            batch = CommandBatch(cycle_id=cycle, commands=(ProbeCommand(
                event="stuck", cycle_id=cycle, action="detect", account=identity.account, region=identity.region),))
            SpokeRunner(events=events, identity=identity, hung=hung).run(batch, writer)
        assert started == ["stuck"]  # later invocations did not start another thread
        assert [r.outcome for r in writer.results] == ["timeout"] * 3
        assert "still running" in writer.results[-1].reason
    finally:
        release.set()
