"""Fixtures for the Databricks emulator tests (imported by tests/conftest.py, which owns the stack).

``db`` (session) wraps the running stack: account host, fixtures, SDK clients, raw HTTP helpers and
a boto3 "customer" for the AWS side of the PrivateLink handshake. ``dbx`` (function) resets both
emulators, sets a fast time scale (0.01: 30 s -> 0.3 s) and restores the stack's config afterwards.
"""
import os
import time

import pytest
import requests

ACCOUNT_PATH = "/api/2.0/accounts/{account_id}"
FAST_TIME_SCALE = 0.01


def wait_for(fn, timeout: float = 20.0, interval: float = 0.1, what: str = "condition"):
    """Poll ``fn`` until it returns a truthy value; return that value."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


class Customer:
    """The customer's AWS account (moto default 123456789012) driven with boto3."""

    def __init__(self, endpoint_url: str, region: str = "us-east-1"):
        import boto3

        kw = dict(endpoint_url=endpoint_url, region_name=region, aws_access_key_id="test",
                  aws_secret_access_key="test")
        self.region = region
        self.ec2 = boto3.client("ec2", **kw)
        self.elbv2 = boto3.client("elbv2", **kw)
        self._n = 0

    def make_service(self, allowed_principals=(), acceptance_required: bool = True) -> dict:
        """VPC + 2 subnets + internal NLB + endpoint service (+ allowed principals); waits Available."""
        self._n += 1
        n = self._n
        vpc = self.ec2.create_vpc(CidrBlock=f"10.{100 + n}.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            self.ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.{100 + n}.{i}.0/24",
                                   AvailabilityZone=f"{self.region}{az}")["Subnet"]["SubnetId"]
            for i, az in enumerate("ab", start=1)
        ]
        lb = self.elbv2.create_load_balancer(Name=f"plink-test-nlb-{n}-{int(time.time() * 1000) % 100000}",
                                             Type="network", Scheme="internal",
                                             Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
        svc = self.ec2.create_vpc_endpoint_service_configuration(
            NetworkLoadBalancerArns=[lb], AcceptanceRequired=acceptance_required)["ServiceConfiguration"]
        if allowed_principals:
            self.ec2.modify_vpc_endpoint_service_permissions(ServiceId=svc["ServiceId"],
                                                             AddAllowedPrincipals=list(allowed_principals))
        wait_for(lambda: self.ec2.describe_vpc_endpoint_service_configurations(
            ServiceIds=[svc["ServiceId"]])["ServiceConfigurations"][0]["ServiceState"] == "Available",
            what="endpoint service Available")
        return {"service_id": svc["ServiceId"], "service_name": svc["ServiceName"]}

    def connection_state(self, service_id: str, vpce_id: str):
        conns = self.ec2.describe_vpc_endpoint_connections(
            Filters=[{"Name": "service-id", "Values": [service_id]}])["VpcEndpointConnections"]
        for c in conns:
            if c["VpcEndpointId"] == vpce_id:
                return c["VpcEndpointState"]
        return None

    def connection_owner(self, service_id: str, vpce_id: str):
        conns = self.ec2.describe_vpc_endpoint_connections(
            Filters=[{"Name": "service-id", "Values": [service_id]}])["VpcEndpointConnections"]
        return next((c.get("VpcEndpointOwner") for c in conns if c["VpcEndpointId"] == vpce_id), None)

    def accept(self, service_id: str, vpce_id: str) -> None:
        out = self.ec2.accept_vpc_endpoint_connections(ServiceId=service_id, VpcEndpointIds=[vpce_id])
        assert not out.get("Unsuccessful"), out

    def reject(self, service_id: str, vpce_id: str) -> None:
        out = self.ec2.reject_vpc_endpoint_connections(ServiceId=service_id, VpcEndpointIds=[vpce_id])
        assert not out.get("Unsuccessful"), out


class DbStack:
    """Handle on the running Databricks emulator (+ the AWS emulator for the customer side)."""

    def __init__(self, env: dict):
        self.env = env
        self.host = env["DATABRICKS_HOST"].rstrip("/")
        self.aws_endpoint = env.get("AWS_ENDPOINT_URL")
        fx = requests.get(self.host + "/_plink/fixtures", timeout=10).json()
        self.fixtures = fx
        self.account_id = fx["account_id"]
        self.client_id = fx["client_id"]
        self.client_secret = fx["client_secret"]
        self.workspaces = {w["workspace_id"]: w for w in fx["workspaces"]}

    # --- clients ---------------------------------------------------------------------------------------
    def account_client(self, **overrides):
        """AccountClient with OAuth M2M (a 20 s retry budget keeps unexpected retries short)."""
        from databricks.sdk import AccountClient
        from databricks.sdk.config import Config

        kw = dict(host=self.host, account_id=self.account_id, client_id=self.client_id,
                  client_secret=self.client_secret, retry_timeout_seconds=20)
        kw.update(overrides)
        return AccountClient(config=Config(**kw))

    def workspace_client(self, workspace_id: int, **overrides):
        from databricks.sdk import WorkspaceClient
        from databricks.sdk.config import Config

        kw = dict(host=self.workspaces[workspace_id]["host"], client_id=self.client_id,
                  client_secret=self.client_secret, retry_timeout_seconds=20)
        kw.update(overrides)
        return WorkspaceClient(config=Config(**kw))

    def customer(self, region: str = "us-east-1") -> Customer:
        if not self.aws_endpoint:
            pytest.skip("AWS emulator not available")
        return Customer(self.aws_endpoint, region)

    # --- raw HTTP ----------------------------------------------------------------------------------------
    def token(self, host: str | None = None, workspace: bool = False, **form) -> dict:
        host = host or self.host
        path = "/oidc/v1/token" if workspace else f"/oidc/accounts/{self.account_id}/v1/token"
        data = {"grant_type": "client_credentials", "scope": "all-apis", **form}
        r = requests.post(host + path, data=data, auth=(self.client_id, self.client_secret), timeout=10)
        assert r.status_code == 200, r.text
        return r.json()

    def call(self, method: str, path: str, token: str | None = None, host: str | None = None, **kw):
        token = token or self.token()["access_token"]
        headers = {"Authorization": f"Bearer {token}", **kw.pop("headers", {})}
        path = path.format(account_id=self.account_id)
        return requests.request(method, (host or self.host) + path, headers=headers, timeout=30, **kw)

    def acc(self, path: str = "") -> str:
        return ACCOUNT_PATH.format(account_id=self.account_id) + path

    # --- control -------------------------------------------------------------------------------------------
    def config(self, time_scale: float | None = None, **delays) -> dict:
        body = {"delays": delays}
        if time_scale is not None:
            body["time_scale"] = time_scale
        r = requests.post(self.host + "/_plink/config", json=body, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()

    def get_config(self) -> dict:
        return requests.get(self.host + "/_plink/config", timeout=10).json()

    def reset(self) -> None:
        r = requests.post(self.host + "/_plink/reset", timeout=30)
        assert r.status_code == 200, r.text


def _stack_env(request) -> dict:
    """The env dict of the shared stack started by tests/conftest.py; falls back to an already
    running stack named by DATABRICKS_HOST (and AWS_ENDPOINT_URL) in the environment."""
    for name in ("stack", "stack_env", "plink_stack"):
        try:
            return request.getfixturevalue(name)
        except pytest.FixtureLookupError:
            continue
    if os.environ.get("DATABRICKS_HOST"):
        return dict(os.environ)
    pytest.skip("no running plink stack (tests/conftest.py fixture or DATABRICKS_HOST)")


@pytest.fixture(scope="session")
def db(request) -> DbStack:
    return DbStack(_stack_env(request))


@pytest.fixture
def dbx(db):
    """Fresh state and fast clocks for one test; the stack's config is restored afterwards."""
    saved = db.get_config()
    saved_page = requests.get(db.host + "/_plink/databricks/config", timeout=10).json()
    db.reset()
    db.config(time_scale=FAST_TIME_SCALE)
    yield db
    requests.post(db.host + "/_plink/config",
                  json={"time_scale": saved["time_scale"], "delays": saved["delays"]}, timeout=10)
    requests.post(db.host + "/_plink/databricks/config", json=saved_page, timeout=10)
