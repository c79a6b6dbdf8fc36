"""Fixtures for the state store tests: one factory per adapter, all on local backends.

`store_kit` is parametrized over file, S3 (moto) and DynamoDB (moto), so every contract
test runs against every store. A kit opens any number of stores on the *same* stored
state (two writers racing) and a fresh namespace on demand (hypothesis examples).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from diva_runtime import aws
from diva_runtime.stores import StateStore
from diva_runtime.stores.dynamodb import DynamoDBStateStore
from diva_runtime.stores.file import FileStateStore
from diva_runtime.stores.s3 import S3StateStore

REGION = "us-east-1"
BUCKET = "diva-state-test"
TABLE = "diva-hub-test"


@pytest.fixture(autouse=True)
def fake_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No real account can be reached, and none of the developer's settings leak in."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN",
                 "AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's retries without their sleeps: fault tests stay fast, retry counts real."""
    from botocore.retries import standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)


@pytest.fixture
def mocked_aws() -> Iterator[None]:
    from moto import mock_aws

    with mock_aws():
        yield


def create_table(client: Any, table: str = TABLE, key: str = "pk") -> None:
    client.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})


_sessions: dict[str, Any] = {}


def _session() -> Any:
    """One boto3 session for the test process: building a client from a new session
    re-reads the service model (~0.15 s), which would dominate these tests."""
    if "session" not in _sessions:
        import boto3

        _sessions["session"] = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    return _sessions["session"]


def s3_client(endpoint_url: str | None = None) -> Any:
    return aws.client("s3", endpoint_url=endpoint_url, region=REGION, session=_session())


def dynamodb_client(endpoint_url: str | None = None) -> Any:
    return aws.client("dynamodb", endpoint_url=endpoint_url, region=REGION, session=_session())


@dataclass
class StoreKit:
    """Opens stores of one kind on shared state."""

    kind: str
    _open: Callable[[str], StateStore]
    namespace: str = "state"
    _counter: Any = None

    def open(self) -> StateStore:
        """Another store (another writer, own client) on the current namespace."""
        return self._open(self.namespace)

    def fresh(self) -> "StoreKit":
        """The same kind of store on an empty namespace."""
        if self._counter is None:
            self._counter = itertools.count(1)
        return StoreKit(self.kind, self._open, f"ns{next(self._counter)}", self._counter)


@pytest.fixture(params=["file", "s3", "dynamodb"])
def store_kit(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreKit]:
    kind = request.param
    if kind == "file":
        yield StoreKit(kind, lambda ns: FileStateStore(tmp_path / f"{ns}.json"))
        return
    from moto import mock_aws

    with mock_aws():
        if kind == "s3":
            s3_client().create_bucket(Bucket=BUCKET)
            yield StoreKit(kind, lambda ns: S3StateStore(BUCKET, f"diva/{ns}.json", client=s3_client()))
        else:
            create_table(dynamodb_client())
            yield StoreKit(kind, lambda ns: DynamoDBStateStore(
                TABLE, client=dynamodb_client(), key_prefix=f"{ns}#state#"))


# Shared with other test folders that need a real endpoint for several processes.
from tests.fixtures.aws_servers import dynalite_server, moto_server, serialized_moto_server  # noqa: E402,F401
