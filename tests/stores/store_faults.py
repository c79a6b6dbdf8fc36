"""Stores that fail on cue: AWS error responses injected into a real boto3 client.

A `before-send` handler answers in place of the server, so botocore's own retry logic,
error parsing and our error translation all run as they would against AWS. No mocks of
our code: the store under test is the real adapter.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class _Body:
    def __init__(self, data: bytes):
        self._data = data

    def stream(self, **_: Any):
        yield self._data


@dataclass(frozen=True)
class Fault:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def dynamodb_error(code: str, status: int = 400, message: str = "injected") -> Fault:
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message}).encode()
    return Fault(status, body, {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "fault"})


def s3_error(code: str, status: int, message: str = "injected") -> Fault:
    body = (f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>"
            f"<Message>{message}</Message><RequestId>fault</RequestId></Error>").encode()
    return Fault(status, body, {"Content-Type": "application/xml", "x-amz-request-id": "fault"})


THROTTLED = dynamodb_error("ProvisionedThroughputExceededException")
DYNAMODB_INTERNAL = dynamodb_error("InternalServerError", 500)
SLOW_DOWN = s3_error("SlowDown", 503, "Please reduce your request rate.")
S3_INTERNAL = s3_error("InternalError", 500)
S3_DENIED = s3_error("AccessDenied", 403)
S3_CONFLICT = s3_error("ConditionalRequestConflict", 409)


class FaultPlan:
    """Per operation, a queue of faults to answer with before letting requests through.

    `always` makes an operation fail every time; `before(op, fn)` runs `fn` once just
    before the real request of `op` is sent (a concurrent writer slipping in).
    """

    def __init__(self, client: Any):
        self.sent: Counter[str] = Counter()
        self._queued: dict[str, list[Fault]] = {}
        self._always: dict[str, Fault] = {}
        self._before: dict[str, Callable[[], None]] = {}
        self._service = client.meta.service_model.service_id.hyphenize()
        client.meta.events.register(f"before-send.{self._service}", self._answer)

    def fail(self, operation: str, *faults: Fault) -> "FaultPlan":
        self._queued.setdefault(operation, []).extend(faults)
        return self

    def always(self, operation: str, fault: Fault) -> "FaultPlan":
        self._always[operation] = fault
        return self

    def before(self, operation: str, action: Callable[[], None]) -> "FaultPlan":
        self._before[operation] = action
        return self

    def _answer(self, request: Any, **kwargs: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        operation = kwargs["event_name"].rsplit(".", 1)[-1]
        self.sent[operation] += 1
        fault = self._always.get(operation)
        if fault is None and self._queued.get(operation):
            fault = self._queued[operation].pop(0)
        if fault is None:
            action = self._before.pop(operation, None)
            if action is not None:
                action()
            return None  # let the request through (to moto or a server)
        return AWSResponse(request.url, fault.status, fault.headers, _Body(fault.body))
