"""How commands reach spokes: the `Dispatcher` port and its adapters.

On AWS the hub invokes each spoke's function synchronously and cross-account
(`lambda:InvokeFunction`, RequestResponse): the call returns when the spoke has written its
results, so the hub reads them in the same tick and alerts in the same period as the
monolithic mode would. The response is only a "done" signal; the hub table is the record.

Tests call the spoke's logic in process (`InProcessDispatcher`); `diva sim` posts to spoke
worker processes over HTTP (`HttpDispatcher`), because moto cannot run Lambda code.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from contracts.commands import CommandBatch
from contracts.placement import Target
from diva_core.errors import DivaError
from diva_runtime import aws


class DispatchError(DivaError):
    """A spoke could not be invoked or failed; its missing results count as `no result`."""

    retryable = True


class Dispatcher(Protocol):
    def dispatch(self, target: Target, batch: CommandBatch, *, timeout: float) -> Mapping[str, Any]:
        """Deliver `batch` to the spoke at `target` and wait for it, at most `timeout` seconds.

        Returns the spoke's reply (informational only). Raises `DispatchError`.
        """


def spoke_function_arn(target: Target, function_name: str, partition: str = "aws") -> str:
    return f"arn:{partition}:lambda:{target.region}:{target.account}:function:{function_name}"


class LambdaDispatcher:
    """Cross-account synchronous invoke. One client per region, made on first use."""

    def __init__(self, *, function_name: str, session: Any = None, endpoint_url: str | None = None,
                 partition: str = "aws"):
        self.function_name = function_name
        self._session = session
        self._endpoint_url = endpoint_url
        self._partition = partition
        self._clients: dict[tuple[str, int], Any] = {}

    def _client(self, region: str, timeout: float) -> Any:
        # The read timeout must outlast the spoke. No retry: a second invoke of a slow spoke
        # would run its detects (and their side effects) again. botocore's `max_attempts`
        # counts retries (1 = two calls); `total_max_attempts` counts calls.
        key = (region, int(timeout) + 1)
        if key not in self._clients:
            import boto3
            from botocore.config import Config

            session = self._session or boto3.session.Session()
            self._clients[key] = session.client(
                "lambda", region_name=region, endpoint_url=self._endpoint_url,
                config=Config(read_timeout=key[1], connect_timeout=5,
                              retries={"total_max_attempts": 1, "mode": "standard"}),
            )
        return self._clients[key]

    def dispatch(self, target: Target, batch: CommandBatch, *, timeout: float) -> Mapping[str, Any]:
        arn = spoke_function_arn(target, self.function_name, self._partition)
        try:
            response = self._client(target.region, timeout).invoke(
                FunctionName=arn, InvocationType="RequestResponse",
                Payload=batch.model_dump_json().encode(),
            )
            payload = response["Payload"].read()
        except Exception as exc:
            raise DispatchError(f"invoke {arn}: {aws.error_code(exc) or type(exc).__name__}: {exc}") from exc
        if response.get("FunctionError"):
            raise DispatchError(f"invoke {arn}: spoke failed ({response['FunctionError']}): {payload[:300]!r}")
        try:
            return json.loads(payload or b"{}")
        except ValueError:
            return {}


class InProcessDispatcher:
    """Runs a spoke's logic in this process: `spokes` maps a target to its invoke function."""

    def __init__(self, spokes: Mapping[Target, Callable[[dict[str, Any], float], Mapping[str, Any]]]):
        self.spokes = spokes

    def dispatch(self, target: Target, batch: CommandBatch, *, timeout: float) -> Mapping[str, Any]:
        spoke = self.spokes.get(target)
        if spoke is None:
            raise DispatchError(f"no spoke deployed at {target}")
        try:
            return spoke(json.loads(batch.model_dump_json()), timeout)
        except DivaError:
            raise
        except Exception as exc:  # the spoke crashed: the Lambda would report a FunctionError
            raise DispatchError(f"spoke at {target} failed: {type(exc).__name__}: {exc}") from exc


class HttpDispatcher:
    """Posts the batch to a spoke worker process (`python -m spoke serve`): `diva sim`."""

    def __init__(self, urls: Mapping[Target, str]):
        self.urls = urls

    def dispatch(self, target: Target, batch: CommandBatch, *, timeout: float) -> Mapping[str, Any]:
        url = self.urls.get(target)
        if url is None:
            raise DispatchError(f"no spoke worker for {target}")
        request = urllib.request.Request(
            url, data=batch.model_dump_json().encode(), headers={"Content-Type": "application/json",
                                                               "X-Diva-Timeout": f"{timeout:.3f}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise DispatchError(f"spoke {target}: HTTP {exc.code}: {exc.read()[:300]!r}") from exc
        except (OSError, ValueError) as exc:
            raise DispatchError(f"spoke {target}: {type(exc).__name__}: {exc}") from exc
