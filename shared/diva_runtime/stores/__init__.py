"""State store adapters and the `--state` URL that picks one."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from diva_core.errors import ConfigError
from diva_runtime.stores.base import Snapshot, StateStore

__all__ = ["Snapshot", "StateStore", "open_store"]


def open_store(url: str, *, endpoint_url: str | None = None, region: str | None = None) -> StateStore:
    """`file:PATH`, `s3://bucket/key` or `dynamodb://table`.

    `dynamodb://table?key=event_id` reads and writes an upstream DIVA table (hash key
    `event_id` = the event name); `prefix=` overrides what precedes the event name in the
    key (default `state#` for the hub's `pk`, nothing for any other key attribute).
    """
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

        if not parsed.netloc or parsed.path.strip("/"):
            raise ConfigError([f"--state {url!r}: expected dynamodb://table[?key=ATTR&prefix=P]"])
        if parsed.fragment:
            raise ConfigError([f"--state {url!r}: write '#' in a prefix as %23 (e.g. prefix=state%23)"])
        options = parse_qs(parsed.query, keep_blank_values=True)
        unknown = sorted(set(options) - {"key", "prefix"})
        if unknown or any(len(values) > 1 for values in options.values()):
            raise ConfigError([
                f"--state {url!r}: dynamodb:// takes only key= (the partition key attribute) "
                f"and prefix= (before each event name), each once; got {', '.join(unknown) or 'repeats'}"
            ])
        key = options.get("key", ["pk"])[0]
        if not key:
            raise ConfigError([f"--state {url!r}: key= needs an attribute name"])
        # The hub's table is keyed `pk` = "state#<event>"; naming another key attribute means
        # an upstream DIVA table (`event_id` = event name), so its prefix defaults to none.
        prefix = options.get("prefix", ["state#" if key == "pk" else ""])[0]
        return DynamoDBStateStore(table=parsed.netloc, endpoint_url=endpoint_url, region=region,
                                  key_attribute=key, key_prefix=prefix)
    raise ConfigError([f"--state {url!r}: unknown store; use file:PATH, s3://bucket/key or dynamodb://table"])
