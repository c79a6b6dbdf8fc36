"""Writing results into the hub table, only ever under the spoke's own account prefix.

The hub role lets a spoke write keys that start with `<its account>#` (`dynamodb:LeadingKeys`
on the `SpokeAccount` session tag). This writer enforces the same rule on its side: every
key is computed from the account and region it was built with, and a result claiming
another account or region is refused before any request is made. moto checks no IAM condition, so this is what the
tests and `diva sim` can show.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contracts.commands import RESULT_TTL, ProbeResult, claim_key, encode_result, result_key
from diva_core.errors import DivaError, StoreUnavailableError
from diva_runtime import aws

CONFLICT = "ConditionalCheckFailedException"


class ForeignResultError(DivaError):
    """A spoke was asked to write a result under another account's prefix."""


class HubResultWriter:
    def __init__(self, *, client: Any, table: str, account: str, region: str):
        self.client = client
        self.table = table
        self.account = account
        self.region = region
        self.keys_written: list[str] = []
        """Every key this writer sent a write for (for the sim's leading-key report)."""

    def _put_once(self, key: str, attributes: dict[str, Any], *, now: datetime) -> bool:
        """Create the item unless it exists. False: an earlier delivery already wrote it."""
        if not key.startswith(f"{self.account}#"):
            raise ForeignResultError(f"refusing to write {key!r}: not under this spoke's account {self.account}")
        item = {"pk": {"S": key}, "expires_at": {"N": str(int((now + RESULT_TTL).timestamp()))}, **attributes}
        self.keys_written.append(key)
        try:
            # A redelivered command (Lambda retries, a duplicated tick) must not overwrite
            # the first answer the hub may already have read.
            self.client.put_item(TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(pk)")
        except Exception as exc:
            if aws.error_code(exc) == CONFLICT:
                return False
            raise StoreUnavailableError(f"hub table {self.table}: cannot write {key}: {aws.error_code(exc) or exc}") from exc
        return True

    def claim_injection(self, cycle_id: str, event: str, *, now: datetime) -> bool:
        """True if this delivery may inject; False if another delivery of the command did."""
        return self._put_once(claim_key(self.account, self.region, cycle_id, event), {"claimed_at": {"S": now.isoformat()}}, now=now)

    def write(self, result: ProbeResult, *, now: datetime) -> bool:
        if (result.account, result.region) != (self.account, self.region):
            raise ForeignResultError(
                f"refusing to write a result for {result.account}/{result.region}: "
                f"this spoke is {self.account}/{self.region}"
            )
        key = result_key(self.account, self.region, result.cycle_id, result.event, result.action)
        return self._put_once(key, {"result": {"S": encode_result(result)}}, now=now)
