"""The seed README's `user_logic.py` example, unchanged."""


def get_events():
    return {
        "sample_event": {
            "inject": inject_sample,
            "detect": detect_sample,
            "alert": alert_sample,   # optional
            "max_failures": 3,       # default: 1
            "inject_each_period": False
        }
    }


# Example inject function
def inject_sample(event_name):
    print(f"Injecting test data for {event_name}")
    # e.g., write a test message into SQS, Kafka, Pub/Sub, etc.


# Example detect function
def detect_sample(event_name):
    print(f"Checking data arrival for {event_name}")
    # e.g., query the destination system
    return True  # return True if healthy, False if not


# Example alert function
def alert_sample(message):
    print(f"ALERT: {message}")
    # e.g., send to Slack, SNS, PagerDuty, etc.
