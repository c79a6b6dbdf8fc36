"""The `diva` command: run cycles, show status, validate configuration.

Exit codes: 0 the command did its job (whatever the events' health), 1 state/store error,
2 configuration error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import re
import secrets
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timezone

from diva_core.errors import ConfigError, DivaError, StateError

DEFAULT_EVENTS_CANDIDATES = ("user_logic", "user_logic.py", "event_logic.py")
DEFAULT_STATE = "file:.diva/state.json"

log = logging.getLogger("diva")


def _duration(text: str) -> float:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h)?\s*", text)
    if not match or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"expected a duration like 30s, 5m or 1h, got {text!r}")
    factor = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, None: 1}[match.group(2)]
    return float(match.group(1)) * factor


def local_cycle_id(now: datetime) -> str:
    """Unique per run: two `diva run` processes must never be mistaken for one duplicated tick."""
    return f"{now.strftime('%Y%m%dT%H%M%S')}Z-{secrets.token_hex(4)}"


def _events_source(given: str | None) -> str:
    """`--events`, or the first of ./user_logic/, ./user_logic.py, ./event_logic.py.

    Only the working directory is searched: an installed package that happens to be named
    `user_logic` must never be monitored by accident.
    """
    from pathlib import Path

    if given:
        return given
    for candidate in DEFAULT_EVENTS_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    raise ConfigError([
        "no events to monitor: pass --events, or run where ./user_logic/, ./user_logic.py "
        "or ./event_logic.py exists"
    ])


def _add_store_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--state", default=DEFAULT_STATE, help="file:PATH, s3://bucket/key or dynamodb://table")
    parser.add_argument("--endpoint-url", help="AWS-compatible endpoint (moto, dynalite, localstack)")
    parser.add_argument("--region", help="AWS region of the store")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="diva", description="DIVA: Detect -> Inject -> Verify -> Alert")
    parser.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run one monitoring cycle (or one every --every)")
    run.add_argument("--events", help="folder, .py file or module with get_events() (default: ./user_logic)")
    _add_store_args(run)
    run.add_argument("--json", action="store_true", help="print the cycle's result as one JSON object")
    run.add_argument("--every", type=_duration, help="repeat on a local schedule, e.g. 5m, until interrupted")
    run.add_argument("--max-workers", type=int, default=None, help="concurrent probe calls (default 128)")
    run.add_argument("--cycle-id", help="name the cycle (a repeated id is a duplicated tick and is skipped)")
    run.add_argument("--deadline", type=_duration, help="stop probing after this long; unfinished events keep their state")

    status = commands.add_parser("status", help="show events, status, counters and open incidents")
    status.add_argument("--events")
    _add_store_args(status)
    status.add_argument("--json", action="store_true")

    validate = commands.add_parser("validate", help="check the events' configuration only")
    validate.add_argument("--events")

    _add_extension_commands(commands)
    return parser


def _add_extension_commands(commands) -> None:
    """Commands whose code lives in other packages (simulation, CDK synth), imported lazily."""
    sim = commands.add_parser("sim", help="simulate hub and spokes across accounts/regions on a local moto server")
    sim.add_argument("--cycles", type=int, default=8)
    sim.add_argument("--json", action="store_true")
    migrate = commands.add_parser("migrate", help="copy state between stores, e.g. from an upstream DIVA table",
                                  add_help=False)
    migrate.add_argument("rest", nargs=argparse.REMAINDER)
    synth = commands.add_parser("synth", help="write the CloudFormation templates (no CDK CLI needed)")
    synth.add_argument("--out", default="cdk.out")
    synth.add_argument("--config", help="deployment configuration file (JSON)")


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def _state_rows(states) -> list[list[str]]:
    rows = []
    for name, s in sorted(states.items()):
        incident = s.incident_started_at.strftime("%Y-%m-%d %H:%M:%SZ") if s.incident_started_at else "-"
        rows.append([
            name, s.status, str(s.detection_failures), str(s.injection_failures),
            "yes" if s.alerted else "no", incident, (s.last_error or "-")[:60],
        ])
    return rows


STATE_HEADER = ["event", "status", "det_fail", "inj_fail", "alerted", "incident since", "last error"]


def _print_report(report) -> None:
    print(f"cycle {report.cycle_id}")
    print(_table(_state_rows(report.states), STATE_HEADER))
    for t in report.transitions:
        print(f"  {t.event}: {t.old} -> {t.new} ({t.reason})")
    for d in report.deliveries:
        verdict = "sent" if d.complete else f"FAILED ({'; '.join(f'{k}: {v}' for k, v in d.errors.items())})"
        print(f"  {d.kind} {verdict}: {d.message}")
    if report.unfinished:
        print(f"  unfinished before the deadline (state kept): {', '.join(report.unfinished)}")
    if report.skipped_duplicate:
        print(f"  already applied by this cycle id (skipped): {', '.join(report.skipped_duplicate)}")


def _run(args) -> int:
    from diva_runtime.cycle import Cycle, InProcessProber
    from diva_runtime.probes import DEFAULT_MAX_WORKERS
    from diva_runtime.stores import open_store
    from diva_runtime.user_logic import load_events

    events = load_events(_events_source(args.events))
    store = open_store(args.state, endpoint_url=args.endpoint_url, region=args.region)
    workers = args.max_workers or DEFAULT_MAX_WORKERS
    if workers < 1:
        raise ConfigError([f"--max-workers must be >= 1, got {workers}"])
    cycle = Cycle(events=events, store=store, prober=InProcessProber(events, max_workers=workers), max_workers=workers)
    while True:
        now = datetime.now(timezone.utc)
        deadline = time.monotonic() + args.deadline if args.deadline else None
        try:
            # User probes may print; with --json stdout carries only DIVA's JSON.
            with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():
                report = cycle.run(cycle_id=args.cycle_id or local_cycle_id(now), now=now, deadline=deadline)
        except StateError as exc:
            if not args.every:
                raise
            # A local schedule outlives a store hiccup, as a scheduler would: report, wait, retry.
            print(f"diva: state error (cycle skipped, state left as it was): {exc}", file=sys.stderr, flush=True)
        else:
            if args.json:
                print(json.dumps(report.to_json(), default=str), flush=True)
            else:
                _print_report(report)
        if not args.every:
            return 0
        time.sleep(max(0.0, args.every - (datetime.now(timezone.utc) - now).total_seconds()))


def _status(args) -> int:
    from contracts.state import EventState
    from diva_runtime.stores import open_store
    from diva_runtime.user_logic import load_events

    try:
        names = list(load_events(_events_source(args.events)))
    except ConfigError:
        names = None  # status still shows what is stored
    store = open_store(args.state, endpoint_url=args.endpoint_url, region=args.region)
    stored = store.load(names).states
    states = {name: stored.get(name, EventState()) for name in names} if names else dict(stored)
    if args.json:
        print(json.dumps({"events": {n: s.model_dump(mode="json") for n, s in sorted(states.items())}}))
        return 0
    if not states:
        print(f"no state yet in {store.description}")
        return 0
    print(_table(_state_rows(states), STATE_HEADER))
    open_incidents = [n for n, s in states.items() if s.incident_id]
    print(f"\n{len(states)} events, {len(open_incidents)} open incident(s)")
    return 0


def _validate(args) -> int:
    from diva_runtime.user_logic import load_events

    events = load_events(_events_source(args.events))
    for name, options in events.items():
        policy = options.policy()
        print(f"ok  {name}: role={policy.role} detection_threshold={policy.detection_threshold} "
              f"injection_threshold={policy.injection_threshold} reset={policy.reset_mode} timeout={policy.timeout:g}s")
    return 0


def _sim(args) -> int:
    from hub.simulation import main as sim_main

    return sim_main(cycles=args.cycles, as_json=args.json)


def _synth(args) -> int:
    from infra.synth import main as synth_main

    return synth_main(["--out", args.out, *(["--config", args.config] if args.config else [])])


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["migrate"]:  # its own argument parser, options and --help
        from hub.migrate import main as migrate_main

        return migrate_main(argv[1:])
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    handlers = {"run": _run, "status": _status, "validate": _validate, "sim": _sim, "synth": _synth}
    try:
        return handlers[args.command](args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"diva: configuration error: {problem}", file=sys.stderr)
        return 2
    except StateError as exc:
        print(f"diva: state error: {exc}", file=sys.stderr)
        return 1
    except DivaError as exc:
        print(f"diva: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
