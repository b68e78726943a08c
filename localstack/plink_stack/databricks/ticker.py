"""Background state machine: rules, purges, endpoint deletions, workspace updates and one-time job runs
(jobs.advance) advance on their own (no API call needed), driven by scaled delays (CONTRACT.md
"Timing", settings.Delays).

Rule transitions (databricks-api.md §3.2, §10.4; the AWS side is asked, never scripted):

* ``CREATING`` --(``rule_creating``)--> the bridge creates Databricks' interface endpoint as
  ``principal_arn_for(region)`` of account 565502421330 -> ``PENDING`` with ``vpc_endpoint_id``;
  ``EndpointServiceNotFound`` / ``PrincipalNotAllowed`` -> ``CREATE_FAILED`` with ``error_message``.
  S3 first-party rules take the same path (the endpoint goes to ``com.amazonaws.<region>.s3`` in
  Databricks' account; the bridge then reports the endpoint's own state, no customer acceptance).
* ``PENDING``: bridge ``connection_state`` ``available`` for ``rule_establish`` -> ``ESTABLISHED``;
  ``rejected`` -> ``REJECTED``; ``expired`` or still ``pendingAcceptance`` after ``rule_expiry`` ->
  ``EXPIRED``; ``failed`` -> ``CREATE_FAILED``; connection gone/deleting -> ``DISCONNECTED``;
  ``pending`` (accepted, provisioning) -> wait.
* ``PENDING``, S3 rules: ``ESTABLISHED`` once the endpoint is ``available`` *and* the bridge's
  ``s3_buckets_allow(region, resource_names, vpc_endpoint_id)`` says every bucket's policy allows that
  ``aws:SourceVpce``, both holding for ``rule_establish`` (the timer restarts whenever either stops
  holding, or ``resource_names`` changes); otherwise ``PENDING`` until ``rule_expiry`` -> ``EXPIRED``.
* ``ESTABLISHED``: connection ``rejected``/``deleted``/``failed``/gone -> ``DISCONNECTED``. An
  ESTABLISHED S3 rule stays ESTABLISHED when a bucket policy changes later (emulator's choice; the
  real behaviour is not confirmed).
* ``CREATE_FAILED``, ``REJECTED``, ``EXPIRED``, ``DISCONNECTED`` are terminal.
* Deactivated rules only keep being watched for ``ESTABLISHED`` -> ``DISCONNECTED`` and are purged
  after ``rule_purge``; then their remaining endpoint is deleted through the bridge.

Every transition sets ``updated_time``. Bridge calls are made without the model lock; results are
applied only if the rule is unchanged and no reset happened meanwhile.
"""
import logging
import os
import threading

from .. import clock, settings
from . import bridge, jobs
from .model import EndpointDeletion
from .principals import owner_account_for, principal_arn_for

log = logging.getLogger("plink_stack.databricks")

# How often (real seconds) the Databricks side applies its transitions on its own. A request first
# applies what is due (`Ticker.catch_up`), so a time-driven state is visible the moment it is due;
# what depends on the AWS side (a connection accepted, a bucket policy) is seen up to one tick late.
# `PLINK_STACK_TICK` shortens it where that latency would be measured (`make bench`).
TICK_SECONDS = float(os.environ.get("PLINK_STACK_TICK", "0.1"))
BRIDGE_RETRY_SECONDS = 2.0


def _transition(rule, state: str, error_message: str | None = None) -> None:
    rule.connection_state = state
    rule.state_since = clock.now()
    rule.updated_time = clock.now_ms()
    if error_message is not None:
        rule.error_message = error_message


def _elapsed(since: float, delay: float) -> bool:
    return clock.now() - since >= clock.scaled(delay)


