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
