"""Delayed state transitions (closes the "state changes are instant" part of gap 9 in
local-emulators.md).

AWS resources move through intermediate states (endpoint `pending`, NLB `provisioning`, service
`Pending`, connection `pending` after an accept, `deleting`). Each patch schedules the next state with a
named delay from `settings.Delays` (real-world seconds, scaled by `clock.time_scale()`). Due transitions
run, in deadline order, at the start of every AWS request and bridge call (`tick()`), always under
`context.LOCK`, so a client polling after the deadline sees the new state and no timer thread touches
moto behind a request's back.
"""
from __future__ import annotations

import heapq
import itertools
import logging
from typing import Callable

from .. import clock, settings

log = logging.getLogger("plink_stack.aws.scheduler")

_queue: list[tuple[float, int, Callable[[], None]]] = []
_seq = itertools.count()


def delay_seconds(name: str) -> float:
    """Scaled seconds of the named delay (see settings.Delays)."""
    return clock.scaled(getattr(settings.delays(), name))


def deadline(name: str) -> float:
    return clock.now() + delay_seconds(name)


def after(name: str, action: Callable[[], None]) -> float:
    """Run `action` once the named delay has elapsed; returns the deadline (epoch seconds)."""
    return at(deadline(name), action)


def at(when: float, action: Callable[[], None]) -> float:
    heapq.heappush(_queue, (when, next(_seq), action))
    return when


def tick() -> None:
    """Run every transition whose deadline has passed (caller holds context.LOCK)."""
    now = clock.now()
    while _queue and _queue[0][0] <= now:
        _, _, action = heapq.heappop(_queue)
        try:
            action()
        except Exception:  # a stale transition must not fail the request that triggered it
            log.exception("state transition failed")


def clear() -> None:
    _queue.clear()
