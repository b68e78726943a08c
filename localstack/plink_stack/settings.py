"""Emulator delays (real-world seconds, scaled by clock.time_scale()) and their overrides."""
import os
import threading
from dataclasses import dataclass, fields, asdict


@dataclass
class Delays:
    # AWS
    endpoint_pending: float = 60.0          # interface endpoint pending -> available
    nlb_provisioning: float = 120.0         # NLB provisioning -> active
    service_pending: float = 0.0            # endpoint service Pending -> Available (AWS: at once)
    endpoint_deleting: float = 30.0         # endpoint / NLB deleting -> gone
    connection_accept: float = 5.0          # pendingAcceptance -> available after accept
    # Databricks
    rule_creating: float = 30.0             # rule CREATING -> PENDING (endpoint requested)
    rule_establish: float = 60.0            # connection available -> rule ESTABLISHED
    rule_expiry: float = 14 * 24 * 3600.0   # PENDING -> EXPIRED
    rule_purge: float = 24 * 3600.0         # deactivated rule purged
    workspace_update: float = 5.0           # workspace PROVISIONING after an update (0 = stays RUNNING)
    token_ttl: float = 3600.0               # OAuth access token lifetime
    ncc_delete_settle: float = 30.0         # NCC delete still refused this long after its last rule/binding went away
    job_run_pending: float = 20.0           # one-time run PENDING (serverless compute starting) -> RUNNING
    job_run: float = 30.0                   # one-time run RUNNING (the task executing) -> TERMINATED


_lock = threading.Lock()
_delays = Delays()


def _apply_env() -> None:
    raw = os.environ.get("PLINK_STACK_DELAYS", "").strip()
    if raw:
        update({k.strip(): float(v) for k, v in (kv.split("=", 1) for kv in raw.split(",") if kv)})


def delays() -> Delays:
    with _lock:
        return Delays(**asdict(_delays))


def update(values: dict) -> None:
    names = {f.name for f in fields(Delays)}
    unknown = set(values) - names
    if unknown:
        raise ValueError(f"unknown delay(s): {sorted(unknown)}; known: {sorted(names)}")
    with _lock:
        for k, v in values.items():
            if float(v) < 0:
                raise ValueError(f"delay {k} must be >= 0")
            setattr(_delays, k, float(v))


def reset() -> None:
    global _delays
    with _lock:
        _delays = Delays()
    _apply_env()


_apply_env()
