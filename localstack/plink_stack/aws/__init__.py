"""AWS half of the plink local stack: moto, run in-process and patched where it differs from AWS for
the PrivateLink workflow (each module closes one gap of shared/reference/local-emulators.md).

The patches rely on moto internals and are written against exactly moto 5.2.5.
"""
from __future__ import annotations

import os

MOTO_VERSION = "5.2.5"

_installed = False


def check_moto_version() -> None:
    import moto

    if moto.__version__ != MOTO_VERSION:
        raise RuntimeError(
            f"plink_stack.aws patches moto {MOTO_VERSION} but moto {moto.__version__} is installed; "
            "reinstall the pinned requirements (delete localstack/.venv and run localstack/up)")


def install() -> None:
    """Apply every patch once (idempotent)."""
    global _installed
    if _installed:
        return
    check_moto_version()
    # plink launches no instances: skip moto's ~1300 default AMIs per region (0.1 s per EC2 backend,
    # i.e. per account and region, on every reset).
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    from . import (aws_services, dependencies, dry_run, endpoint_connections, endpoint_enis,
                   endpoint_lifecycle, endpoint_services, idempotency, nlb, rds, s3,
                   service_visibility, target_groups)

    for module in (aws_services, service_visibility, endpoint_services, endpoint_connections,
                   endpoint_enis, endpoint_lifecycle, idempotency, nlb, target_groups, dependencies, s3,
                   rds, dry_run):
        module.install()
    _installed = True
