"""Kill a benchmark's child process with SIGKILL at a chosen moment, as `kill -9` would: the crash a rerun must survive."""

import signal
import subprocess
import sys
import time
from collections.abc import Callable


def kill_when(process: subprocess.Popen, ready: Callable[[], bool], settle: float, poll: float, too_late: str) -> None:
    """Poll `ready()` every `poll` seconds while `process` runs; once true, wait `settle` seconds (into the work the
    rerun must do again), then SIGKILL it and reap it. Exit with `too_late` if the process ended first."""
    while process.poll() is None and not ready():
        time.sleep(poll)
    if process.poll() is None:
        time.sleep(settle)
    if process.poll() is not None:
        sys.exit(too_late)
    process.send_signal(signal.SIGKILL)
    process.wait()
