"""Events for the Lambda handler tests, switched by the test through `SYSTEM`."""

SYSTEM = {"healthy": True, "alerts": []}


def detect(name: str) -> bool:
    return SYSTEM["healthy"]


def inject(name: str) -> None:
    return None


def get_events():
    return {"checkout": {"detect": detect, "inject": inject, "alert": SYSTEM["alerts"].append}}
