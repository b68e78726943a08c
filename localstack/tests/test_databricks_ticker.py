"""The rule state machine (plink_stack/databricks/ticker.py) in-process, against a fake bridge, for
the AWS-side outcomes the shared stack cannot produce on demand: bridge unavailable, a connection that
fails or disappears, endpoint clean-up of established rules at purge time, and results that arrive
after a reset. A private Model instance is used, so the running stack is not touched.
"""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from plink_stack import clock, settings  # noqa: E402
from plink_stack.databricks import bridge  # noqa: E402
from plink_stack.databricks.model import Model, Ncc, Rule  # noqa: E402
from plink_stack.databricks.ticker import Ticker  # noqa: E402

REGION = "us-east-1"
SERVICE = "com.amazonaws.vpce.us-east-1.vpce-svc-0abc"


class EndpointServiceNotFound(Exception):
    pass


class PrincipalNotAllowed(Exception):
    pass


class FakeBridge:
    """CONTRACT.md bridge with scripted AWS-side answers."""

    EndpointServiceNotFound = EndpointServiceNotFound
    PrincipalNotAllowed = PrincipalNotAllowed

    def __init__(self):
        self.created, self.deleted, self.states = [], [], {}
        self.on_create = None  # callable run inside create (to simulate races)
        self.fail_with = None

    def create_consumer_endpoint(self, region, service_name, owner_account, principal_arn, tags):
        if self.fail_with:
            raise self.fail_with
        if self.on_create:
            self.on_create()
        vpce = f"vpce-{len(self.created):017x}"
        self.created.append((region, service_name, owner_account, principal_arn, tags))
        self.states[vpce] = "pendingAcceptance"
        return vpce

    def connection_state(self, region, service_name, vpce_id):
        return self.states.get(vpce_id)

    def delete_consumer_endpoint(self, region, owner_account, vpce_id):
        self.deleted.append(vpce_id)
        self.states.pop(vpce_id, None)


@pytest.fixture
def env():
    fake = FakeBridge()
    bridge.use(fake)
    settings.update({"rule_creating": 0, "rule_establish": 0, "rule_purge": 3600, "rule_expiry": 3600})
    model = Model()
    model.reset()
    ncc = Ncc(id="ncc-1", account_id="acct", name="n", region=REGION, creation_time=0, updated_time=0,
              seq=model.next_seq())
    model.nccs[ncc.id] = ncc
    yield model, Ticker(model), fake
    bridge.use(None)
    settings.reset()


def add_rule(model, service=SERVICE) -> Rule:
    r = Rule(id=f"rule-{model.next_seq()}", ncc_id="ncc-1", account_id="acct", region=REGION,
             endpoint_service=service, domain_names=["db.example.com"], resource_names=None,
             creation_time=0, updated_time=0, seq=model.next_seq(), state_since=clock.now())
    model.rules[r.id] = r
    return r


def test_creating_calls_bridge_as_databricks_principal(env):
    model, ticker, fake = env
    r = add_rule(model)
    ticker.tick()
    assert r.connection_state == "PENDING" and r.vpc_endpoint_id and r.endpoint_live
    region, service, owner, principal, tags = fake.created[0]
    assert (region, service, owner) == (REGION, SERVICE, "565502421330")
    assert principal == "arn:aws:iam::565502421330:role/private-connectivity-role-us-east-1"
    assert tags["databricks-rule-id"] == r.id and r.updated_time > 0


def test_catch_up_applies_only_what_is_due(env):
    """A read must see a state the moment its delay runs out (make bench once saw a rule still
    CREATING a few milliseconds after it was due: the tick and the bridge had not run yet)."""
    model, ticker, fake = env
    settings.update({"rule_creating": 3600})
    r = add_rule(model)
    ticker.catch_up()
    assert r.connection_state == "CREATING" and fake.created == []  # not due: no bridge call
    settings.update({"rule_creating": 0})
    ticker.catch_up()
    assert r.connection_state == "PENDING" and len(fake.created) == 1
    ticker.catch_up()
    assert len(fake.created) == 1  # nothing due any more


def test_catch_up_finishes_a_due_workspace_update(env):
    model, ticker, _ = env
    ws = next(iter(model.workspaces.values()))
    settings.update({"workspace_update": 0})
    ws.workspace_status, ws.provisioning_since = "PROVISIONING", clock.now()
    ticker.catch_up()
    assert ws.workspace_status == "RUNNING" and ws.provisioning_since is None


def test_bridge_errors(env):
    model, ticker, fake = env
    fake.fail_with = PrincipalNotAllowed("nope")
    r1 = add_rule(model)
    ticker.tick()
    assert r1.connection_state == "CREATE_FAILED" and "not allowed" in r1.error_message
    fake.fail_with = RuntimeError("AWS emulator hiccup")
    r2 = add_rule(model)
    ticker.tick()
    assert r2.connection_state == "CREATING" and r2.retry_at > clock.now()  # retried later, not failed
    fake.fail_with = None
    r2.retry_at = 0
    ticker.tick()
    assert r2.connection_state == "PENDING"


def test_bridge_unavailable_keeps_creating(env):
    model, ticker, _ = env
    bridge.use(None)
    import importlib

    real = importlib.import_module

    def no_aws(name, *a, **k):
        if name == "plink_stack.aws.bridge":
            raise ImportError("no AWS emulator in this process")
        return real(name, *a, **k)

    importlib.import_module = no_aws
    try:
        r = add_rule(model)
        ticker.tick()
        assert r.connection_state == "CREATING"
    finally:
        importlib.import_module = real


