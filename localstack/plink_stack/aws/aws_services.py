"""The AWS-owned endpoint services (`com.amazonaws.<region>.<service>`) without importing every moto
backend.

moto 5.2.5 builds this list by importing the backends of cloudformation, dynamodb, s3, sagemaker ...
(`VPCBackend._collect_default_endpoint_services`), which pulls in most of moto and optional packages
this stack does not install (openapi-spec-validator, cfn-lint, ...): DescribeVpcEndpointServices would
fail with ModuleNotFoundError. The same entries are built here with moto's own factory; S3 and
DynamoDB are offered as both Interface and Gateway services, as in AWS.
"""
from __future__ import annotations

from typing import Any

from moto.core.base_backend import BaseBackend
from moto.ec2.models import vpcs
from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend

GATEWAY_TOO = ("s3", "dynamodb")
EXTRA = ("s3", "dynamodb", "ecr.api", "ecr.dkr", "kinesis-streams", "kinesis-firehose",
         "sagemaker.api", "redshift-data", "iot.data", "cloudformation", "codepipeline",
         "route53resolver")


def collect(account_id: str, region: str) -> list[dict[str, Any]]:
    with vpcs.ENDPOINT_SERVICE_COLLECTION_LOCK:
        cached = vpcs.DEFAULT_VPC_ENDPOINT_SERVICES.get(region)
        if cached is not None:
            return cached
        zones = [zone.name for zones in RegionsAndZonesBackend.zones.values() for zone in zones
                 if zone.name.startswith(region)]
        names = sorted(set(vpcs.AWS_ENDPOINT_SERVICES) | set(EXTRA))
        services: list[dict[str, Any]] = []
        for name in names:
            services += BaseBackend.default_vpc_endpoint_service_factory(region, zones, name)
            if name in GATEWAY_TOO:
                services += BaseBackend.default_vpc_endpoint_service_factory(
                    region, zones, name, "Gateway", private_dns_names=False)
        vpcs.DEFAULT_VPC_ENDPOINT_SERVICES[region] = services
        return services


def is_aws_service(region: str, service_name: str) -> bool:
    return any(s["ServiceName"] == service_name for s in collect("", region))


def install() -> None:
    vpcs.VPCBackend._collect_default_endpoint_services = staticmethod(collect)
