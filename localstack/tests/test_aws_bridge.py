"""`plink_stack.aws.bridge` (CONTRACT.md): unit tests against an in-process AWS emulator in this test
process, and one end-to-end check through the Databricks emulator of the session stack."""
from __future__ import annotations

import base64
import json
import sys
import threading
import urllib.error
import urllib.request

import pytest

from conftest import CUSTOMER, DATABRICKS, LOCALSTACK, wait_for

sys.path.insert(0, str(LOCALSTACK))

REGION = "us-east-1"
ROLE = f"arn:aws:iam::{DATABRICKS}:role/private-connectivity-role-{REGION}"


@pytest.fixture(scope="module")
def local():
    """The AWS emulator app served from this process, so the bridge shares its moto."""
    from werkzeug.serving import make_server

    from plink_stack import clock
    from plink_stack.aws import app as aws_app

    saved = clock.time_scale()
    clock.set_time_scale(0.002)
    server = make_server("127.0.0.1", 0, aws_app.make_app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", aws_app
    server.shutdown()
    server.server_close()
    clock.set_time_scale(saved)


@pytest.fixture
def ec2(local):
    import boto3

    url, aws_app = local
    aws_app.reset()
    return boto3.client("ec2", endpoint_url=url, region_name=REGION, aws_access_key_id=CUSTOMER,
                        aws_secret_access_key="x")


def make_service(ec2, local, principals=(ROLE,)) -> dict:
    import boto3

    url, aws_app = local
    fx = aws_app.fixtures.seeded()["regions"][REGION]
    elb = boto3.client("elbv2", endpoint_url=url, region_name=REGION, aws_access_key_id=CUSTOMER,
                       aws_secret_access_key="x")
    lb = elb.create_load_balancer(Name="nlb", Type="network", Scheme="internal", Subnets=[
        fx["subnets"]["private-a"]["id"], fx["subnets"]["private-b"]["id"]])["LoadBalancers"][0]
    svc = ec2.create_vpc_endpoint_service_configuration(NetworkLoadBalancerArns=[lb["LoadBalancerArn"]],
                                                         AcceptanceRequired=True)["ServiceConfiguration"]
    if principals:
        ec2.modify_vpc_endpoint_service_permissions(ServiceId=svc["ServiceId"],
                                                    AddAllowedPrincipals=list(principals))
    return {"id": svc["ServiceId"], "name": svc["ServiceName"]}


def test_moto_version_is_checked(monkeypatch):
    import moto

    from plink_stack import aws

    aws.check_moto_version()
    monkeypatch.setattr(moto, "__version__", "9.9.9")
    with pytest.raises(RuntimeError, match="moto 5.2.5"):
        aws.check_moto_version()


def test_bridge_handshake(ec2, local):
    from plink_stack.aws import bridge

    svc = make_service(ec2, local)
    assert bridge.principal_for(REGION) == ROLE
    vpce = bridge.create_consumer_endpoint(REGION, svc["name"], DATABRICKS, ROLE, {"ncc-rule": "r1"})
    assert bridge.connection_state(REGION, svc["name"], vpce) == "pendingAcceptance"
    conns = ec2.describe_vpc_endpoint_connections(
        Filters=[{"Name": "service-id", "Values": [svc["id"]]}])["VpcEndpointConnections"]
    assert [(c["VpcEndpointId"], c["VpcEndpointOwner"], c["VpcEndpointState"]) for c in conns] == [
        (vpce, DATABRICKS, "pendingAcceptance")]
    assert bridge.connection_state(REGION, svc["name"], "vpce-00000000000000000") is None

    ec2.accept_vpc_endpoint_connections(ServiceId=svc["id"], VpcEndpointIds=[vpce])
    assert bridge.connection_state(REGION, svc["name"], vpce) in ("pending", "available")
    wait_for(lambda: bridge.connection_state(REGION, svc["name"], vpce) == "available", what="available")

    bridge.delete_consumer_endpoint(REGION, DATABRICKS, vpce)
    wait_for(lambda: bridge.connection_state(REGION, svc["name"], vpce) == "deleted", what="deleted")
    bridge.delete_consumer_endpoint(REGION, DATABRICKS, vpce)  # idempotent


def test_bridge_refusals_and_aws_services(ec2, local):
    from plink_stack.aws import bridge

    svc = make_service(ec2, local, principals=())
    with pytest.raises(bridge.PrincipalNotAllowed):
        bridge.create_consumer_endpoint(REGION, svc["name"], DATABRICKS, ROLE, {})
    with pytest.raises(bridge.EndpointServiceNotFound):
        bridge.create_consumer_endpoint(REGION, "com.amazonaws.vpce.us-east-1.vpce-svc-00000000000000000",
                                        DATABRICKS, ROLE, {})
    ec2.modify_vpc_endpoint_service_permissions(ServiceId=svc["id"],
                                                AddAllowedPrincipals=[f"arn:aws:iam::{DATABRICKS}:root"])
    assert bridge.create_consumer_endpoint(REGION, svc["name"], DATABRICKS, ROLE, {}).startswith("vpce-")

    s3 = f"com.amazonaws.{REGION}.s3"
    vpce = bridge.create_consumer_endpoint(REGION, s3, DATABRICKS, ROLE, {})
    assert bridge.connection_state(REGION, s3, vpce) == "pending"
    wait_for(lambda: bridge.connection_state(REGION, s3, vpce) == "available", what="S3 endpoint available")


def test_bridge_is_thread_safe(ec2, local):
    from plink_stack.aws import bridge

    svc = make_service(ec2, local)
    made, errors = [], []

    def connect():
        try:
            made.append(bridge.create_consumer_endpoint(REGION, svc["name"], DATABRICKS, ROLE, {}))
            ec2.describe_vpc_endpoint_connections()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=connect) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    conns = ec2.describe_vpc_endpoint_connections()["VpcEndpointConnections"]
    assert sorted(c["VpcEndpointId"] for c in conns) == sorted(made) and len(set(made)) == 8


