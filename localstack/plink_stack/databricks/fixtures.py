"""Seed data of the Databricks emulator (module-level constants, readable without starting anything).

The launcher's ``up`` script and tests may import these directly. The emulator re-seeds from them on
every ``reset()``. Reference: databricks-api.md §4.2 (Workspace fields), §5.1 (``default-policy``),
§8.2 (Databricks' AWS account / principal).

The client secret is a fixed secret of this *local emulator only*; it grants nothing anywhere else.
"""

ACCOUNT_ID = "7f3c1a52-9d4e-4b8a-a6f1-2c5e8d9b0a11"

# The one OAuth M2M service principal (account admin, assigned to every seeded workspace).
CLIENT_ID = "plink-demo-sp"
CLIENT_SECRET = "plink-local-emulator-secret-not-for-production"
SERVICE_PRINCIPAL_ID = 4242424242424242  # numeric principal id, shows up as created_by/updated_by

# Fixed creation time of the seeded objects: 2026-01-01T00:00:00Z in epoch ms.
SEED_TIME_MS = 1767225600000

WORKSPACES = (
    {
        "workspace_id": 1111111111111111,
        "workspace_name": "plink-demo-us-east-1",
        "deployment_name": "dbc-plink-demo-use1",
        "aws_region": "us-east-1",
    },
    {
        "workspace_id": 2222222222222222,
        "workspace_name": "plink-demo-analytics",
        "deployment_name": "dbc-plink-demo-analytics",
        "aws_region": "us-east-1",
    },
    {
        "workspace_id": 3333333333333333,
        "workspace_name": "plink-demo-us-west-2",
        "deployment_name": "dbc-plink-demo-usw2",
        "aws_region": "us-west-2",
    },
)

DEFAULT_NETWORK_POLICY_ID = "default-policy"

# Fake "stable IP" CIDRs serverless egress originates from (egress_config.default_rules.aws_stable_ip_rule,
# §2.1). Documentation ranges (RFC 5737) so they can never be mistaken for real Databricks addresses.
STABLE_IP_CIDRS = ("192.0.2.0/28", "198.51.100.0/28", "203.0.113.0/28")

# Databricks' AWS account that owns the serverless VPC endpoints (§8.2, CONTRACT.md).
DATABRICKS_AWS_ACCOUNT = "565502421330"

# One serverless SQL warehouse per workspace (statements.py), always RUNNING: {workspace_id: warehouse}.
WAREHOUSE_NAME = "plink-demo-warehouse"
WAREHOUSES = {
    1111111111111111: {"id": "a1b2c3d4e5f61111", "name": WAREHOUSE_NAME},
    2222222222222222: {"id": "a1b2c3d4e5f62222", "name": WAREHOUSE_NAME},
    3333333333333333: {"id": "a1b2c3d4e5f63333", "name": WAREHOUSE_NAME},
}
