"""boto3 at the edge: client construction and provider-error translation.

Credentials, region and endpoint come from boto3's standard chain unless given; retries use
botocore's `standard` mode (bounded, with backoff and throttling awareness). Everything
above this module sees only DIVA's errors.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from diva_core.errors import StaleStateError, StoreUnavailableError

RETRY_CONFIG = {"mode": "standard", "max_attempts": 5}
"""botocore reads `max_attempts` here as *retries*: six tries in all before giving up."""
RETRY_MODES = frozenset({"standard", "adaptive"})
"""Modes a user may choose through boto3's own configuration (AWS_RETRY_MODE or the
profile's `retry_mode`). `legacy` is replaced by `standard`: legacy recognises fewer
transient errors and has no retry quota to stop a retry storm against a struggling store."""

CONFLICT_CODES = frozenset({
    "ConditionalCheckFailedException",
    "TransactionCanceledException",
    "PreconditionFailed",
    "ConditionalRequestConflict",
    "412",
    "409",
})


def client(service: str, *, endpoint_url: str | None = None, region: str | None = None,
           session: Any = None, max_attempts: int | None = None) -> Any:
    """A boto3 client with DIVA's retry policy. Import is lazy: no boto3 at import time."""
    import boto3
    from botocore.config import Config

    session = session or boto3.session.Session()
    config = Config(
        retries={**_configured_retries(session), **({"max_attempts": max_attempts} if max_attempts else {})},
        connect_timeout=5,
        read_timeout=30,
    )
    return session.client(service, endpoint_url=endpoint_url, region_name=region, config=config)


def _configured_retries(session: Any) -> dict[str, Any]:
    """DIVA's retry policy, unless boto3's standard configuration chose a mode we accept.

    An explicit `Config(retries=...)` overrides the environment and profile, so the user's
    choice is read here and passed on rather than silently replaced.
    """
    retries = dict(RETRY_CONFIG)
    core = getattr(session, "_session", None)

    def configured(name: str) -> Any:
        # botocore's own chain (AWS_RETRY_MODE / AWS_MAX_ATTEMPTS, then the profile): DIVA
        # reads no environment variable itself outside its settings object.
        try:
            return core.get_config_variable(name) if core is not None else None
        except Exception:  # a session without a botocore core: use the defaults
            return None

    mode = configured("retry_mode")
    if mode in RETRY_MODES:
        retries["mode"] = mode
    # AWS_MAX_ATTEMPTS counts the first try too; Config's `max_attempts` counts retries only.
    attempts = configured("max_attempts")
    if attempts and str(attempts).isdigit() and int(attempts) >= 1:
        retries.pop("max_attempts", None)
        retries["total_max_attempts"] = int(attempts)
    return retries


def error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if code:
            return str(code)
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return str(status) if status else None
    return None


@contextmanager
def translated(where: str) -> Iterator[None]:
    """Turn botocore errors raised inside the block into DIVA's own."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        code = error_code(exc)
        if code in CONFLICT_CODES:
            raise StaleStateError(f"{where}: changed by another writer ({code})") from exc
        raise StoreUnavailableError(f"{where}: {code or 'error'}: {exc}") from exc
    except BotoCoreError as exc:
        raise StoreUnavailableError(f"{where}: {exc}") from exc
