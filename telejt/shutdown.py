"""This process was asked to stop (SIGTERM): long loops finish what they hold and return.

The scheduler's loops (a dispatch batch, a planning pass) check :func:`stop_requested`
between steps, and a provider call waiting for its answer gives up after a short
grace, so ``telejt scheduler run`` ends within seconds of SIGTERM with nothing of
its claims left unsettled.
"""

from __future__ import annotations

import threading

_stop = threading.Event()


def request_stop() -> None:
    """Ask every loop of this process to finish up and return."""
    _stop.set()


def stop_requested() -> bool:
    """Whether this process is stopping."""
    return _stop.is_set()


def wait_for_stop(seconds: float) -> bool:
    """Sleep up to ``seconds``, waking early when a stop is requested; whether it was."""
    return _stop.wait(seconds)


def reset() -> None:
    """Forget a stop request (tests run several schedulers in one process)."""
    _stop.clear()
