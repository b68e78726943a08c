"""The procedure of seed 001 as a user would script it: one step after the other, with the official
clients (boto3, databricks-sdk), each wait a plain loop that looks, then sleeps 10 s.

    localstack/.venv/bin/python bench/sequential.py [--scale S]

`make bench` runs it as the yardstick of a fresh `plink up` (BENCHMARKS.md). It reads the same
inputs as workflows/s3-privatelink.toml (VPC and subnets by tag, the endpoint policy file, the
workspace, us-east-1) and the clients' usual environment (AWS_ENDPOINT_URL and AWS_* credentials;
DATABRICKS_HOST, DATABRICKS_ACCOUNT_ID, DATABRICKS_CLIENT_ID, DATABRICKS_CLIENT_SECRET), as
`localstack/up` exports them. The local stack runs on scaled time, so every poll interval and
timeout is multiplied by --scale (the stack's time scale). Clients keep their default settings,
retries included: this is what a user runs. Progress goes to stderr; the result, one JSON object,
to stdout. Exit 1 when a step fails or a wait times out.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

import boto3
from databricks.sdk import AccountClient
from databricks.sdk.service import provisioning as pv
from databricks.sdk.service import settings as st

REPO = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
VPC_TAGS = {"Name": "plink-demo-vpc"}
SUBNET_TAGS = {"plink-demo": "private"}
WORKSPACE_ID = 1111111111111111
POLICY_FILE = REPO / "workflows" / "s3-endpoint-policy.json"
# Databricks serverless compute opens the endpoint as this role (src/config/principal.rs).
DATABRICKS_PRINCIPAL = f"arn:aws:iam::565502421330:role/private-connectivity-role-{REGION}"

POLL_SECONDS = 10.0      # real-world seconds between two looks
TIMEOUT_SECONDS = 1800.0  # real-world seconds a wait may take before the script gives up

Rule = st.NccPrivateEndpointRulePrivateLinkConnectionState
RULE_FAILED = {Rule.CREATE_FAILED, Rule.REJECTED, Rule.EXPIRED, Rule.DISCONNECTED}


class Script:
    def __init__(self, scale: float, prefix: str):
        self.scale = scale
        self.prefix = prefix
        self.started = time.monotonic()
        self.ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=os.environ["AWS_ENDPOINT_URL"])
        self.elbv2 = boto3.client("elbv2", region_name=REGION, endpoint_url=os.environ["AWS_ENDPOINT_URL"])
        # OAuth M2M from DATABRICKS_HOST / _ACCOUNT_ID / _CLIENT_ID / _CLIENT_SECRET.
        self.account = AccountClient()

    def say(self, what: str) -> None:
        print(f"[{time.monotonic() - self.started:7.2f} s] {what}", file=sys.stderr, flush=True)

    def wait(self, what: str, read: Callable[[], Any], done: Callable[[Any], bool]) -> Any:
        """Look, and sleep 10 s (scaled) between looks, until `done`: a user's `while` loop."""
        deadline = time.monotonic() + TIMEOUT_SECONDS * self.scale
        while True:
            value = read()
            if done(value):
                self.say(f"{what}: done")
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what}: gave up after {TIMEOUT_SECONDS * self.scale:.0f} s")
            time.sleep(POLL_SECONDS * self.scale)

    def run(self) -> dict:
        # The inputs of the workflow file: VPC and subnets by tag.
        vpc = self.ec2.describe_vpcs(Filters=tag_filters(VPC_TAGS))["Vpcs"][0]["VpcId"]
        subnets = self.ec2.describe_subnets(
            Filters=[{"Name": "vpc-id", "Values": [vpc]}, *tag_filters(SUBNET_TAGS)])["Subnets"]
        subnet_ids = [s["SubnetId"] for s in subnets]

        # Step 1: the S3 interface endpoint, with a security group letting HTTPS in from the subnets.
        sg = self.ec2.create_security_group(GroupName=f"{self.prefix}-endpoint", VpcId=vpc,
                                            Description="HTTPS from the NLB subnets")["GroupId"]
        self.ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
            "IpRanges": [{"CidrIp": s["CidrBlock"]} for s in subnets]}])
        endpoint = self.ec2.create_vpc_endpoint(
            VpcEndpointType="Interface", VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.s3",
            SubnetIds=subnet_ids, SecurityGroupIds=[sg],
            PolicyDocument=POLICY_FILE.read_text())["VpcEndpoint"]
        endpoint_id = endpoint["VpcEndpointId"]
        self.say(f"endpoint {endpoint_id} created")
        endpoint = self.wait("endpoint available", lambda: self.ec2.describe_vpc_endpoints(
            VpcEndpointIds=[endpoint_id])["VpcEndpoints"][0], lambda e: e["State"] == "available")

        # Step 2: the internal NLB, a TCP:443 target group with the endpoint's ENI IPs, a listener.
        # (The seed finds the ENIs by a description containing "s3"; AWS describes them as
        # "VPC Endpoint Interface vpce-…", so this asks for the endpoint's own ENIs.)
        lb_arn = self.elbv2.create_load_balancer(
            Name=f"{self.prefix}-nlb", Type="network", Scheme="internal",
            Subnets=subnet_ids)["LoadBalancers"][0]["LoadBalancerArn"]
        self.say("load balancer created")
        self.wait("load balancer active", lambda: self.elbv2.describe_load_balancers(
            LoadBalancerArns=[lb_arn])["LoadBalancers"][0]["State"]["Code"], lambda s: s == "active")
        tg_arn = self.elbv2.create_target_group(
            Name=f"{self.prefix}-tg", Protocol="TCP", Port=443, VpcId=vpc,
            TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
        enis = self.ec2.describe_network_interfaces(
            NetworkInterfaceIds=endpoint["NetworkInterfaceIds"])["NetworkInterfaces"]
        self.elbv2.register_targets(TargetGroupArn=tg_arn, Targets=[
            {"Id": eni["PrivateIpAddress"], "Port": 443} for eni in enis])
        self.elbv2.create_listener(LoadBalancerArn=lb_arn, Protocol="TCP", Port=443, DefaultActions=[
            {"Type": "forward", "TargetGroupArn": tg_arn}])
        self.say(f"target group with {len(enis)} IPs, listener")

        # Step 3: the endpoint service, acceptance required, only Databricks' principal allowed.
        service = self.ec2.create_vpc_endpoint_service_configuration(
            NetworkLoadBalancerArns=[lb_arn], AcceptanceRequired=True)["ServiceConfiguration"]
        self.ec2.modify_vpc_endpoint_service_permissions(
            ServiceId=service["ServiceId"], AddAllowedPrincipals=[DATABRICKS_PRINCIPAL])
        self.say(f"endpoint service {service['ServiceName']}")

        # Step 4: the NCC and its private endpoint rule; the rule's domain name is the endpoint's
        # regional DNS name (the shortest of its DNS entries), as plink's default.
        ncc = self.account.network_connectivity.create_network_connectivity_configuration(
            st.CreateNetworkConnectivityConfiguration(name=f"{self.prefix}-ncc", region=REGION))
        ncc_id = ncc.network_connectivity_config_id
        domain = min((d["DnsName"] for d in endpoint["DnsEntries"]), key=len)
        rule = self.account.network_connectivity.create_private_endpoint_rule(
            ncc_id, st.CreatePrivateEndpointRule(endpoint_service=service["ServiceName"],
                                                 domain_names=[domain]))
        self.say(f"NCC {ncc_id}, rule {rule.rule_id} for {domain}")
        rule = self.wait("rule PENDING with its endpoint", lambda: self.rule(ncc_id, rule.rule_id),
                         lambda r: r.connection_state == Rule.PENDING and bool(r.vpc_endpoint_id))

        # Step 5: accept Databricks' connection.
        accepted = self.ec2.accept_vpc_endpoint_connections(
            ServiceId=service["ServiceId"], VpcEndpointIds=[rule.vpc_endpoint_id])
        if accepted.get("Unsuccessful"):
            raise RuntimeError(f"accepting {rule.vpc_endpoint_id}: {accepted['Unsuccessful']}")
        self.say(f"connection {rule.vpc_endpoint_id} accepted")

        # Step 6: the rule ESTABLISHED.
        rule = self.wait("rule ESTABLISHED", lambda: self.rule(ncc_id, rule.rule_id),
                         lambda r: r.connection_state == Rule.ESTABLISHED)

        # Step 7: bind the NCC to the workspace and wait until it runs again.
        self.account.workspaces.update(WORKSPACE_ID, pv.Workspace(network_connectivity_config_id=ncc_id),
                                       update_mask="network_connectivity_config_id")
        workspace = self.wait("workspace RUNNING", lambda: self.account.workspaces.get(WORKSPACE_ID),
                              lambda w: w.workspace_status == pv.WorkspaceStatus.RUNNING)
        if workspace.network_connectivity_config_id != ncc_id:
            raise RuntimeError(f"workspace {WORKSPACE_ID} is bound to "
                               f"{workspace.network_connectivity_config_id}, not {ncc_id}")
        return {"vpc_endpoint_id": endpoint_id, "service_name": service["ServiceName"],
                "ncc_id": ncc_id, "rule_id": rule.rule_id, "connection_state": rule.connection_state.value,
                "workspace_id": WORKSPACE_ID, "workspace_ncc": workspace.network_connectivity_config_id}

    def rule(self, ncc_id: str, rule_id: str) -> st.NccPrivateEndpointRule:
        rule = self.account.network_connectivity.get_private_endpoint_rule(ncc_id, rule_id)
        if rule.connection_state in RULE_FAILED:
            raise RuntimeError(f"rule {rule_id} is {rule.connection_state.value}: {rule.error_message}")
        return rule


def tag_filters(tags: dict[str, str]) -> list[dict]:
    return [{"Name": f"tag:{k}", "Values": [v]} for k, v in tags.items()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="the stack's time scale: poll intervals and timeouts are multiplied by it")
    parser.add_argument("--prefix", default="bench-seq", help="prefix of every name the script creates")
    args = parser.parse_args()
    try:
        result = Script(args.scale, args.prefix).run()
    except Exception as exc:  # one line for the caller, not a traceback
        print(f"sequential script failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
