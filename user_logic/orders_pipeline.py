"""A real end-to-end example that needs no AWS: orders flowing through a SQLite pipeline.

The "system" is a SQLite database: an `orders` table and a `warehouse` table, with a
trigger (the pipeline) that forwards every new order into the warehouse. DIVA proves that
orders *can* reach the warehouse:

- detect: has a new order reached the warehouse since the last check?
- inject: place a synthetic order (returns its id as the correlation token).
- alert: append the message to `.diva/demo/alerts.log` and print it.

Break the pipeline with the environment switch `DIVA_DEMO_PIPELINE=broken` (the trigger is
dropped), repair it with `DIVA_DEMO_PIPELINE=ok` (the default). `DIVA_DEMO_DIR` moves the
demo's files (default `.diva/demo`). See the README's walkthrough.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import uuid
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, synthetic INTEGER, placed_at TEXT);
CREATE TABLE IF NOT EXISTS warehouse (seq INTEGER PRIMARY KEY AUTOINCREMENT, order_id TEXT, arrived_at TEXT);
CREATE TABLE IF NOT EXISTS watermark (name TEXT PRIMARY KEY, seq INTEGER);
"""
PIPELINE = """
CREATE TRIGGER IF NOT EXISTS pipeline AFTER INSERT ON orders BEGIN
  INSERT INTO warehouse (order_id, arrived_at) VALUES (NEW.id, NEW.placed_at);
END;
"""


def _demo_dir() -> Path:
    return Path(os.environ.get("DIVA_DEMO_DIR", ".diva/demo"))


def _connect() -> sqlite3.Connection:
    folder = _demo_dir()
    folder.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(folder / "orders.sqlite", timeout=10, isolation_level=None)
    db.executescript(SCHEMA)
    # The environment switch: the pipeline's state follows DIVA_DEMO_PIPELINE on every call.
    if os.environ.get("DIVA_DEMO_PIPELINE", "ok") == "broken":
        db.execute("DROP TRIGGER IF EXISTS pipeline")
    else:
        db.executescript(PIPELINE)
    return db


def inject_order(event_name: str) -> str:
    order_id = f"synthetic-{uuid.uuid4().hex[:12]}"
    with closing(_connect()) as db:
        db.execute(
            "INSERT INTO orders (id, synthetic, placed_at) VALUES (?, 1, ?)",
            (order_id, datetime.now(timezone.utc).isoformat()),
        )
    print(f"[{event_name}] injected order {order_id}")
    return order_id


def detect_order(event_name: str, token: str | None = None) -> bool:
    """True when an order reached the warehouse since the previous check.

    `token` is the id of the order DIVA injected last; it is reported when that very order
    is among the arrivals, which is how a detector verifies *the* injected event.
    """
    with closing(_connect()) as db:
        db.execute("BEGIN IMMEDIATE")
        row = db.execute("SELECT seq FROM watermark WHERE name = ?", (event_name,)).fetchone()
        seen = row[0] if row else 0
        arrivals = db.execute("SELECT seq, order_id FROM warehouse WHERE seq > ? ORDER BY seq", (seen,)).fetchall()
        if arrivals:
            db.execute(
                "INSERT INTO watermark (name, seq) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET seq = excluded.seq",
                (event_name, arrivals[-1][0]),
            )
        db.execute("COMMIT")
    if token and any(order_id == token for _, order_id in arrivals):
        print(f"[{event_name}] verified injected order {token}")
    return bool(arrivals)


def alert_order(message: str) -> None:
    folder = _demo_dir()
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "alerts.log", "a", encoding="utf-8") as log:
        log.write(f"{datetime.now(timezone.utc).isoformat()} {message}\n")
    print(message, file=sys.stderr)


def get_events():
    return {
        "orders_pipeline": {
            "detect": detect_order,
            "inject": inject_order,
            "alert": alert_order,
            "max_failures": 2,
            "inject_each_period": True,
            "timeout": 10,
        }
    }
