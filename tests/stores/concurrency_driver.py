"""One of the racing processes: runs `diva run --json` N times in this process.

Usage: python concurrency_driver.py CYCLES -- <diva run arguments>

Prints "ready" once imports are done, waits for a line on stdin (so all processes start
together), then prints one JSON line per cycle: {"exit": code, "report": ..., "stderr": ...}.
Calling the CLI's `main` in-process keeps the CLI's exit codes and JSON output while
sparing a Python start-up per cycle.
"""

import contextlib
import io
import json
import sys


def main() -> int:
    cycles = int(sys.argv[1])
    run_args = sys.argv[sys.argv.index("--") + 1:]
    from diva_runtime.cli import main as diva
    import diva_runtime.cycle  # noqa: F401  (imported before the start signal)
    import boto3  # noqa: F401

    print("ready", flush=True)
    sys.stdin.readline()
    for _ in range(cycles):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = diva(["--log-level", "ERROR", "run", "--json", *run_args])
        report = json.loads(out.getvalue()) if code == 0 else None
        print(json.dumps({"exit": code, "report": report, "stderr": err.getvalue()[-1000:]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
