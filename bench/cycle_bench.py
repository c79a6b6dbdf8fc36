"""Engine overhead and I/O-bound concurrency of one cycle, with the file store and defaults.

Run: `make bench` (all benchmarks) or `.venv/bin/python -m bench.cycle_bench`.
Targets on a 2-core machine: 10,000 instant events <= 0.4 s per cycle; 1,000 events whose
detect sleeps 100 ms <= 1.5 s per cycle.
"""

from __future__ import annotations

import resource
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from contracts.options import parse_events
from diva_runtime.cycle import Cycle, InProcessProber
from diva_runtime.stores.file import FileStateStore

T0 = datetime(2026, 12, 4, tzinfo=timezone.utc)


def _instant(name):
    return True


def _sleepy(name):
    time.sleep(0.1)
    return True


def _events(count: int, detect):
    return parse_events({f"event-{i:05d}": {"detect": detect, "inject": _instant} for i in range(count)})


def measure(count: int, detect, cycles: int) -> dict:
    parse_started = time.perf_counter()
    events = _events(count, detect)
    parse_seconds = time.perf_counter() - parse_started
    with tempfile.TemporaryDirectory() as folder:
        store = FileStateStore(Path(folder) / "state.json")
        cycle = Cycle(events=events, store=store, prober=InProcessProber(events))
        timings = []
        for n in range(cycles):
            started = time.perf_counter()
            cycle.run(cycle_id=f"bench-{n}", now=T0 + timedelta(minutes=5 * n))
            timings.append(time.perf_counter() - started)
        size = (Path(folder) / "state.json").stat().st_size
    return {
        "first": timings[0],
        "steady": statistics.median(timings[1:]) if len(timings) > 1 else timings[0],
        "parse": parse_seconds,
        "state_bytes": size,
    }


def main() -> None:
    rows = [
        ("10,000 events, instant probes", measure(10_000, _instant, 5), 0.4),
        ("1,000 events, detect sleeps 100 ms", measure(1_000, _sleepy, 3), 1.5),
    ]
    print("cycle benchmark (file store, default settings: max_workers=128)")
    print(f"{'workload':38} {'1st cycle':>10} {'steady':>10} {'target':>8} {'config':>8} {'state':>10}")
    for label, r, target in rows:
        verdict = "ok" if r["steady"] <= target else "MISSED"
        print(f"{label:38} {r['first']:>9.3f}s {r['steady']:>9.3f}s {target:>7.1f}s {r['parse']:>7.3f}s "
              f"{r['state_bytes'] / 1024:>8.0f}KB  {verdict}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB; '1st cycle' writes every event (all new), 'steady' is the median of later cycles")


if __name__ == "__main__":
    main()
