"""Scaled time for the emulators.

Every delay in the stack is expressed in real-world seconds and multiplied by the time scale, so
tests can exercise the waiting logic of clients in milliseconds while the demo still shows it.
"""
import os
import threading
import time

_lock = threading.Lock()
_scale = float(os.environ.get("PLINK_STACK_TIME_SCALE", "1"))


def time_scale() -> float:
    with _lock:
        return _scale


def set_time_scale(scale: float) -> None:
    global _scale
    if scale <= 0:
        raise ValueError("time scale must be > 0")
    with _lock:
        _scale = scale


def scaled(seconds: float) -> float:
    """Real seconds an emulated delay of `seconds` takes at the current scale."""
    return seconds * time_scale()


def now() -> float:
    """Wall-clock seconds (monotonic-safe enough for emulated delays)."""
    return time.time()


def now_ms() -> int:
    return int(time.time() * 1000)
