"""The time model `make bench` runs the stack with: the real-world durations of issue 13 ("A fresh
`plink up` is mostly waiting: NLB ~2–3 min, interface endpoint ~1.5 min, rule CREATING → PENDING
~1.5 min, PENDING → ESTABLISHED 1–5 min after acceptance, workspace update ~1 min"), checked
against field-update-2026-12.md §5.1 (BENCHMARKS.md, "Time model and scale", cites each).

The stack's own defaults (localstack/plink_stack/settings.py) are shorter where the test suites
would only wait longer for the same assertions (endpoint 60 s, rule 30 s, workspace 5 s); the
benchmark sets these at start (`PLINK_STACK_DELAYS`), so a reset keeps them.
"""
from __future__ import annotations

# Real-world seconds, by the stack's delay names (settings.Delays).
DELAYS: dict[str, float] = {
    # Issue 13: ~2–3 min (its middle); field §5.1: ~2–5 min (kubernetes #44695: ">2 minutes").
    "nlb_provisioning": 150.0,
    # Issue 13: ~1.5 min; field §5.1: ~1.5–2.5 min (the field README's "90s wait for AWS to
    # provision the VPC endpoint").
    "endpoint_pending": 90.0,
    # Field §5.1: the create already answers `Available`.
    "service_pending": 0.0,
    # Issue 13: ~1.5 min; field §5.1: ~90 s (field README).
    "rule_creating": 90.0,
    # Field §5.1: the consumer endpoint is `available` "seconds to a few minutes" after the accept.
    "connection_accept": 5.0,
    # Issue 13 and field §5.1: ESTABLISHED 1–5 min after the acceptance: 5 s + 60 s here, near the
    # lower end (the stack's default).
    "rule_establish": 60.0,
    # Issue 13: ~1 min (field §5.1 and databricks-api.md §4.4: UNCONFIRMED, "likely stays
    # RUNNING"; the SDK's waiter allows 20 min).
    "workspace_update": 60.0,
}


def stack_delays() -> str:
    """`PLINK_STACK_DELAYS`: `name=seconds,…`."""
    return ",".join(f"{name}={seconds:g}" for name, seconds in DELAYS.items())
