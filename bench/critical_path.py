"""The critical path of an `s3-privatelink` deployment: the least time any tool can take against the
stack, from its delay model and the measured round trip.

The waits that must follow one another: the NLB (or the S3 endpoint, whichever is longer) before
the endpoint service, the service before the rule, the rule's endpoint before the acceptance, the
acceptance before ESTABLISHED, ESTABLISHED before the workspace binding (issue 13). Each delay is
the stack's real-world seconds times its time scale.
"""
from __future__ import annotations

# The requests that cannot start before the answer of the previous one: each costs a round trip on
# top of the waits. The token request and the NCC are left out: they can be made while the NLB
# provisions.
DEPENDENT_CALLS = (
    "DescribeVpcs (the VPC by tag)",
    "DescribeSubnets (the subnets of that VPC)",
    "CreateLoadBalancer",
    "DescribeLoadBalancers (active)",
    "CreateVpcEndpointServiceConfiguration",
    "ModifyVpcEndpointServicePermissions (the Databricks principal)",
    "POST private-endpoint-rules",
    "GET private-endpoint-rule (PENDING, vpc_endpoint_id)",
    "AcceptVpcEndpointConnections",
    "GET private-endpoint-rule (ESTABLISHED)",
    "PATCH workspace (network_connectivity_config_id)",
    "GET workspace (RUNNING)",
)


def compute(config: dict, round_trip_s: float) -> dict:
    """The critical path in seconds, with each term, from `GET /_plink/config` and a round trip."""
    scale, d = config["time_scale"], config["delays"]
    waits = {
        "max(nlb_provisioning, endpoint_pending)": max(d["nlb_provisioning"], d["endpoint_pending"]),
        "service_pending": d["service_pending"],
        "rule_creating": d["rule_creating"],
        "connection_accept": d["connection_accept"],
        "rule_establish": d["rule_establish"],
        "workspace_update": d["workspace_update"],
    }
    scaled = {name: seconds * scale for name, seconds in waits.items()}
    calls = len(DEPENDENT_CALLS) * round_trip_s
    return {
        "seconds": sum(scaled.values()) + calls,
        "waits_real_s": waits,
        "waits_scaled_s": scaled,
        "dependent_calls": list(DEPENDENT_CALLS),
        "round_trip_s": round_trip_s,
        "round_trips_s": calls,
    }
