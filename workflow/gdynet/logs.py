"""Logging for rule scripts: everything goes to the rule's log file, one line to the console.

`to_file(path)` sends the `gdynet` logger, Python warnings, anything written to stderr
and the traceback of an uncaught exception to `path`. The console (the real stderr)
gets one short line when the script fails, with the error itself and where the whole
story is, so a user sees what went wrong without opening a log, and the log says why.
"""

from __future__ import annotations

import logging
import sys
import traceback


def to_file(path: str, label: str = "") -> logging.Logger:
    """Send the `gdynet` logger, warnings, stderr and uncaught exceptions to `path`.

    label: names the job in the console line (e.g. "train toy gdynet k2 tau2ps").
    """
    stream = open(path, "w", buffering=1)  # line-buffered: a killed job keeps its log
    console = sys.__stderr__
    logger = logging.getLogger("gdynet")
    logger.setLevel(logging.INFO)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    logger.handlers = [handler]
    logger.propagate = False
    logging.captureWarnings(True)
    logging.getLogger("py.warnings").handlers = [handler]
    sys.stderr = stream

    def report(kind, error, tb):
        stream.write("".join(traceback.format_exception(kind, error, tb)))
        stream.flush()
        what = f"{label}: " if label else ""
        message = str(error).strip() or kind.__name__
        first = message.splitlines()[0]
        more = " (more in the log)" if first != message else ""
        console.write(f"Error in {what}{kind.__name__}: {first}{more}\n  log: {path}\n")
        console.flush()

    sys.excepthook = report
    return logger


def get() -> logging.Logger:
    return logging.getLogger("gdynet")
