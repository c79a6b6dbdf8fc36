"""Events for the concurrency tests: every detection fails, every alert is written down.

Each `diva run` cycle therefore adds exactly one detection failure per event, so the
stored counter must equal the number of cycles that reported success; the alert log
(one line per delivered alert, path in DIVA_TEST_ALERT_LOG) must hold one alert per
incident, however the cycles overlap.
"""

import os

EVENTS = ("orders", "payments")
MAX_FAILURES = 3


def get_events():
    return {
        name: {"detect": detect, "alert": alert, "role": "detect", "max_failures": MAX_FAILURES}
        for name in EVENTS
    }


def detect(event_name):
    return False


def alert(message):
    # O_APPEND: each small write lands whole, even with eight writers.
    with open(os.environ["DIVA_TEST_ALERT_LOG"], "a", encoding="utf-8") as log:
        log.write(message.replace("\n", " ") + "\n")
