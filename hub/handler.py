"""Lambda entry point of the tick: `hub.handler.handler`, for monolithic and hub mode alike.

Invoked by EventBridge Scheduler with `{"scheduled_time": "<aws.scheduler.scheduled-time>"}`.
Everything is built on the first invocation (settings, events, clients), never at import.
"""

from __future__ import annotations

import os
from typing import Any

_app = None
_logger = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _app, _logger
    if _app is None:
        from aws_lambda_powertools import Logger
        from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

        from diva_runtime.settings import Settings
        from hub.app import build_hub
        from hub.metrics import EmfMetrics

        settings = Settings.from_env(os.environ)
        _logger = Logger(service=settings.service_name, level=settings.log_level)
        app = build_hub(
            settings, function_arn=context.invoked_function_arn, metrics=EmfMetrics(service=settings.service_name)
        )
        # DIVA's modules log through the standard library ("diva.*"): give them Powertools' JSON.
        copy_config_to_registered_loggers(source_logger=_logger, include={"diva"})
        _app = app
    from hub.app import summary

    report = _app.tick(event, remaining_seconds=context.get_remaining_time_in_millis() / 1000)
    result = summary(report)
    _logger.info("tick done", extra=result)
    return result
