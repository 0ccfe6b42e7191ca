"""Stopping a training run cleanly on Ctrl-C (SIGINT) or SIGTERM (systemd, Docker, Kubernetes).

The handler only sets a flag; the loop checks it between steps, saves a resumable checkpoint and stops,
so the checkpoint never holds a half-applied step (weights updated but BatchNorm statistics or the loss
centres not, or the reverse). A second signal does not raise inside the step either: the step in
flight finishes first. Exit codes: 130 for SIGINT, 143 (128 + 15) for SIGTERM.
"""

from __future__ import annotations

import signal
import threading
from typing import Callable

from eemkit.errors import EXIT_INTERRUPTED, EXIT_TERMINATED

EXIT_CODES = {signal.SIGINT: EXIT_INTERRUPTED, signal.SIGTERM: EXIT_TERMINATED}


class StopFlag:
    """Installs SIGINT and SIGTERM handlers (main thread only) until `restore()`."""

    def __init__(self, notify: Callable[[str], None] | None = None) -> None:
        self.requested = False
        self.signum: int | None = None
        self._notify = notify
        self._old: dict[int, object] = {}
        if threading.current_thread() is threading.main_thread():
            for s in EXIT_CODES:
                self._old[s] = signal.signal(s, self._handle)

    def _handle(self, signum, frame) -> None:
        first = not self.requested
        self.requested = True
        self.signum = self.signum or signum
        if self._notify is not None:
            name = signal.Signals(signum).name
            self._notify(f"{name}: stopping after this step and saving a checkpoint" if first else
                         f"{name} again: still finishing the current step, then saving (a half-applied step would not resume exactly)")

    @property
    def exit_code(self) -> int:
        return EXIT_CODES.get(self.signum, EXIT_INTERRUPTED)

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name if self.signum else "SIGINT"

    def restore(self) -> None:
        for s, old in self._old.items():
            signal.signal(s, old)
        self._old = {}
