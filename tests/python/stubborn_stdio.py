"""A stdio MCP server that will not leave quietly, for the shutdown-ladder tests.

    stubborn_stdio.py MARKER_FILE [--ignore-sigterm]

Answers `initialize`, `ping` and `tools/list` (no tools) on stdin/stdout. On stdin EOF it
writes `eof` to MARKER_FILE and keeps running, so the gateway must escalate. On SIGTERM it
writes `term` and exits, or with --ignore-sigterm writes `term-ignored` and keeps
running, so only SIGKILL ends it. Standard library only.
"""

import os
import signal
import sys
import time

from minimal_server import serve_stdio

marker_path = sys.argv[1]
ignore_sigterm = "--ignore-sigterm" in sys.argv[2:]


def mark(word):
    # One line per event, flushed at once: the test reads the file after the kill.
    with open(marker_path, "a") as f:
        f.write(word + "\n")
        f.flush()
        os.fsync(f.fileno())


def on_sigterm(_signum, _frame):
    if ignore_sigterm:
        mark("term-ignored")
        return
    mark("term")
    os._exit(0)


signal.signal(signal.SIGTERM, on_sigterm)
mark("started")
serve_stdio("stubborn", [])
mark("eof")
while True:
    time.sleep(60)
