"""The cycle runner with real threads, real timeouts and the file store."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from contracts.options import parse_events
from contracts.state import EventState
from diva_core.errors import CorruptStateError
from diva_runtime.cycle import Cycle, InProcessProber
from diva_runtime.stores.file import FileStateStore

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)


def make_cycle(raw, path, *, max_workers=16):
    events = parse_events(raw)
    return Cycle(events=events, store=FileStateStore(path), prober=InProcessProber(events, max_workers=max_workers),
                 max_workers=max_workers)


def run(cycle, n=1, deadline=None):
    return cycle.run(cycle_id=f"c{n}", now=T0 + timedelta(minutes=5 * n), deadline=deadline)


def test_a_hanging_detect_times_out_without_holding_up_other_events(tmp_path):
    release = threading.Event()
    cycle = make_cycle({
        "hangs": {"detect": lambda n: release.wait(30), "inject": lambda n: True, "timeout": 0.3},
        "fine": {"detect": lambda n: True, "inject": lambda n: True},
    }, tmp_path / "s.json")
    started = time.monotonic()
    report = run(cycle)
    release.set()
    assert time.monotonic() - started < 5
    hung = report.states["hangs"]
    assert hung.detection_failures == 1 and hung.last_error_reason == "timeout"
    assert "within 0.3s" in hung.last_error
    assert report.states["fine"].status == "healthy"


def test_exceptions_and_non_bools_are_failures_with_reasons(tmp_path):
    def explode(name):
        raise ConnectionError("queue unreachable")

    cycle = make_cycle({
        "raises": {"detect": explode, "inject": lambda n: True, "max_failures": 5},
        "says_yes": {"detect": lambda n: "yes", "inject": lambda n: True, "max_failures": 5},
        "inject_raises": {"detect": lambda n: False, "inject": explode, "max_failures": 5,
                          "max_failed_injections": 5},
    }, tmp_path / "s.json")
    states = run(cycle).states
    assert states["raises"].last_error == "detect raised ConnectionError: queue unreachable"
    assert states["says_yes"].last_error_reason == "error" and "'yes' (str)" in states["says_yes"].last_error
    assert states["inject_raises"].injection_failures == 1
    assert "injection: inject raised ConnectionError" in states["inject_raises"].last_error


def test_the_deadline_keeps_unfinished_events_as_they_were_and_saves_the_rest(tmp_path):
    cycle = make_cycle({
        "slow": {"detect": lambda n: time.sleep(2) or False, "inject": lambda n: True, "timeout": 10},
        "quick": {"detect": lambda n: False, "inject": lambda n: True, "max_failures": 5},
    }, tmp_path / "s.json")
    report = run(cycle, deadline=time.monotonic() + 0.5)
    assert report.unfinished == ["slow"]
    stored = FileStateStore(tmp_path / "s.json").load().states
    assert "slow" not in stored and stored["quick"].detection_failures == 1


def test_an_alert_that_raises_is_retried_next_cycle_and_sent_once(tmp_path):
    calls = []

    def flaky_alert(message):
        calls.append(message)
        if len(calls) == 1:
            raise RuntimeError("slack is down")

    cycle = make_cycle({"e": {"detect": lambda n: False, "inject": lambda n: True, "alert": flaky_alert}},
                       tmp_path / "s.json")
    first = run(cycle, 1)
    assert not first.states["e"].alerted and first.deliveries[0].errors == {"function": "RuntimeError: slack is down"}
    second = run(cycle, 2)
    assert second.states["e"].alerted and second.deliveries[0].complete
    run(cycle, 3)
    assert len(calls) == 2 and calls[0] == calls[1]


def test_events_without_an_alert_function_log_at_error(tmp_path, caplog):
    cycle = make_cycle({"quiet": {"detect": lambda n: False, "inject": lambda n: True}}, tmp_path / "s.json")
    with caplog.at_level(logging.ERROR, logger="diva.alerts"):
        report = run(cycle)
    assert report.states["quiet"].alerted
    assert any(r.levelno == logging.ERROR and "event 'quiet' is failing" in r.getMessage() for r in caplog.records)


def test_a_duplicated_cycle_changes_nothing_and_alerts_nothing_twice(tmp_path):
    alerts = []
    cycle = make_cycle({"e": {"detect": lambda n: False, "inject": lambda n: True, "alert": alerts.append}},
                       tmp_path / "s.json")
    first = run(cycle, 7)
    again = run(cycle, 7)
    assert again.skipped_duplicate == ["e"]
    assert again.states["e"] == first.states["e"] and len(alerts) == 1


def test_probes_run_concurrently_but_within_max_workers(tmp_path):
    lock = threading.Lock()
    running = peak = 0

    def detect(name):
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return True

    cycle = make_cycle({f"e{i}": {"detect": detect, "inject": lambda n: True} for i in range(40)},
                       tmp_path / "s.json", max_workers=8)
    run(cycle)
    assert peak == 8


def test_detect_receives_the_token_its_injection_returned(tmp_path):
    seen = []

    def detect(name, token=None):
        seen.append(token)
        return token is not None

    cycle = make_cycle({"e": {"detect": detect, "inject": lambda n: "order-42"}}, tmp_path / "s.json")
    run(cycle, 1)
    report = run(cycle, 2)
    assert seen == [None, "order-42"] and report.states["e"].status == "healthy"


def test_a_concurrent_writer_between_read_and_write_is_built_on(tmp_path):
    path = tmp_path / "s.json"
    cycle = make_cycle({"e": {"detect": lambda n: False, "inject": lambda n: True, "max_failures": 10}}, path)
    original = cycle.store.commit
    interfered = []

    def commit_after_someone_else(base, changes):
        if not interfered:
            interfered.append(True)
            run(make_cycle({"e": {"detect": lambda n: False, "inject": lambda n: True, "max_failures": 10}}, path), 1)
        return original(base, changes)

    cycle.store.commit = commit_after_someone_else
    report = run(cycle, 2)
    assert report.states["e"].detection_failures == 2  # both cycles counted, none lost


def test_a_corrupt_state_file_is_an_error_and_left_untouched(tmp_path):
    path = tmp_path / "s.json"
    path.write_text("{not json")
    cycle = make_cycle({"e": {"detect": lambda n: True, "inject": lambda n: True}}, path)
    with pytest.raises(CorruptStateError, match=str(path)):
        run(cycle)
    assert path.read_text() == "{not json"


def test_upstream_state_file_keeps_its_counters(tmp_path):
    path = tmp_path / "s.json"
    path.write_text('{"e": {"detection_failures": 2, "injection_failures": 0, "injected": true, "alerted": false}}')
    cycle = make_cycle({"e": {"detect": lambda n: False, "inject": lambda n: True, "max_failures": 3}}, path)
    report = run(cycle)
    assert report.states["e"].detection_failures == 3 and report.states["e"].alerted


def test_missing_state_starts_empty(tmp_path):
    assert FileStateStore(tmp_path / "none" / "s.json").load().states == {}
    assert EventState().status == "new"


def test_calls_not_started_by_the_deadline_never_start(tmp_path):
    from diva_runtime.probes import Call, run_calls

    started = []

    def slow(i):
        started.append(i)
        time.sleep(0.2)
        return True

    finished = run_calls([Call(i, slow, (i,), 5) for i in range(20)], max_workers=2,
                         deadline=time.monotonic() + 0.3)
    time.sleep(1.0)
    assert len(started) <= 4  # the ones in flight at the deadline, nothing queued after it
    assert any(f.cut_off for f in finished)


def test_a_probe_that_hangs_every_cycle_leaves_one_thread_behind_not_one_per_cycle(tmp_path):
    release = threading.Event()
    cycle = make_cycle({"hangs": {"detect": lambda n: release.wait(30), "inject": lambda n: True,
                                  "timeout": 0.05, "max_failures": 10}}, tmp_path / "s.json")
    try:
        before = threading.active_count()
        reports = [run(cycle, n) for n in range(1, 6)]
        assert threading.active_count() - before <= 2
        assert reports[-1].states["hangs"].detection_failures == 5
        assert "still running" in reports[-1].states["hangs"].last_error
    finally:
        release.set()


def test_a_redelivered_old_scheduled_tick_is_not_applied_again(tmp_path):
    cycle = make_cycle({"e": {"detect": lambda n: False, "inject": lambda n: True, "max_failures": 3}},
                       tmp_path / "s.json")
    cycle.run(cycle_id="20261204T120000Z", now=T0)
    cycle.run(cycle_id="20261204T120500Z", now=T0 + timedelta(minutes=5))
    late = cycle.run(cycle_id="20261204T120000Z", now=T0 + timedelta(minutes=6))
    assert late.skipped_duplicate == ["e"]
    assert late.states["e"].detection_failures == 2 and not late.states["e"].alerted


def test_overlapping_ad_hoc_runs_are_all_counted_whatever_their_order(tmp_path):
    cycle = make_cycle({"e": {"detect": lambda n: False, "inject": lambda n: True, "max_failures": 9}},
                       tmp_path / "s.json")
    cycle.run(cycle_id="20261204T120005Z-bbbb", now=T0)
    report = cycle.run(cycle_id="20261204T120001Z-aaaa", now=T0)
    assert report.states["e"].detection_failures == 2


def test_notices_sent_but_not_recorded_are_reported_and_the_cycle_still_counts(tmp_path, monkeypatch):
    from diva_core.errors import StaleStateError
    from diva_runtime import persist

    monkeypatch.setattr(persist, "BACKOFF_SECONDS", 0.0)

    alerts = []
    cycle = make_cycle({"e": {"detect": lambda n: False, "inject": lambda n: True, "alert": alerts.append}},
                       tmp_path / "s.json")
    original, commits = cycle.store.commit, []

    def second_commit_always_conflicts(base, changes):
        commits.append(1)
        if len(commits) > 1:
            raise StaleStateError("someone keeps winning")
        return original(base, changes)

    cycle.store.commit = second_commit_always_conflicts
    report = run(cycle, 1)
    assert len(alerts) == 1 and "gave up after 32 compare-and-set conflicts" in report.delivery_record_error
    stored = FileStateStore(tmp_path / "s.json").load().states["e"]
    assert stored.detection_failures == 1 and stored.outbox[0].claimed_by == "c1"  # observation kept


def test_a_cycle_that_died_after_claiming_an_alert_sends_it_once_the_claim_expires(tmp_path):
    alerts = []
    raw = {"e": {"detect": lambda n: False, "inject": lambda n: True, "alert": alerts.append, "max_failures": 1}}
    crashing = make_cycle(raw, tmp_path / "s.json")

    def crash(*args, **kwargs):
        raise RuntimeError("Lambda timed out")

    crashing._deliver = crash
    with pytest.raises(RuntimeError):
        crashing.run(cycle_id="c1", now=T0)
    assert alerts == []
    cycle = make_cycle(raw, tmp_path / "s.json")
    cycle.run(cycle_id="c2", now=T0 + timedelta(minutes=5))
    assert alerts == []  # still claimed by c1: it might yet be sending
    cycle.run(cycle_id="c3", now=T0 + timedelta(minutes=15))
    cycle.run(cycle_id="c4", now=T0 + timedelta(minutes=20))
    assert len(alerts) == 1


def test_a_hung_call_times_out_on_time_while_other_results_keep_arriving():
    from diva_runtime.probes import Call, run_calls

    release = threading.Event()
    calls = [Call("hung", release.wait, (30,), 0.2)] + [
        Call(i, time.sleep, (0.01,), 5) for i in range(300)]
    started = time.monotonic()
    finished = run_calls(calls, max_workers=2)
    release.set()
    hung = next(f for f in finished if f.call.key == "hung")
    assert hung.timed_out and hung.duration < 1.0
    assert time.monotonic() - started < 5


def test_claims_stored_before_a_commit_gave_up_are_sent_at_once(tmp_path, monkeypatch):
    """A per-event store (DynamoDB) can store some events, then give up on the others."""
    from diva_core.errors import StaleStateError
    from diva_runtime import persist

    monkeypatch.setattr(persist, "BACKOFF_SECONDS", 0.0)
    alerts = []
    raw = {name: {"detect": lambda n: False, "inject": lambda n: True, "alert": alerts.append}
           for name in ("a", "b")}
    cycle = make_cycle(raw, tmp_path / "s.json")
    underlying = cycle.store.commit

    def b_always_loses(base, changes):
        if "b" not in changes:
            return underlying(base, changes)
        stored = {n: s for n, s in changes.items() if n != "b"}
        if stored:
            underlying(base, stored)
        raise StaleStateError("b changed under us", written=frozenset(stored))

    cycle.store.commit = b_always_loses
    with pytest.raises(StaleStateError):
        run(cycle, 1)
    assert len(alerts) == 1 and "'a'" in alerts[0]
    stored = FileStateStore(tmp_path / "s.json").load().states
    assert stored["a"].alerted and stored["a"].outbox == () and "b" not in stored
