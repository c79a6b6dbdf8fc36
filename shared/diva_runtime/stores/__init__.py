"""State store adapters and the `--state` URL that picks one."""

from __future__ import annotations

from urllib.parse import urlparse

from diva_core.errors import ConfigError
from diva_runtime.stores.base import Snapshot, StateStore

__all__ = ["Snapshot", "StateStore", "open_store"]


def open_store(url: str, *, endpoint_url: str | None = None, region: str | None = None) -> StateStore:
    """`file:PATH`, `s3://bucket/key` or `dynamodb://table`."""
    if url.startswith("file:"):
        from diva_runtime.stores.file import FileStateStore

        path = url.removeprefix("file:")
        if not path:
            raise ConfigError([f"--state {url!r}: file: needs a path, e.g. file:.diva/state.json"])
        return FileStateStore(path)
    parsed = urlparse(url)
    if parsed.scheme == "s3":
        from diva_runtime.stores.s3 import S3StateStore

        key = parsed.path.lstrip("/")
        if not parsed.netloc or not key:
            raise ConfigError([f"--state {url!r}: expected s3://bucket/key"])
        return S3StateStore(bucket=parsed.netloc, key=key, endpoint_url=endpoint_url, region=region)
    if parsed.scheme == "dynamodb":
        from diva_runtime.stores.dynamodb import DynamoDBStateStore

        if not parsed.netloc:
            raise ConfigError([f"--state {url!r}: expected dynamodb://table"])
        return DynamoDBStateStore(table=parsed.netloc, endpoint_url=endpoint_url, region=region)
    raise ConfigError([f"--state {url!r}: unknown store; use file:PATH, s3://bucket/key or dynamodb://table"])
