"""The events `diva run` monitors by default: the seed README's example and a local pipeline.

Replace this package with your own, or point `--events` at an upstream `user_logic.py`.
"""

from user_logic.orders_pipeline import get_events as orders_pipeline_events
from user_logic.seed_example import get_events as seed_events


def get_events():
    return {**seed_events(), **orders_pipeline_events()}