# --- end to end through the Databricks emulator of the session stack ---------------------------------

def _db_call(env: dict, method: str, path: str, body: dict | None = None, token: str | None = None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(env["DATABRICKS_HOST"] + path, method=method, headers=headers,
                                 data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def _db_token(env: dict) -> str:
    basic = base64.b64encode(f"{env['DATABRICKS_CLIENT_ID']}:{env['DATABRICKS_CLIENT_SECRET']}".encode()).decode()
    req = urllib.request.Request(
        f"{env['DATABRICKS_HOST']}/oidc/accounts/{env['DATABRICKS_ACCOUNT_ID']}/v1/token", method="POST",
        data=b"grant_type=client_credentials&scope=all-apis",
        headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())["access_token"]


def test_databricks_rule_reaches_the_customer_through_the_bridge(aws):
    from test_aws_privatelink import build_service

    env = aws.env
    svc = build_service(aws)
    ec2 = aws.client("ec2")
    token = _db_token(env)
    base = f"/api/2.0/accounts/{env['DATABRICKS_ACCOUNT_ID']}/network-connectivity-configs"
    status, ncc = _db_call(env, "POST", base, {"name": "plink-ncc", "region": REGION}, token)
    assert status == 200, ncc
    rules = f"{base}/{ncc['network_connectivity_config_id']}/private-endpoint-rules"
    status, rule = _db_call(env, "POST", rules, {"endpoint_service": svc["name"],
                                                  "domain_names": ["db.internal.example.com"]}, token)
    assert status == 200, rule

    def get_rule() -> dict:
        return _db_call(env, "GET", f"{rules}/{rule['rule_id']}", token=token)[1]

    pending = wait_for(lambda: (r := get_rule()).get("vpc_endpoint_id") and r, what="rule has an endpoint")
    vpce = pending["vpc_endpoint_id"]
    conns = ec2.describe_vpc_endpoint_connections(
        Filters=[{"Name": "vpc-endpoint-id", "Values": [vpce]}])["VpcEndpointConnections"]
    assert [(c["VpcEndpointOwner"], c["VpcEndpointState"]) for c in conns] == [(DATABRICKS, "pendingAcceptance")]
    assert get_rule()["connection_state"] == "PENDING"
    ec2.accept_vpc_endpoint_connections(ServiceId=svc["id"], VpcEndpointIds=[vpce])
    wait_for(lambda: get_rule()["connection_state"] == "ESTABLISHED", what="rule ESTABLISHED")
