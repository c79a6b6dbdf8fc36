"""One of the racing processes: runs `diva run --json` N times in this process.

Usage: python concurrency_driver.py CYCLES -- <diva run arguments>

Prints "ready" once imports are done, waits for a line on stdin (so all processes start
together), then prints one JSON line per cycle:
{"exit": code, "report": ..., "stderr": ..., "stored_before_giving_up": [event, ...]}.
Calling the CLI's `main` in-process keeps the CLI's exit codes and JSON output while
sparing a Python start-up per cycle.

`stored_before_giving_up` is for the one way a cycle can still exit 1 in the race: its
first commit met a conflict on every attempt and gave up. On DynamoDB (one item per
event) the events it did write before giving up are stored and counted; the CLI's message
does not name them, so the driver reads them off the error (`StaleStateError.written`)
on their way out of the cycle's commit. S3 and the file store always report none.
"""

import contextlib
import io
import json
import sys


def main() -> int:
    cycles = int(sys.argv[1])
    run_args = sys.argv[sys.argv.index("--") + 1:]
    from diva_runtime.cli import main as diva
    import diva_runtime.cycle as cycle_module
    import boto3  # noqa: F401  (imported before the start signal)
    from diva_core.errors import StaleStateError

    gave_up: list[frozenset[str]] = []
    commit_with_rebase = cycle_module.commit_with_rebase

    def noting_what_was_stored(*args, **kwargs):
        try:
            return commit_with_rebase(*args, **kwargs)
        except StaleStateError as conflict:
            gave_up.append(conflict.written)
            raise

    cycle_module.commit_with_rebase = noting_what_was_stored

    print("ready", flush=True)
    sys.stdin.readline()
    for _ in range(cycles):
        out, err = io.StringIO(), io.StringIO()
        gave_up.clear()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = diva(["--log-level", "ERROR", "run", "--json", *run_args])
        report = json.loads(out.getvalue()) if code == 0 else None
        # A cycle that exits 1 raised out of its first commit: the last give-up is that one.
        stored = sorted(gave_up[-1]) if code != 0 and gave_up else []
        print(json.dumps({"exit": code, "report": report, "stderr": err.getvalue()[-1000:],
                          "stored_before_giving_up": stored}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
