"""`python -m tests.emulation --port P --lambda-endpoint URL`: serve the emulation on 127.0.0.1:P.

Prints `emulator ready on http://127.0.0.1:P` once it accepts requests; exits 0 on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.emulation", description=__doc__)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--lambda-endpoint", required=True,
                    help="where Lambda invocations go: `cargo lambda watch`, e.g. http://127.0.0.1:9000")
    ap.add_argument("--lambda-timeout", type=float, default=900.0,
                    help="seconds to wait for one forwarded invocation (cargo lambda may compile first)")
    ap.add_argument("--async-retry-delays", default="1,2",
                    help="seconds before each retry of a failed asynchronous invocation (AWS: two retries)")
    ap.add_argument("--log-level", default="INFO", help="level of the emulator's own log lines")
    ap.add_argument("--moto-log-details", action="store_true",
                    help="let moto's log lines through as they are (they may quote request data)")
    args = ap.parse_args(argv)

    from . import logs

    logs.configure(args.log_level, args.moto_log_details)

    from . import moto_glue

    delays = tuple(float(x) for x in args.async_retry_delays.split(",") if x.strip())
    forwarder = moto_glue.install(args.lambda_endpoint, args.port, args.lambda_timeout, delays)

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from .app import Emulator
    from .server import make_server

    dispatcher = DomainDispatcherApplication(create_backend_app)
    app = Emulator(dispatcher, forwarder)
    server = make_server(args.host, args.port, app)

    def warm():
        # Build the moto apps the project uses now rather than inside its first requests.
        for backend in ("s3", "awslambda", "stepfunctions", "iam", "sts", "logs"):
            try:
                with dispatcher.lock:
                    if backend not in dispatcher.app_instances:
                        dispatcher.app_instances[backend] = create_backend_app(backend)
            except Exception:  # noqa: BLE001 - a cold app is only slower
                logging.getLogger("emulator").warning("could not pre-build moto app %s", backend)

    warm()

    def stop(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"emulator ready on http://{args.host}:{args.port}", flush=True)
    try:
        server.serve_forever()
    finally:
        app.stop()
        server.server_close()
        logging.getLogger("emulator").info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
