"""AWS-shaped identifiers (17 hex digits, as AWS uses for vpce-, vpce-svc-, eni- ...).

moto 5.2.5 names endpoint services `vpce-svc-` + 8 hex digits; AWS uses 17, and clients (plink) may
validate ids with a pattern. moto's own random source is used so `/moto-api/seed` still makes ids
reproducible.
"""
from moto.ec2.utils import random_resource_id


def hex17() -> str:
    return random_resource_id(17)


def service_id() -> str:
    return f"vpce-svc-{hex17()}"


def connection_id() -> str:
    return f"vpce-con-{hex17()}"


def lb_id() -> str:
    return random_resource_id(16)
