"""The AWS IAM principal Databricks serverless uses to create VPC endpoints (databricks-api.md §8.2).

| environment | account | principal |
|---|---|---|
| commercial | 565502421330 | arn:aws:iam::565502421330:role/private-connectivity-role-<region> |
| GovCloud (Civilian) | 347038500609 | arn:aws-us-gov:iam::347038500609:role/private-connectivity-role-us-gov-west-1 |
| GovCloud (DoD) | 347034940029 | arn:aws-us-gov:iam::347034940029:role/private-connectivity-role-us-gov-west-1 |

A region cannot tell Civilian from DoD (they differ by deployment: ``accounts.cloud.databricks.us`` vs
``accounts-dod.cloud.databricks.us``); ``PLINK_STACK_DB_GOVCLOUD=dod`` selects DoD, default Civilian.
"""
import os

COMMERCIAL_ACCOUNT = "565502421330"
GOV_CIVILIAN_ACCOUNT = "347038500609"
GOV_DOD_ACCOUNT = "347034940029"


def owner_account_for(region: str) -> str:
    if region.startswith("us-gov-"):
        if os.environ.get("PLINK_STACK_DB_GOVCLOUD", "").lower() == "dod":
            return GOV_DOD_ACCOUNT
        return GOV_CIVILIAN_ACCOUNT
    return COMMERCIAL_ACCOUNT


def principal_arn_for(region: str) -> str:
    partition = "aws-us-gov" if region.startswith("us-gov-") else "aws"
    return f"arn:{partition}:iam::{owner_account_for(region)}:role/private-connectivity-role-{region}"
