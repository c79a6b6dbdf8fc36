"""Lambda entry point of a spoke: `spoke.handler.handler`, invoked synchronously by the hub.

The account and region come from the function's own ARN (set by Lambda, not by the
caller), so a spoke can only ever write results under its own account prefix.
"""

from __future__ import annotations

import logging
import os
from typing import Any

_app = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _app
    if _app is None:
        from diva_runtime.settings import Settings
        from spoke.app import build_spoke

        settings = Settings.from_env(os.environ)
        logging.getLogger("diva").setLevel(settings.log_level)
        _app = build_spoke(settings)
    return _app.invoke(event, function_arn=context.invoked_function_arn,
                       remaining_seconds=context.get_remaining_time_in_millis() / 1000)
