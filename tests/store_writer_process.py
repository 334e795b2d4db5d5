"""Writes a session into the store like the live service, until killed (SIGKILL) by a test.

Usage: python store_writer_process.py DB. Every 10 ms it adds one angle point whose ``t`` is
the wall clock (epoch s), so the test can tell how old the last committed point is.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from processing.events import AngleTrace
from processing.store.writer import SessionRecord, StoreWriter

SESSION_ID = "killed"


def main(path: Path) -> None:
    writer = StoreWriter(path)
    writer.begin_session(SessionRecord(SESSION_ID, "tester", time.time_ns() // 10**6, ("sim://",)))
    while True:
        now = time.time()
        writer.add_trace(SESSION_ID, AngleTrace(np.array([now]), np.array([1.0])))
        time.sleep(0.01)  # the pace of a live angle stream, not synchronisation


if __name__ == "__main__":
    main(Path(sys.argv[1]))