@pytest.mark.parametrize("aws_state,rule_state", [
    ("available", "ESTABLISHED"), ("rejected", "REJECTED"), ("failed", "CREATE_FAILED"),
    ("deleted", "DISCONNECTED"), (None, "DISCONNECTED"), ("expired", "EXPIRED"), ("pending", "PENDING"),
])
def test_pending_outcomes(env, aws_state, rule_state):
    model, ticker, fake = env
    r = add_rule(model)
    ticker.tick()
    if aws_state is None:
        del fake.states[r.vpc_endpoint_id]
    else:
        fake.states[r.vpc_endpoint_id] = aws_state
    ticker.tick()
    assert r.connection_state == rule_state


def test_established_needs_rule_establish_delay(env):
    model, ticker, fake = env
    settings.update({"rule_establish": 3600})
    r = add_rule(model)
    ticker.tick()
    fake.states[r.vpc_endpoint_id] = "available"
    ticker.tick()
    assert r.connection_state == "PENDING" and r.available_since is not None
    settings.update({"rule_establish": 0})
    ticker.tick()
    assert r.connection_state == "ESTABLISHED"


def test_deactivated_established_rule_keeps_endpoint_until_purge(env):
    model, ticker, fake = env
    r = add_rule(model)
    ticker.tick()
    fake.states[r.vpc_endpoint_id] = "available"
    ticker.tick()
    assert r.connection_state == "ESTABLISHED"
    r.deactivated, r.deactivated_at = True, clock.now_ms()
    ticker.tick()
    assert fake.deleted == [] and r.id in model.rules
    settings.update({"rule_purge": 0})
    ticker.tick()  # purge queues the deletion ...
    ticker.tick()  # ... which the next tick performs
    assert r.id not in model.rules and fake.deleted == [r.vpc_endpoint_id]


def test_result_after_reset_is_discarded(env):
    model, ticker, fake = env
    r = add_rule(model)
    fake.on_create = model.reset  # a reset lands while the bridge call is in flight
    ticker.tick()
    assert r.id not in model.rules and model.endpoint_deletions == []


def test_rule_deleted_while_endpoint_is_created_gets_cleaned_up(env):
    model, ticker, fake = env
    r = add_rule(model)

    def deactivate():
        r.deactivated, r.deactivated_at = True, clock.now_ms()

    fake.on_create = deactivate
    ticker.tick()
    assert r.connection_state == "CREATING" and not r.vpc_endpoint_id
    ticker.tick()
    assert len(fake.deleted) == 1  # the endpoint nobody wants any more is deleted


def test_workspace_provisioning_returns_to_running(env):
    model, ticker, _ = env
    ws = next(iter(model.workspaces.values()))
    ws.workspace_status, ws.provisioning_since = "PROVISIONING", clock.now()
    settings.update({"workspace_update": 0})
    ticker.tick()
    assert ws.workspace_status == "RUNNING" and ws.provisioning_since is None


# --- native S3 rules -----------------------------------------------------------------------------------

S3 = f"com.amazonaws.{REGION}.s3"


def add_s3_rule(model, buckets=("bucket-a", "bucket-b")) -> Rule:
    r = add_rule(model, S3)
    r.domain_names, r.resource_names = None, list(buckets)
    return r


def test_s3_rule_waits_for_every_bucket_and_ignores_stale_verdicts(env):
    model, ticker, fake = env
    allowed = set()
    asked = []

    def s3_buckets_allow(region, buckets, vpce_id):
        asked.append((region, tuple(buckets), vpce_id))
        missing = [b for b in buckets if b not in allowed]
        return "; ".join(f"bucket {b}: no statement allows aws:SourceVpce {vpce_id}" for b in missing) or None

    fake.s3_buckets_allow = s3_buckets_allow
    r = add_s3_rule(model)
    ticker.tick()
    assert r.connection_state == "PENDING" and fake.created[0][1] == S3
    fake.states[r.vpc_endpoint_id] = "pending"  # endpoint still provisioning: policies not asked
    ticker.tick()
    assert asked == [] and r.connection_state == "PENDING"
    fake.states[r.vpc_endpoint_id] = "available"
    allowed.add("bucket-a")
    ticker.tick()
    assert r.connection_state == "PENDING" and "bucket-b" in r.pending_reason
    assert asked[-1] == (REGION, ("bucket-a", "bucket-b"), r.vpc_endpoint_id)

    # resource_names changed while the bridge was being asked: that verdict is discarded
    def change_then_allow(region, buckets, vpce_id):
        r.resource_names = ["bucket-c"]
        return None

    fake.s3_buckets_allow = change_then_allow
    ticker.tick()
    assert r.connection_state == "PENDING"
    fake.s3_buckets_allow = s3_buckets_allow
    allowed.add("bucket-c")
    ticker.tick()
    assert r.connection_state == "ESTABLISHED" and r.pending_reason is None
    allowed.clear()  # emulator's choice: an established S3 rule keeps its state
    ticker.tick()
    assert r.connection_state == "ESTABLISHED"


def test_s3_rule_expires_and_a_bridge_without_the_check_keeps_it_pending(env):
    model, ticker, fake = env
    r = add_s3_rule(model)
    ticker.tick()
    fake.states[r.vpc_endpoint_id] = "available"
    ticker.tick()  # FakeBridge has no s3_buckets_allow: an error, the rule waits
    assert r.connection_state == "PENDING"
    fake.s3_buckets_allow = lambda region, buckets, vpce: "bucket-a: does not exist"
    settings.update({"rule_expiry": 0})
    ticker.tick()
    assert r.connection_state == "EXPIRED"
