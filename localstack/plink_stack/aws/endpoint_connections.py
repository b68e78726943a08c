"""DescribeVpcEndpointConnections / AcceptVpcEndpointConnections / RejectVpcEndpointConnections
(local-emulators.md gap 1: moto 5.2.5 does not implement them and answers HTTP 500 with an HTML page).

A connection is the provider-side view of a consumer's interface endpoint to one of the provider's
endpoint services. It lives on the service configuration (`endpoint_services.connections`) and reads
the state of the consumer endpoint object itself, so both sides always agree:

    pendingAcceptance --accept--> pending --(connection_accept delay)--> available
    pendingAcceptance/pending/available --reject--> rejected
    any --consumer deletes--> deleting --(endpoint_deleting delay)--> deleted

Responses are serialized by moto from the botocore model, so boto3 and aws-sdk-ec2 parse them.
Per-id problems go to `Unsuccessful` as AWS does: `InvalidVpcEndpointId.NotFound` for an id that is
not connected to the service, `InvalidVpcEndpointState` for one that is not in a state the call can
change. An unknown ServiceId is a request error (`InvalidVpcEndpointServiceId.NotFound`).
"""
from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.exceptions import InvalidFilter, UnknownVpcEndpointService
from moto.ec2.responses.vpc_service_configuration import VPCEndpointServiceConfiguration
from moto.ec2.utils import generic_filter

from . import ids, scheduler
from .endpoint_services import connections

FILTERS = {
    "service-id": "service_id",
    "vpc-endpoint-id": "vpc_endpoint_id",
    "vpc-endpoint-owner": "vpc_endpoint_owner",
    "vpc-endpoint-state": "vpc_endpoint_state",
    "vpc-endpoint-region": "vpc_endpoint_region",
    "ip-address-type": "ip_address_type",
}


class Connection:
    """One endpoint connection (botocore shape `VpcEndpointConnection`)."""

    def __init__(self, service: Any, endpoint: Any, owner: str, region: str):
        self.service = service
        self.endpoint = endpoint
        self.vpc_endpoint_owner = owner
        self.vpc_endpoint_region = region
        self.vpc_endpoint_connection_id = ids.connection_id()
        self.creation_timestamp = endpoint.creation_timestamp
        self.ip_address_type = "ipv4"

    @property
    def service_id(self) -> str:
        return self.service.id

    @property
    def vpc_endpoint_id(self) -> str:
        return self.endpoint.id

    @property
    def vpc_endpoint_state(self) -> str:
        return self.endpoint.state

    @property
    def dns_entries(self) -> list:
        return self.endpoint.dns_entries

    @property
    def network_load_balancer_arns(self) -> list[str] | None:
        return list(self.service.network_load_balancer_arns) or None

    @property
    def gateway_load_balancer_arns(self) -> list[str] | None:
        return list(self.service.gateway_load_balancer_arns) or None

    def get_filter_value(self, filter_name: str, method_name: str | None = None) -> Any:
        if filter_name not in FILTERS:
            raise InvalidFilter(filter_name)
        return getattr(self, FILTERS[filter_name])


def register(service: Any, endpoint: Any, owner: str, region: str) -> Connection:
    conn = Connection(service, endpoint, owner, region)
    connections(service)[endpoint.id] = conn
    return conn


def accept(conn: Connection) -> None:
    endpoint = conn.endpoint
    endpoint.state = "pending"

    def become_available() -> None:
        if endpoint.state == "pending":
            endpoint.state = "available"

    scheduler.after("connection_accept", become_available)


def reject(conn: Connection) -> None:
    conn.endpoint.state = "rejected"


ACCEPTABLE = ("pendingAcceptance",)
REJECTABLE = ("pendingAcceptance", "pending", "available")


def service_of(response: Any) -> Any:
    """The caller's service configuration named by the request's ServiceId; an unknown id is
    `InvalidVpcEndpointServiceId.NotFound` (also for a dry run, `dry_run.py`)."""
    service_id = response._get_param("ServiceId")
    config = response.ec2_backend.configurations.get(service_id)
    if config is None:
        raise UnknownVpcEndpointService(service_id)
    return config


def _act(response: Any, allowed_states: tuple[str, ...], action: Any, verb: str) -> ActionResult:
    config = service_of(response)
    unsuccessful = []
    for vpce_id in response._get_param("VpcEndpointIds", []):
        conn = connections(config).get(vpce_id)
        if conn is None:
            unsuccessful.append(_failure(vpce_id, "InvalidVpcEndpointId.NotFound",
                                         f"The Vpc Endpoint Id '{vpce_id}' does not exist"))
        elif conn.vpc_endpoint_state not in allowed_states:
            unsuccessful.append(_failure(
                vpce_id, "InvalidVpcEndpointState",
                f"Vpc Endpoint {vpce_id} cannot be {verb} because it is in state "
                f"'{conn.vpc_endpoint_state}'"))
        else:
            action(conn)
    return ActionResult({"Unsuccessful": unsuccessful})


def _failure(resource_id: str, code: str, message: str) -> dict:
    return {"ResourceId": resource_id, "Error": {"Code": code, "Message": message}}


def describe_vpc_endpoint_connections(self: Any) -> ActionResult:
    backend = self.ec2_backend
    found = [conn for config in backend.configurations.values() for conn in connections(config).values()]
    found = generic_filter(self._filters_from_querystring(), found)
    found.sort(key=lambda c: (c.creation_timestamp, c.vpc_endpoint_id))
    max_results = self._get_int_param("MaxResults") or 1000
    start = int(self._get_param("NextToken") or 0)
    page = found[start:start + max_results]
    next_token = str(start + max_results) if start + max_results < len(found) else None
    return ActionResult({"VpcEndpointConnections": page, "NextToken": next_token})


def accept_vpc_endpoint_connections(self: Any) -> ActionResult:
    return _act(self, ACCEPTABLE, accept, "accepted")


def reject_vpc_endpoint_connections(self: Any) -> ActionResult:
    return _act(self, REJECTABLE, reject, "rejected")


def install() -> None:
    cls = VPCEndpointServiceConfiguration
    cls.describe_vpc_endpoint_connections = describe_vpc_endpoint_connections
    cls.accept_vpc_endpoint_connections = accept_vpc_endpoint_connections
    cls.reject_vpc_endpoint_connections = reject_vpc_endpoint_connections
