"""The hub's alert topic as an alert sink (`name="sns"`), beside each event's own `alert`."""

from __future__ import annotations

from typing import Any

from contracts.state import Notification
from diva_core.errors import DeliveryError
from diva_runtime import aws

SUBJECT_LIMIT = 100
"""SNS subjects: at most 100 printable ASCII characters, no line breaks."""


def _subject(event: str, notification: Notification) -> str:
    label = {"alert": "ALERT", "reminder": "still failing", "recovery": "resolved"}[notification.kind]
    text = f"DIVA {label}: {event}"
    text = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in text)
    return text[:SUBJECT_LIMIT]


class SnsSink:
    name = "sns"

    def __init__(self, *, topic_arn: str, client: Any):
        self.topic_arn = topic_arn
        self.client = client

    def send(self, event: str, notification: Notification) -> None:
        try:
            self.client.publish(
                TopicArn=self.topic_arn,
                Subject=_subject(event, notification),
                Message=notification.message,
                MessageAttributes={
                    "event": {"DataType": "String", "StringValue": event},
                    "kind": {"DataType": "String", "StringValue": notification.kind},
                    "notification_id": {"DataType": "String", "StringValue": notification.id},
                },
            )
        except Exception as exc:
            raise DeliveryError(f"sns {self.topic_arn}: {aws.error_code(exc) or type(exc).__name__}: {exc}") from exc
