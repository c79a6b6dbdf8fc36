"""`diva` driven in a subprocess, the way a user runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DIVA = str(Path(sys.executable).parent / "diva")


def diva(*args, cwd, env=None, timeout=60):
    return subprocess.run([DIVA, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def test_run_json_prints_every_counter_per_event(tmp_path):
    result = diva("run", "--events", str(REPO / "user_logic"), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)  # the examples print: that goes to stderr, stdout is one object
    assert "Checking data arrival for sample_event" in result.stderr
    orders = report["events"]["orders_pipeline"]
    for key in ("status", "detection_failures", "injection_failures", "injected", "alerted", "cooldown_counter",
                "in_warmup", "warmup_counter", "last_error"):
        assert key in orders
    assert report["events"]["sample_event"]["status"] == "healthy"
    assert (tmp_path / ".diva" / "state.json").exists()


def test_pipeline_walkthrough_detect_inject_alert_recover(tmp_path):
    """The README's walkthrough: break the pipeline, see the alert, repair, see 'resolved'."""
    def cycle(pipeline):
        result = diva("run", "--json", "--events", str(REPO / "user_logic"), cwd=tmp_path,
                      env={"DIVA_DEMO_PIPELINE": pipeline})
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    cycle("ok")
    assert cycle("ok")["events"]["orders_pipeline"]["status"] == "healthy"
    statuses = [cycle("broken")["events"]["orders_pipeline"]["status"] for _ in range(3)]
    assert statuses[-1] == "alerting"
    alerts = (tmp_path / ".diva" / "demo" / "alerts.log").read_text().splitlines()
    assert len(alerts) == 1 and "orders_pipeline" in alerts[0] and "resolved" not in alerts[0].lower()
    cycle("ok")
    final = cycle("ok")
    assert final["events"]["orders_pipeline"]["status"] == "healthy"
    alerts = (tmp_path / ".diva" / "demo" / "alerts.log").read_text().splitlines()
    assert len(alerts) == 2 and "resolved" in alerts[1].lower()


def test_bad_configuration_exits_2_naming_event_and_option(tmp_path):
    (tmp_path / "user_logic.py").write_text(
        "def get_events():\n"
        "    return {'orders': {'detect': lambda n: True, 'inject': lambda n: True, 'max_failures': 0},\n"
        "            'billing': {'detect': lambda n: True, 'inject': lambda n: True, 'max_failure': 3}}\n"
    )
    for command in ("run", "validate"):
        result = diva(command, "--events", str(tmp_path / "user_logic.py"), cwd=tmp_path)
        assert result.returncode == 2
        assert "event 'orders': max_failures must be an integer >= 1, got 0" in result.stderr
        assert "event 'billing': unknown option 'max_failure'" in result.stderr
    assert not (tmp_path / ".diva").exists()  # no probe ran, no state written


def test_corrupt_state_exits_1_naming_the_file_and_leaves_it(tmp_path):
    state = tmp_path / "state.json"
    state.write_text("[1, 2")
    result = diva("run", "--events", str(REPO / "user_logic" / "seed_example.py"), "--state", f"file:{state}",
                  cwd=tmp_path)
    assert result.returncode == 1 and str(state) in result.stderr
    assert state.read_text() == "[1, 2"


def test_validate_and_status(tmp_path):
    seed = str(REPO / "user_logic" / "seed_example.py")
    validated = diva("validate", "--events", seed, cwd=tmp_path)
    assert validated.returncode == 0 and "sample_event" in validated.stdout
    assert diva("run", "--events", seed, cwd=tmp_path).returncode == 0
    status = diva("status", "--events", seed, cwd=tmp_path)
    assert status.returncode == 0 and "sample_event" in status.stdout and "healthy" in status.stdout
    as_json = json.loads(diva("status", "--events", seed, "--json", cwd=tmp_path).stdout)
    assert as_json["events"]["sample_event"]["status"] == "healthy"


def test_status_counts_open_incidents(tmp_path):
    (tmp_path / "user_logic.py").write_text(
        "def get_events():\n"
        "    return {'down': {'detect': lambda n: False, 'inject': lambda n: True, 'max_failures': 3},\n"
        "            'up': {'detect': lambda n: True, 'inject': lambda n: True}}\n"
    )
    assert diva("run", cwd=tmp_path).returncode == 0
    status = diva("status", cwd=tmp_path)
    assert status.returncode == 0
    assert "2 events, 1 open incident(s)" in status.stdout
    down = next(line for line in status.stdout.splitlines() if line.startswith("down"))
    assert "failing" in down and "detect returned False" in down


def test_every_repeats_cycles_until_interrupted(tmp_path):
    process = subprocess.Popen([DIVA, "run", "--events", str(REPO / "user_logic" / "seed_example.py"), "--json",
                                "--every", "0.2s"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    time.sleep(2.5)
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=20)
    assert process.returncode == 0
    cycles = [json.loads(line)["cycle_id"] for line in out.splitlines() if line.startswith("{")]
    assert len(cycles) >= 2 and len(set(cycles)) == len(cycles)


def test_unknown_state_url_is_a_configuration_error(tmp_path):
    result = diva("run", "--events", str(REPO / "user_logic" / "seed_example.py"), "--state", "redis://x",
                  cwd=tmp_path)
    assert result.returncode == 2 and "unknown store" in result.stderr


def test_synth_with_a_bad_config_exits_2_naming_the_field(tmp_path):
    config = tmp_path / "diva.json"
    config.write_text('{"schedule": "every tuesday"}')
    result = diva("synth", "--out", str(tmp_path / "out"), "--config", str(config), cwd=tmp_path)
    assert result.returncode == 2 and "schedule" in result.stderr


def test_without_events_here_nothing_installed_is_monitored_by_accident(tmp_path):
    result = diva("validate", cwd=tmp_path)
    assert result.returncode == 2 and "no events to monitor" in result.stderr
    (tmp_path / "event_logic.py").write_text((REPO / "user_logic" / "seed_example.py").read_text())
    found = diva("validate", cwd=tmp_path)
    assert found.returncode == 0 and "sample_event" in found.stdout


def test_migrate_copies_upstream_counters_into_a_new_store(tmp_path):
    old = tmp_path / "upstream.json"
    old.write_text('{"sample_event": {"detection_failures": 2, "injected": true, "alerted": false}}')
    new = tmp_path / "diva.json"
    seed = str(REPO / "user_logic" / "seed_example.py")
    result = diva("migrate", "--events", seed, "--from", f"file:{old}", "--to", f"file:{new}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    status = json.loads(diva("status", "--events", seed, "--state", f"file:{new}", "--json", cwd=tmp_path).stdout)
    assert status["events"]["sample_event"]["detection_failures"] == 2
    again = diva("migrate", "--events", seed, "--from", f"file:{old}", "--to", f"file:{new}", cwd=tmp_path)
    assert again.returncode == 1  # already there: kept, not overwritten
