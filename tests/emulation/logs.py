"""Logging that never carries user IDs.

The emulator's own log lines name operations, counts and function names only. moto's log lines
can quote request data (the Step Functions engine logs every failure with its Cause and the
state's repr; Flask logs request paths), so their text is withheld unless asked for. An
internal error is logged as its exception type and where it happened, without its message.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import traceback


class WithholdMotoDetails(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "moto" or record.name.startswith("moto."):
            record.msg = "%s message withheld (moto's log lines may carry request data)"
            record.args = (record.levelname,)
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
        return True


def configure(level: str = "INFO", moto_details: bool = False):
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("emulator").setLevel(level.upper())
    # werkzeug's access log would print request lines, and Pinpoint paths carry user IDs.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    if not moto_details:
        for handler in logging.getLogger().handlers:
            handler.addFilter(WithholdMotoDetails())
    # A thread's uncaught exception would print its message (which may hold data): type and place only.
    threading.excepthook = _thread_excepthook


def _thread_excepthook(args):
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "?"
    logging.getLogger("emulator").error("uncaught error in thread %s: %s", name, where(args.exc_value))


def where(exc: BaseException) -> str:
    """`KeyError at pinpoint.py:123 (op_GetEndpoint)`: no exception message, which may hold data."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return type(exc).__name__
    f = frames[-1]
    return f"{type(exc).__name__} at {os.path.basename(f.filename)}:{f.lineno} ({f.name})"
