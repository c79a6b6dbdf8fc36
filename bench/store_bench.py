"""AWS requests and bytes per cycle for the S3 and DynamoDB state stores.

Run: `make bench` (all benchmarks) or `.venv/bin/python -m bench.store_bench [--sizes 10,1000]`.

One cycle = what the runtime does with a store: load the configured events, derive the
changed states (here: each failing event counts one more detection failure), commit them.
Requests and bytes are counted with botocore event hooks (`request-created`, `after-call`,
so retries count too) on the store's own client, against moto in this process. Seeding
and a first warm-up cycle are not counted.

Targets: S3 = 2 requests per cycle whatever N (1 GET + 1 PUT; 1 GET when nothing changed);
DynamoDB reads <= ceil(N/100) requests, writes only for changed events (none when healthy).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from collections import Counter
from typing import Any

from contracts.state import EventState

REGION = "us-east-1"
BUCKET = "diva-bench"
TABLE = "diva-bench"
DEFAULT_SIZES = (10, 1_000, 10_000)


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


def _failing(names: list[str], share: float) -> list[str]:
    step = round(1 / share) if share else 0
    return [name for i, name in enumerate(names) if step and i % step == 0]


def _cycle(store: Any, names: list[str], failing: list[str]) -> None:
    snapshot = store.load(names)
    changes = {}
    for name in failing:
        current = snapshot.states.get(name) or EventState(status="healthy")
        changes[name] = current.model_copy(update={
            "version": current.version + 1, "status": "failing",
            "detection_failures": current.detection_failures + 1, "last_error": "detect returned False",
        })
    store.commit(snapshot, changes)


def _client(service: str, session: Any) -> Any:
    from diva_runtime import aws

    return aws.client(service, region=REGION, session=session)


def _seed(kind: str, names: list[str], session: Any) -> None:
    """All events healthy at version 1 (setup, not measured; BatchWriteItem is fine here)."""
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
    for start in range(0, len(names), 25):
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


def measure(kind: str, count: int, failing_share: float, cycles: int = 2) -> dict[str, Any]:
    import boto3
    from moto import mock_aws

    names = _names(count)
    failing = _failing(names, failing_share)
    with mock_aws():
        session = boto3.session.Session(aws_access_key_id="bench", aws_secret_access_key="bench",
                                        region_name=REGION)
        _seed(kind, names, session)
        store, meter = _store(kind, session)
        _cycle(store, names, failing)  # warm-up: clients, connection pools
        meter.reset()
        started = time.perf_counter()
        for _ in range(cycles):
            _cycle(store, names, failing)
        seconds = (time.perf_counter() - started) / cycles
    reads = sum(v for k, v in meter.requests.items() if k in ("GetObject", "BatchGetItem", "Scan"))
    writes = sum(v for k, v in meter.requests.items() if k in ("PutObject", "PutItem"))
    return {
        "store": kind, "events": count, "failing": len(failing),
        "requests": sum(meter.requests.values()) / cycles, "reads": reads / cycles, "writes": writes / cycles,
        "bytes_sent": meter.sent // cycles, "bytes_received": meter.received // cycles,
        "seconds_moto": round(seconds, 3),
        "target": _target(kind, count, len(failing)),
        "meets_target": _meets(kind, count, len(failing), reads / cycles, writes / cycles),
    }


def _target(kind: str, count: int, changed: int) -> str:
    if kind == "s3":
        return "2 (1 GET + 1 PUT)" if changed else "1 GET (nothing to write)"
    return f"reads <= {math.ceil(count / 100)}, writes = {changed}"


def _meets(kind: str, count: int, changed: int, reads: float, writes: float) -> bool:
    if kind == "s3":
        return reads == 1 and writes == (1 if changed else 0)
    return reads <= math.ceil(count / 100) and writes == changed


def measure_write_parallelism(changed: int = 1_000, latency_ms: float = 5.0) -> list[dict[str, Any]]:
    """Commit `changed` DynamoDB events with a simulated round trip, 1 vs 8 writer threads."""
    import boto3
    from moto import mock_aws

    rows = []
    for workers in (1, 8):
        names = _names(changed)
        with mock_aws():
            session = boto3.session.Session(aws_access_key_id="bench", aws_secret_access_key="bench",
                                            region_name=REGION)
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
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in columns}
    line = lambda values: "| " + " | ".join(str(v).ljust(widths[c]) for c, v in zip(columns, values)) + " |"  # noqa: E731
    return "\n".join([line(columns), "|" + "|".join("-" * (widths[c] + 2) for c in columns) + "|",
                      *(line([r[c] for c in columns]) for r in rows)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.store_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="event counts, e.g. 10,1000")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--skip-parallel", action="store_true", help="skip the DynamoDB writer-thread comparison")
    args = parser.parse_args(argv)
    for name, value in (("AWS_ACCESS_KEY_ID", "bench"), ("AWS_SECRET_ACCESS_KEY", "bench")):
        os.environ.setdefault(name, value)

    rows = [
        measure(kind, count, share)
        for count in (int(size) for size in args.sizes.split(","))
        for kind in ("s3", "dynamodb")
        for share in (0.0, 0.1)
    ]
    parallel = [] if args.skip_parallel else measure_write_parallelism()
    if args.json:
        print(json.dumps({"cycles": rows, "dynamodb_write_parallelism": parallel}, indent=2))
    else:
        print("State store: AWS requests and bytes per cycle (moto, in process)")
        print(_table(rows, ["store", "events", "failing", "requests", "reads", "writes", "bytes_sent",
                            "bytes_received", "seconds_moto", "target", "meets_target"]))
        if parallel:
            print("\nDynamoDB commit of changed events with a simulated round trip per PutItem")
            print(_table(parallel, ["workers", "changed", "latency_ms", "commit_seconds"]))
    return 0 if all(r["meets_target"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
