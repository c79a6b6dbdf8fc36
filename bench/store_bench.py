"""AWS requests and bytes of real monitoring cycles on the S3 and DynamoDB state stores.

Run: `make bench` (all benchmarks) or `.venv/bin/python -m bench.store_bench [--sizes 10,1000]`.

What runs is the runtime's own `diva_runtime.cycle.Cycle` with `InProcessProber`: load,
probe, evaluate, claim the outbox, commit, deliver, record the delivery. Probes return at
once; every event has an `alert` function that only counts. Per store and size N, against
moto in this process:

1. Seed (not measured): every event healthy at version 1, written in bulk.
2. Warm-up cycle: the failing 10% (every 10th event; detect returns False on every cycle)
   record their first failure. The detection threshold is 2.
3. Alert cycle (measured, reported on its own): the failing events reach the threshold.
   Their alert is put in the outbox and claimed, that is committed, the alert functions
   are called, then the delivery is committed. S3: 1 GET + 2 PUT; DynamoDB: the reads and
   2 PutItem per failing event (claim, then delivery).
4. Warm-up cycle, then the measured steady cycle: the failing events are still failing,
   already alerted, and count one more failure each (a changed event); the rest are
   healthy and unchanged. No notice is sent.

A second, all-healthy run (seed, one warm-up cycle, one measured cycle) gives the healthy
steady state. Requests and bytes are counted with botocore event hooks (`request-created`,
`after-call`, so retries count too) on the store's own client.

Targets, checked on the steady rows: S3 <= 2 requests per cycle whatever N (1 GET + 1 PUT;
1 GET when nothing changed); DynamoDB reads <= ceil(N/100) requests, writes = changed
events (none when healthy). The alert cycle is checked against the counts above. Exit
status 1 if any row misses, or if a cycle did not behave as described (wrong number of
alerts, unfinished events): then the figures would not mean what their labels say.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from contracts.state import EventState

REGION = "us-east-1"
BUCKET = "diva-bench"
TABLE = "diva-bench"
DEFAULT_SIZES = (10, 1_000, 10_000)
FAILING_EVERY = 10  # every 10th event fails: 10%
DETECTION_THRESHOLD = 2
T0 = datetime(2026, 12, 4, 15, 40, tzinfo=timezone.utc)
READS = ("GetObject", "BatchGetItem", "Scan")
WRITES = ("PutObject", "PutItem")


class Meter:
    """Requests per operation and bytes each way, for one botocore client."""

    def __init__(self, client: Any):
        self.requests: Counter[str] = Counter()
        self.sent = self.received = 0
        service = client.meta.service_model.service_id.hyphenize()
        client.meta.events.register(f"request-created.{service}", self._request)
        client.meta.events.register(f"after-call.{service}", self._response)

    def _request(self, request: Any, operation_name: str, **_: Any) -> None:
        self.requests[operation_name] += 1
        # Headers first: S3 bodies are streamed through a checksum wrapper (aws-chunked).
        length = request.headers.get("Content-Length") or request.headers.get("X-Amz-Decoded-Content-Length")
        if length is not None:
            self.sent += int(length)
        elif isinstance(request.body, (bytes, bytearray)):
            self.sent += len(request.body)
        elif isinstance(request.body, str):
            self.sent += len(request.body.encode())

    def _response(self, http_response: Any, **_: Any) -> None:
        length = http_response.headers.get("content-length")
        self.received += int(length) if length else len(http_response.content or b"")

    def reset(self) -> None:
        self.requests.clear()
        self.sent = self.received = 0


def _names(count: int) -> list[str]:
    return [f"event-{i:05d}" for i in range(count)]


def _detect_ok(name: str) -> bool:
    return True


def _detect_broken(name: str) -> bool:
    return False


def _inject(name: str) -> bool:
    return True


def _events(names: list[str], failing: set[str], alerts: list[str]) -> dict[str, Any]:
    from contracts.options import parse_events

    return parse_events({
        name: {"detect": _detect_broken if name in failing else _detect_ok, "inject": _inject,
               "alert": alerts.append, "max_failures": DETECTION_THRESHOLD}
        for name in names
    })


def _client(service: str, session: Any) -> Any:
    from diva_runtime import aws

    return aws.client(service, region=REGION, session=session)


def _seed(kind: str, names: list[str], session: Any) -> None:
    """All events healthy at version 1 (setup, not measured; BatchWriteItem is fine here:
    10,000 conditional PutItems on in-process moto would take half a minute)."""
    healthy = EventState(status="healthy", version=1)
    if kind == "s3":
        from contracts.state import dump_document

        client = _client("s3", session)
        client.create_bucket(Bucket=BUCKET)
        client.put_object(Bucket=BUCKET, Key="state.json", Body=dump_document({n: healthy for n in names}))
        return
    client = _client("dynamodb", session)
    client.create_table(TableName=TABLE, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST")
    state_json = healthy.model_dump_json(exclude={"version"}, exclude_none=True)
    for start in range(0, len(names), 25):  # BatchWriteItem takes 25 items at most
        client.batch_write_item(RequestItems={TABLE: [
            {"PutRequest": {"Item": {"pk": {"S": f"state#{n}"}, "version": {"N": "1"}, "state": {"S": state_json}}}}
            for n in names[start:start + 25]
        ]})


def _store(kind: str, session: Any, **options: Any) -> tuple[Any, Meter]:
    from diva_runtime.stores.dynamodb import DynamoDBStateStore
    from diva_runtime.stores.s3 import S3StateStore

    client = _client(kind, session)
    meter = Meter(client)
    if kind == "s3":
        return S3StateStore(BUCKET, "state.json", client=client), meter
    return DynamoDBStateStore(TABLE, client=client, **options), meter


def _session() -> Any:
    import boto3

    return boto3.session.Session(aws_access_key_id="bench", aws_secret_access_key="bench", region_name=REGION)


class BenchError(Exception):
    """A cycle did not do what the bench says it measures."""


def _row(kind: str, label: str, count: int, failing: int, meter: Meter, seconds: float,
         expected_reads: Callable[[int], bool], expected_writes: int, target: str) -> dict[str, Any]:
    reads = sum(v for k, v in meter.requests.items() if k in READS)
    writes = sum(v for k, v in meter.requests.items() if k in WRITES)
    return {
        "store": kind, "cycle": label, "events": count, "failing": failing,
        "requests": sum(meter.requests.values()), "reads": reads, "writes": writes,
        "bytes_sent": meter.sent, "bytes_received": meter.received,
        "cycle_seconds": round(seconds, 3), "target": target,
        "meets_target": expected_reads(reads) and writes == expected_writes,
    }


def _steady_target(kind: str, count: int, changed: int) -> tuple[Callable[[int], bool], int, str]:
    if kind == "s3":
        return (lambda reads: reads == 1), (1 if changed else 0), \
            "2 (1 GET + 1 PUT)" if changed else "1 GET (nothing to write)"
    limit = math.ceil(count / 100)
    return (lambda reads: reads <= limit), changed, f"reads <= {limit}, writes = {changed}"


def _alert_target(kind: str, count: int, failing: int) -> tuple[Callable[[int], bool], int, str]:
    if kind == "s3":
        return (lambda reads: reads == 1), 2, "3 (1 GET + PUT claim + PUT delivery)"
    limit = math.ceil(count / 100)
    return (lambda reads: reads <= limit), 2 * failing, f"reads <= {limit}, writes = 2 x {failing}"


def measure(kind: str, count: int, with_failures: bool) -> list[dict[str, Any]]:
    """Rows for one store and size: alert cycle and steady cycle (10% failing), or the
    healthy steady cycle."""
    from moto import mock_aws

    from diva_runtime.cycle import Cycle, InProcessProber

    names = _names(count)
    failing = {n for i, n in enumerate(names) if with_failures and i % FAILING_EVERY == 0}
    alerts: list[str] = []
    events = _events(names, failing, alerts)
    rows = []
    with mock_aws():
        session = _session()
        _seed(kind, names, session)
        store, meter = _store(kind, session)
        cycle = Cycle(events=events, store=store, prober=InProcessProber(events))
        tick = itertools.count()

        def run() -> tuple[Any, float]:
            n = next(tick)
            now = T0 + timedelta(minutes=5 * n)
            meter.reset()
            started = time.perf_counter()
            report = cycle.run(cycle_id=now.strftime("%Y%m%dT%H%M%SZ"), now=now)
            seconds = time.perf_counter() - started
            if report.unfinished or report.skipped_duplicate or report.delivery_record_error:
                raise BenchError(f"{kind} N={count}: cycle {report.cycle_id} did not run in full")
            return report, seconds

        run()  # warm-up: the failing events' first failure (healthy run: clients, pools)
        if failing:
            report, seconds = run()
            complete = [d for d in report.deliveries if d.complete and d.kind == "alert"]
            if len(complete) != len(failing) or len(alerts) != len(failing):
                raise BenchError(f"{kind} N={count}: alert cycle sent {len(alerts)} alerts, "
                                 f"expected {len(failing)}")
            rows.append(_row(kind, "alert", count, len(failing), meter, seconds,
                             *_alert_target(kind, count, len(failing))))
            run()  # warm-up: first cycle after the alert
        report, seconds = run()
        if report.deliveries or not all(report.states[n].alerted and not report.states[n].outbox for n in failing):
            raise BenchError(f"{kind} N={count}: the measured cycle is not a steady state")
        rows.append(_row(kind, "steady", count, len(failing), meter, seconds,
                         *_steady_target(kind, count, len(failing))))
    return rows


def measure_write_parallelism(changed: int = 1_000, latency_ms: float = 5.0) -> list[dict[str, Any]]:
    """One DynamoDB `store.commit` of `changed` events (not a whole cycle) with a simulated
    round trip per PutItem, 1 vs 8 writer threads: what the store's parallel writes buy
    once requests cost real network time, which in-process moto does not."""
    from moto import mock_aws

    rows = []
    for workers in (1, 8):
        names = _names(changed)
        with mock_aws():
            session = _session()
            _seed("dynamodb", names, session)
            store, _ = _store("dynamodb", session, max_workers=workers)
            store.client.meta.events.register(
                "before-send.dynamodb.PutItem", lambda **_: time.sleep(latency_ms / 1000))
            snapshot = store.load(names)
            changes = {n: s.model_copy(update={"version": s.version + 1, "detection_failures": 1})
                       for n, s in snapshot.states.items()}
            started = time.perf_counter()
            store.commit(snapshot, changes)
            rows.append({"workers": workers, "changed": changed, "latency_ms": latency_ms,
                         "commit_seconds": round(time.perf_counter() - started, 2)})
    return rows


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    widths = {c: max(len(c), *(len(_cell(r[c])) for r in rows)) for c in columns}
    line = lambda values: "| " + " | ".join(_cell(v).ljust(widths[c]) for c, v in zip(columns, values)) + " |"  # noqa: E731
    return "\n".join([line(columns), "|" + "|".join("-" * (widths[c] + 2) for c in columns) + "|",
                      *(line([r[c] for c in columns]) for r in rows)])


def _cell(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


COLUMNS = ["store", "events", "failing", "requests", "reads", "writes", "bytes_sent", "bytes_received",
           "cycle_seconds", "target", "meets_target"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.store_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="event counts, e.g. 10,1000")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--skip-parallel", action="store_true", help="skip the DynamoDB writer-thread comparison")
    args = parser.parse_args(argv)
    for name, value in (("AWS_ACCESS_KEY_ID", "bench"), ("AWS_SECRET_ACCESS_KEY", "bench")):
        os.environ.setdefault(name, value)

    started = time.perf_counter()
    try:
        rows = [
            row
            for count in (int(size) for size in args.sizes.split(","))
            for kind in ("s3", "dynamodb")
            for failing in (False, True)
            for row in measure(kind, count, failing)
        ]
    except BenchError as wrong:
        print(f"store_bench: {wrong}")
        return 1
    parallel = [] if args.skip_parallel else measure_write_parallelism()
    steady = [r for r in rows if r["cycle"] == "steady"]
    alert = [r for r in rows if r["cycle"] == "alert"]
    if args.json:
        print(json.dumps({"steady_cycles": steady, "alert_cycles": alert,
                          "dynamodb_write_parallelism": parallel}, indent=2))
    else:
        print("State store: AWS requests and bytes of one steady-state cycle (real Cycle, moto in process;")
        print(f"failing events already alerted, each counting one more failure: changed; threshold {DETECTION_THRESHOLD})")
        print(_table(steady, COLUMNS))
        print("\nThe alert cycle: failing events reach the threshold; alert claimed and committed, sent, "
              "delivery committed")
        print(_table(alert, COLUMNS))
        if parallel:
            print("\nDynamoDB store.commit alone (not a cycle) of changed events, simulated round trip per PutItem")
            print(_table(parallel, ["workers", "changed", "latency_ms", "commit_seconds"]))
        print(f"\n{time.perf_counter() - started:.0f} s in all")
    return 0 if all(r["meets_target"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
