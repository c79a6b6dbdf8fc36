"""`python -m spoke serve`: a spoke worker process, standing in for the Lambda runtime locally.

moto cannot run Lambda code, so `diva sim` starts one worker per spoke account and region.
Each serves HTTP on 127.0.0.1 (a free port, printed as `READY <port>`), and hands every
POSTed command batch to the real entry point, `spoke.handler.handler`, with a context whose
function ARN names the worker's account and region (`DIVA_SPOKE_FUNCTION_ARN`). The
worker's own AWS credentials are the spoke account's; settings come from the environment
exactly as in Lambda.

The reply carries, for the simulation's report, every key the spoke wrote.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Context:
    def __init__(self, arn: str, timeout: float):
        self.invoked_function_arn = arn
        self._ends = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._ends - time.monotonic()) * 1000))


def serve() -> int:
    import spoke.handler
    from diva_runtime.settings import Settings
    from spoke.app import build_spoke

    arn = os.environ["DIVA_SPOKE_FUNCTION_ARN"]
    writers = []
    app = build_spoke(Settings.from_env(os.environ))
    app.on_writer = writers.append
    spoke.handler._app = app  # the warm container: the handler reuses it

    class Invoke(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            timeout = float(self.headers.get("X-Diva-Timeout", "60"))
            try:
                reply = spoke.handler.handler(payload, _Context(arn, timeout))
                reply["keys_written"] = writers.pop().keys_written if writers else []
                body, status = json.dumps(reply).encode(), 200
            except Exception as exc:  # a Lambda would report FunctionError: Unhandled
                body, status = json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)}).encode(), 500
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args) -> None:
            """Silent: the simulation prints what happened, not every HTTP request."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Invoke)
    print(f"READY {server.server_address[1]}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    if sys.argv[1:] != ["serve"]:
        print("usage: python -m spoke serve", file=sys.stderr)
        sys.exit(2)
    sys.exit(serve())