class Ticker:
    def __init__(self, model, interval: float = TICK_SECONDS):
        self.model = model
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._tick_lock = threading.Lock()

    # --- lifecycle ------------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="plink-databricks-ticker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception:  # never let the ticker die
                log.exception("databricks ticker failed")

    # --- one step -------------------------------------------------------------------------------------

    def catch_up(self) -> None:
        """Apply what is due before a request is answered: a real API computes a state when it is
        read, so a rule or workspace whose delay has run out must not look unchanged for another
        tick (or for the bridge's few milliseconds). Only time-driven transitions count as due
        (``rule_creating``, ``workspace_update``); what depends on the AWS side keeps its ticks."""
        if self._due():
            self.tick()

    def _due(self) -> bool:
        m = self.model
        d = settings.delays()
        with m.lock:
            for r in m.rules.values():
                if r.connection_state == "CREATING" and not r.deactivated and \
                        _elapsed(r.state_since, d.rule_creating) and clock.now() >= r.retry_at:
                    return True
            return any(ws.workspace_status == "PROVISIONING" and ws.provisioning_since is not None and
                       _elapsed(ws.provisioning_since, d.workspace_update) for ws in m.workspaces.values())

    def tick(self) -> None:
        with self._tick_lock:
            gen, deletions, creates, polls = self._plan()
            for d in deletions:
                self._delete_endpoint(d)
            results = [(item, self._create(item)) for item in creates]
            states = [(item, self._poll(item)) for item in polls]
            self._apply(gen, results, states)
            jobs.advance(self.model)

    def _plan(self):
        """Under the lock: do the local transitions, collect the bridge work."""
        m = self.model
        d = settings.delays()
        creates, polls = [], []
        with m.lock:
            gen = m.generation
            for r in list(m.rules.values()):
                if r.deactivated and r.deactivated_at is not None and \
                        clock.now() - r.deactivated_at / 1000 >= clock.scaled(d.rule_purge):
                    if r.endpoint_live:
                        m.endpoint_deletions.append(EndpointDeletion(r.region, r.endpoint_owner, r.vpc_endpoint_id))
                    del m.rules[r.id]
                    continue
                if r.connection_state == "CREATING" and not r.deactivated and _elapsed(r.state_since, d.rule_creating):
                    if clock.now() >= r.retry_at:
                        creates.append(self._create_item(r))
                elif r.connection_state in ("PENDING", "ESTABLISHED") and r.endpoint_live:
                    if r.connection_state == "ESTABLISHED" or not r.deactivated:
                        buckets = tuple(r.resource_names or ()) if (
                            r.first_party_s3 and r.connection_state == "PENDING") else None
                        polls.append((r.id, r.connection_state, r.region, r.endpoint_service, r.vpc_endpoint_id,
                                      buckets))
            for ws in m.workspaces.values():
                if ws.workspace_status == "PROVISIONING" and ws.provisioning_since is not None and \
                        _elapsed(ws.provisioning_since, d.workspace_update):
                    ws.workspace_status = "RUNNING"
                    ws.workspace_status_message = "Workspace is running."
                    ws.provisioning_since = None
            deletions, m.endpoint_deletions = m.endpoint_deletions, []
        return gen, deletions, creates, polls

    @staticmethod
    def _create_item(r) -> dict:
        return {
            "rule_id": r.id,
            "region": r.region,
            "service": r.endpoint_service,
            "owner": owner_account_for(r.region),
            "principal": principal_arn_for(r.region),
            "tags": {
                "Name": f"databricks-serverless-{r.id[:8]}",
                "databricks-account-id": r.account_id,
                "databricks-ncc-id": r.ncc_id,
                "databricks-rule-id": r.id,
            },
        }

    # --- bridge calls (no lock held) -------------------------------------------------------------------

    @staticmethod
    def _create(item: dict):
        try:
            vpce = bridge.get().create_consumer_endpoint(
                item["region"], item["service"], item["owner"], item["principal"], item["tags"])
            return ("ok", vpce)
        except Exception as exc:  # classified below
            if bridge.is_error(exc, "EndpointServiceNotFound"):
                return ("failed", (
                    f"Failed to create the VPC endpoint: the VPC endpoint service {item['service']} does not "
                    f"exist in region {item['region']} or is not available to Databricks ({exc})."))
            if bridge.is_error(exc, "PrincipalNotAllowed"):
                return ("failed", (
                    f"Failed to create the VPC endpoint: principal {item['principal']} is not allowed to "
                    f"connect to the VPC endpoint service {item['service']}. Add it to the service's allowed "
                    f"principals, then delete and recreate this rule ({exc})."))
            log.warning("bridge create_consumer_endpoint failed for rule %s: %r", item["rule_id"], exc)
            return ("retry", None)

    @staticmethod
    def _poll(item):
        """("ok", connection state, bucket-policy verdict) or ("error", None, None). The verdict is
        None unless the item is a PENDING S3 rule whose endpoint is available: then "" when every
        bucket allows the endpoint, else the bridge's reason."""
        _, _, region, service, vpce, buckets = item
        try:
            conn = bridge.get().connection_state(region, service, vpce)
            verdict = None
            if buckets is not None and conn == "available":
                verdict = bridge.get().s3_buckets_allow(region, list(buckets), vpce) or ""
            return ("ok", conn, verdict)
        except Exception as exc:
            log.warning("bridge connection_state/s3_buckets_allow failed for %s: %r", vpce, exc)
            return ("error", None, None)

    @staticmethod
    def _delete_endpoint(d) -> None:
        try:
            bridge.get().delete_consumer_endpoint(d.region, d.owner_account, d.vpc_endpoint_id)
        except Exception as exc:
            log.warning("bridge delete_consumer_endpoint(%s) failed: %r", d.vpc_endpoint_id, exc)

    # --- apply results under the lock ---------------------------------------------------------------------

    def _apply(self, gen, results, states) -> None:
        m = self.model
        d = settings.delays()
        with m.lock:
            if m.generation != gen:
                return  # reset happened meanwhile; the AWS side was reset as well
            for item, (kind, value) in results:
                r = m.rules.get(item["rule_id"])
                if kind == "ok":
                    if r is None or r.deactivated or r.connection_state != "CREATING":
                        m.endpoint_deletions.append(EndpointDeletion(item["region"], item["owner"], value))
                        continue
                    r.vpc_endpoint_id = value
                    r.endpoint_owner = item["owner"]
                    r.endpoint_live = True
                    r.available_since = None
                    _transition(r, "PENDING")
                elif r is None:
                    continue
                elif kind == "failed" and r.connection_state == "CREATING":
                    _transition(r, "CREATE_FAILED", value)
                elif kind == "retry":
                    r.retry_at = clock.now() + clock.scaled(BRIDGE_RETRY_SECONDS)
            for (rule_id, seen_state, *_, buckets), (kind, conn, verdict) in states:
                r = m.rules.get(rule_id)
                if r is None or kind != "ok" or r.connection_state != seen_state:
                    continue
                if buckets is not None:
                    if buckets != tuple(r.resource_names or ()):
                        continue  # resource_names changed meanwhile: judge the new list next tick
                    self._advance_s3(r, conn, verdict, d)
                else:
                    self._advance(r, conn, d)

    @staticmethod
    def _advance_s3(r, conn: str | None, verdict: str | None, d) -> None:
        """A PENDING S3 rule: its endpoint must be available and every bucket must allow it."""
        if conn == "available" and verdict == "":
            if r.available_since is None:
                r.available_since = clock.now()
            if _elapsed(r.available_since, d.rule_establish):
                r.pending_reason = None
                _transition(r, "ESTABLISHED")
        elif conn in ("available", "pending"):
            r.available_since = None
            if verdict and verdict != r.pending_reason:
                log.info("S3 rule %s stays PENDING: %s", r.id, verdict)
            r.pending_reason = verdict or None
            if _elapsed(r.state_since, d.rule_expiry):
                _transition(r, "EXPIRED")
        else:
            Ticker._advance(r, conn, d)

    @staticmethod
    def _advance(r, conn: str | None, d) -> None:
        if r.connection_state == "PENDING":
            if conn == "available":
                if r.available_since is None:
                    r.available_since = clock.now()
                if _elapsed(r.available_since, d.rule_establish):
                    _transition(r, "ESTABLISHED")
            elif conn == "rejected":
                _transition(r, "REJECTED")
            elif conn == "expired":
                _transition(r, "EXPIRED")
            elif conn == "failed":
                _transition(r, "CREATE_FAILED", "The VPC endpoint connection failed on the AWS side.")
            elif conn in ("pendingAcceptance", "pending"):  # not (yet) accepted / still provisioning
                r.available_since = None
                if conn == "pendingAcceptance" and _elapsed(r.state_since, d.rule_expiry):
                    _transition(r, "EXPIRED")
            else:  # deleted / unknown: the resource owner removed it
                _transition(r, "DISCONNECTED")
        elif r.connection_state == "ESTABLISHED":
            if conn not in ("available", "pendingAcceptance", "pending"):
                _transition(r, "DISCONNECTED")
