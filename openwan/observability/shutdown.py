"""Graceful stop on SIGTERM (ECS stops tasks with SIGTERM, then SIGKILL after stopTimeout).

The API server (Uvicorn) handles SIGTERM itself: it stops accepting, lets requests in flight
finish (``OPENWAN_SHUTDOWN_SECONDS``) and runs the lifespan shutdown. The worker gets a
``threading.Event`` that is set on SIGTERM/SIGINT; a worker loop that accepts ``stop=`` lets
the job in hand finish and takes no new one. A second signal exits at once.
"""

from __future__ import annotations

import logging
import signal
import threading

log = logging.getLogger("openwan.shutdown")


def install_stop_handlers(*, exit_on_first: bool = False) -> threading.Event:
    """Set the returned event on SIGTERM/SIGINT; with ``exit_on_first`` (or on a second
    signal) raise ``SystemExit`` in the main thread so ``finally`` blocks run."""
    stop = threading.Event()

    def handle(signum, _frame) -> None:
        name = signal.Signals(signum).name
        if stop.is_set() or exit_on_first:
            log.warning("%s: stopping now", name)
            raise SystemExit(128 + signum)
        log.warning("%s: finishing the work in hand, then stopping", name)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    return stop
