"""Logging for rule scripts: progress goes to the rule's log file and to stderr."""

from __future__ import annotations

import logging
import sys


def to_file(path: str) -> logging.Logger:
    """Send the `gdynet` logger (and Python warnings) to `path` and stderr."""
    logger = logging.getLogger("gdynet")
    logger.setLevel(logging.INFO)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S")
    for handler in (logging.FileHandler(path, mode="w"), logging.StreamHandler(sys.stderr)):
        handler.setFormatter(fmt)
        logger.addHandler(handler)
    logging.captureWarnings(True)
    return logger


def get() -> logging.Logger:
    return logging.getLogger("gdynet")
