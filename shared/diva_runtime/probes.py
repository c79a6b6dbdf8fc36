"""Run user calls (detect, inject, alert) concurrently, each under its own timeout.

Python cannot kill a thread, so a call that overruns its timeout is *abandoned*: it is
recorded as a timeout at once, its worker is written off and replaced, and whatever it
returns later is discarded. The pool stays bounded by `max_workers` live workers, and
a hung probe can never hold up the cycle past its deadline.

Workers are long-lived threads fed from a queue rather than one future per call: at
10,000 instant probes per cycle the per-call overhead is what the engine costs.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from diva_core.observations import ProbeOutcome

DEFAULT_MAX_WORKERS = 128
INITIAL_WORKERS = 4
GROW_CHECK_SECONDS = 0.005
"""Probes mostly wait on the network (an HTTP call, a queue poll), not on the CPU, so the
pool is sized for waiting: 1,000 probes of 100 ms finish in about a second."""


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs ~3x, per call
class Call:
    key: Any
    fn: Callable[..., Any]
    args: tuple = ()
    timeout: float = 30.0


@dataclass(slots=True)
class Finished:
    call: Call
    value: Any = None
    error: BaseException | None = None
    timed_out: bool = False
    duration: float = 0.0
    cut_off: bool = False
    """Still running when the deadline came: its outcome is unknown."""
    still_hung: bool = False
    """Not started: the same call from an earlier cycle is still running (abandoned)."""


class HungCalls:
    """Calls abandoned after their timeout whose threads still run, by call key.

    A probe that hangs every cycle would otherwise leave one more thread behind each time;
    while its previous thread lives, the same call is not started again but reported as
    still hung, so abandoned threads stay bounded by the number of distinct calls.
    """

    def __init__(self) -> None:
        self._threads: dict[Any, threading.Thread] = {}

    def add(self, key: Any, thread: threading.Thread | None) -> None:
        if thread is not None:
            self._threads[key] = thread

    def still_running(self, key: Any) -> bool:
        thread = self._threads.get(key)
        if thread is None:
            return False
        if thread.is_alive():
            return True
        del self._threads[key]
        return False

    def __len__(self) -> int:
        return sum(1 for key in list(self._threads) if self.still_running(key))


FollowUp = Callable[[Finished], Iterable[Call]]


@dataclass
class _Worker:
    id: int
    current: tuple[int, Call, float] | None = None
    abandoned: bool = False
    thread: threading.Thread | None = field(default=None, repr=False)


def run_calls(
    calls: Iterable[Call],
    *,
    max_workers: int = DEFAULT_MAX_WORKERS,
    deadline: float | None = None,
    follow_up: FollowUp | None = None,
    hung: HungCalls | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> list[Finished]:
    """Run `calls` and whatever `follow_up` asks for after each one finishes.

    Returns every call that finished (or timed out) before `deadline` (a `clock()` value),
    plus those still running at the deadline (`cut_off`); calls not yet started at the
    deadline are never started and are absent.
    """
    closed = threading.Event()
    tasks: queue.SimpleQueue = queue.SimpleQueue()
    results: queue.SimpleQueue = queue.SimpleQueue()
    ids = itertools.count()
    workers: dict[int, _Worker] = {}
    settled: set[int] = set()
    outstanding = 0
    worker_ids = itertools.count()

    def work(worker: _Worker) -> None:
        while True:
            item = tasks.get()
            if item is None or worker.abandoned or closed.is_set():
                return
            task_id, call = item
            start = clock()
            worker.current = (task_id, call, start)
            try:
                value, error = call.fn(*call.args), None
            except BaseException as exc:  # noqa: BLE001 - user code: any failure is a probe failure
                value, error = None, exc
            worker.current = None
            if worker.abandoned:
                return
            results.put((task_id, Finished(call, value, error, False, clock() - start)))

    live = 0

    def start_worker() -> None:
        nonlocal live
        worker = _Worker(next(worker_ids))
        worker.thread = threading.Thread(target=work, args=(worker,), daemon=True, name=f"diva-probe-{worker.id}")
        workers[worker.id] = worker
        live += 1
        worker.thread.start()

    def grow() -> None:
        """Double the pool while every live worker is busy and calls are waiting.

        Starting threads costs ~1 ms each under load; instant probes never need many, slow
        (I/O-bound) probes get the full pool within a few tens of milliseconds.
        """
        if live >= max_workers or tasks.qsize() == 0:
            return
        if any(w.current is None for w in workers.values() if not w.abandoned):
            return
        for _ in range(min(max(live, 1), max_workers - live, tasks.qsize())):
            start_worker()

    def submit(call: Call) -> None:
        nonlocal outstanding
        outstanding += 1
        if hung is not None and hung.still_running(call.key):
            settle(next(ids), Finished(call, timed_out=True, still_hung=True))
            return
        tasks.put((next(ids), call))
        if live < min(INITIAL_WORKERS, max_workers):
            start_worker()

    finished: list[Finished] = []

    def settle(task_id: int, result: Finished) -> None:
        nonlocal outstanding
        settled.add(task_id)
        outstanding -= 1
        finished.append(result)
        if follow_up is not None:
            for call in follow_up(result):
                submit(call)

    for call in calls:
        submit(call)

    last_grow_check = clock()
    try:
        while outstanding:
            now = clock()
            if deadline is not None and now >= deadline:
                break
            if now - last_grow_check >= GROW_CHECK_SECONDS:
                last_grow_check = now
                grow()
            # the earliest moment a running call times out
            due = None
            for worker in workers.values():
                if worker.current and not worker.abandoned:
                    _, call, began = worker.current
                    due = began + call.timeout if due is None else min(due, began + call.timeout)
            wake = min((t for t in (due, deadline) if t is not None), default=None)
            if live < max_workers:
                wake = now + GROW_CHECK_SECONDS if wake is None else min(wake, now + GROW_CHECK_SECONDS)
            try:
                task_id, result = results.get(timeout=None if wake is None else max(0.0, wake - now))
            except queue.Empty:
                task_id = None  # woke up to look for overdue calls
            if task_id is not None and task_id not in settled:
                settle(task_id, result)
            now = clock()
            if due is None or now < due:
                continue  # nothing overdue yet: a steady stream of results must not hide a hung call
            for worker in list(workers.values()):
                running = worker.current
                if worker.abandoned or running is None:
                    continue
                task_id, call, began = running
                if now - began >= call.timeout and task_id not in settled:
                    worker.abandoned = True
                    live -= 1
                    if hung is not None:
                        hung.add(call.key, worker.thread)
                    settle(task_id, Finished(call, timed_out=True, duration=now - began))
                    if outstanding:
                        start_worker()
    finally:
        # Nothing queued may start after we return: the caller has moved on (and on Lambda
        # the process is frozen until the next invocation).
        closed.set()
        for _ in workers:
            tasks.put(None)
    for worker in workers.values():
        running = worker.current
        if running is not None and not worker.abandoned and running[0] not in settled:
            finished.append(Finished(running[1], cut_off=True, duration=clock() - running[2]))
    return finished


def describe_error(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def interpret(action: str, finished: Finished) -> ProbeOutcome:
    """What a user's detect/inject call meant: the contract of the options table.

    detect: True = healthy, False = not detected. inject: True or None = sent, False =
    failed, a string = sent, with a correlation token for the detector. Anything else,
    an exception or a timeout is a failure with its reason recorded.
    """
    call, value, duration = finished.call, finished.value, finished.duration
    if finished.still_hung:
        return ProbeOutcome(action, "timeout", f"{action} from an earlier cycle is still running "
                            f"(timed out after {call.timeout:g}s); not started again")
    if finished.cut_off:
        return ProbeOutcome(action, "timeout", f"{action} was still running at the deadline", duration=duration)
    if finished.timed_out:
        return ProbeOutcome(action, "timeout", f"{action} did not finish within {call.timeout:g}s", duration=duration)
    if finished.error is not None:
        return ProbeOutcome(action, "error", f"{action} raised {describe_error(finished.error)}", duration=duration)
    if action == "detect":
        if value is True:
            return ProbeOutcome(action, "ok", duration=duration)
        if value is False:
            return ProbeOutcome(action, "failed", "detect returned False", duration=duration)
        return ProbeOutcome(
            action, "error", f"detect returned {value!r} ({type(value).__name__}), expected True or False",
            duration=duration,
        )
    if value is True or value is None:
        return ProbeOutcome(action, "ok", duration=duration)
    if value is False:
        return ProbeOutcome(action, "failed", "inject returned False", duration=duration)
    if isinstance(value, str):
        return ProbeOutcome(action, "ok", token=value[:1024], duration=duration)
    return ProbeOutcome(
        action, "error", f"inject returned {value!r} ({type(value).__name__}), expected True, False, None or a token string",
        duration=duration,
    )
