"""`diva migrate`: copy event state from one store to another, once, keeping the counters.

For upstream DIVA users moving to the hub: the hub's table is keyed `pk = state#<event>`,
upstream's `event_id = <event>`, and the hub will not run on the latter. So copy the state
across before the first hub tick:

    diva migrate --events event_logic --from 'dynamodb://diva-state?key=event_id' \\
                 --to dynamodb://diva-hub-table

Only the events of the events module are copied (the table may hold others). Every write
goes through the target store's compare-and-set: an event the target already has is left
alone unless `--force`, and then it is overwritten only if nobody changed it since it was
read. Any store URL works on either side (`file:`, `s3://`, `dynamodb://`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from contracts.state import EventState
from diva_core.errors import ConfigError, DivaError, StaleStateError

EXIT_OK, EXIT_REFUSED, EXIT_CONFIG = 0, 1, 2


@dataclass
class MigrationReport:
    copied: dict[str, EventState] = field(default_factory=dict)
    """Event -> the state now in the target."""
    kept: list[str] = field(default_factory=list)
    """Already in the target; not overwritten (no --force)."""
    absent: list[str] = field(default_factory=list)
    """No state in the source: the hub starts them fresh."""


def migrate(source, target, names: Sequence[str], *, force: bool = False) -> MigrationReport:
    """Copy `names`' states from `source` to `target` (both `StateStore`s).

    Raises `StaleStateError` if the target changed between read and write (a hub already
    ticking on it): run again once it is quiet, or stop the schedule first.
    """
    report = MigrationReport()
    found = source.load(names).states
    base = target.load(names)
    changes: dict[str, EventState] = {}
    for name in sorted(names):
        state = found.get(name)
        if state is None:
            report.absent.append(name)
            continue
        existing = base.states.get(name)
        if existing is not None and not force:
            report.kept.append(name)
            continue
        # One past what the target holds: the store's condition then fails if it changed.
        changes[name] = state.model_copy(update={"version": (existing.version if existing else 0) + 1})
    if changes:
        target.commit(base, changes)
    report.copied = changes
    return report


def _describe(state: EventState) -> str:
    return (f"status {state.status}, detection_failures {state.detection_failures}, "
            f"injection_failures {state.injection_failures}, injected {state.injected}, "
            f"alerted {state.alerted}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="diva migrate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", required=True, help="events module or .py file (its get_events() names)")
    parser.add_argument("--from", dest="source", required=True,
                        help="store to copy from, e.g. 'dynamodb://old-table?key=event_id'")
    parser.add_argument("--to", dest="target", required=True, help="store to copy to, e.g. dynamodb://hub-table")
    parser.add_argument("--endpoint-url", help="local AWS endpoint (moto, dynalite) for both stores")
    parser.add_argument("--region", help="AWS region of both stores")
    parser.add_argument("--force", action="store_true",
                        help="overwrite events the target already has (still compare-and-set)")
    args = parser.parse_args(argv)

    from diva_runtime.stores import open_store
    from diva_runtime.user_logic import load_events

    try:
        names = sorted(load_events(args.events))
        source = open_store(args.source, endpoint_url=args.endpoint_url, region=args.region)
        target = open_store(args.target, endpoint_url=args.endpoint_url, region=args.region)
        if source.description == target.description:
            raise ConfigError([f"--from and --to are the same store ({source.description})"])
    except ConfigError as error:
        for problem in error.problems:
            print(f"diva migrate: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        report = migrate(source, target, names, force=args.force)
    except StaleStateError as error:
        print(f"diva migrate: nothing more copied: {error} (is a hub already running on "
              f"{target.description}? stop its schedule and run again)", file=sys.stderr)
        return EXIT_REFUSED
    except DivaError as error:
        print(f"diva migrate: {error}", file=sys.stderr)
        return EXIT_REFUSED

    for name, state in report.copied.items():
        print(f"copied  {name}: {_describe(state)}")
    for name in report.kept:
        print(f"kept    {name}: already in {target.description}; not overwritten (use --force)")
    for name in report.absent:
        print(f"absent  {name}: no state in {source.description}; it starts fresh")
    print(f"{len(report.copied)} copied, {len(report.kept)} kept, {len(report.absent)} absent: "
          f"{source.description} -> {target.description}")
    return EXIT_REFUSED if report.kept else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
