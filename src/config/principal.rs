/*!
The AWS IAM principal Databricks serverless compute uses to open the interface endpoint to the
customer's endpoint service; plink puts exactly this ARN into the service's *allowed principals*.

Source: Databricks "Configure private connectivity to resources in your VPC", step 2, as quoted by
the Databricks-maintained security reference architecture
(`terraform-databricks-sra: aws/customizations/serverless_privatelink`); see
`shared/reference/databricks-api.md` §8.2.

The documentation also allows the allow-all principal `*`. plink never produces it: an endpoint
service with acceptance required still leaks its existence to every AWS account, and a scoped
principal costs nothing.
*/

use super::region::{GovShard, Partition, Region};

/// The AWS account Databricks serverless compute runs in, commercial partition.
pub const COMMERCIAL_ACCOUNT: &str = "565502421330";
/// The Databricks AWS account for GovCloud, civilian shard.
pub const GOV_CIVILIAN_ACCOUNT: &str = "347038500609";
/// The Databricks AWS account for GovCloud, DoD shard.
pub const GOV_DOD_ACCOUNT: &str = "347034940029";
/// The only GovCloud region Databricks documents a serverless private connectivity role for.
pub const GOV_REGION: &str = "us-gov-west-1";

/// Why no principal can be derived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrincipalError {
    /// A GovCloud region needs to know which Databricks GovCloud shard the account is in.
    #[error(
        "required for GovCloud region {region}: set gov_shard = \"civilian\" or \"dod\" \
         (the Databricks GovCloud deployment of your account)"
    )]
    GovShardRequired { region: Region },
    /// A commercial region with a GovCloud shard set: almost certainly a copy-paste mistake.
    #[error("only valid for GovCloud (us-gov-*) regions, but the region is {region}")]
    GovShardNotApplicable { region: Region },
    /// A GovCloud region other than us-gov-west-1.
    #[error(
        "Databricks serverless private connectivity in GovCloud is documented for {GOV_REGION} \
         only, found {region}"
    )]
    UnsupportedGovRegion { region: Region },
}

/// The Databricks principal ARN for endpoint connections in `region`.
///
/// - commercial: `arn:aws:iam::565502421330:role/private-connectivity-role-<region>`
/// - GovCloud civilian: `arn:aws-us-gov:iam::347038500609:role/private-connectivity-role-us-gov-west-1`
/// - GovCloud DoD: `arn:aws-us-gov:iam::347034940029:role/private-connectivity-role-us-gov-west-1`
///
/// Never `*`: the ARN is built from constants and a validated [`Region`].
///
/// # Errors
/// [`PrincipalError`] if `gov_shard` is missing for a GovCloud region, present for a commercial
/// one, or the GovCloud region is not us-gov-west-1.
pub fn databricks_principal(
    region: &Region,
    gov_shard: Option<GovShard>,
) -> Result<String, PrincipalError> {
    let region_name = region.as_str();
    match (region.partition(), gov_shard) {
        (Partition::Aws, None) => Ok(format!(
            "arn:aws:iam::{COMMERCIAL_ACCOUNT}:role/private-connectivity-role-{region_name}"
        )),
        (Partition::Aws, Some(_)) => Err(PrincipalError::GovShardNotApplicable {
            region: region.clone(),
        }),
        (Partition::AwsUsGov, None) => Err(PrincipalError::GovShardRequired {
            region: region.clone(),
        }),
        (Partition::AwsUsGov, Some(_)) if region_name != GOV_REGION => {
            Err(PrincipalError::UnsupportedGovRegion {
                region: region.clone(),
            })
        }
        (Partition::AwsUsGov, Some(shard)) => {
            let account = match shard {
                GovShard::Civilian => GOV_CIVILIAN_ACCOUNT,
                GovShard::Dod => GOV_DOD_ACCOUNT,
            };
            Ok(format!(
                "arn:aws-us-gov:iam::{account}:role/private-connectivity-role-{GOV_REGION}"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(name: &str) -> Region {
        Region::new(name).unwrap()
    }

    #[test]
    fn commercial_principal_names_the_region() {
        assert_eq!(
            databricks_principal(&region("eu-west-1"), None).unwrap(),
            "arn:aws:iam::565502421330:role/private-connectivity-role-eu-west-1"
        );
    }

    #[test]
    fn gov_shards_have_their_own_accounts() {
        let west = region("us-gov-west-1");
        assert_eq!(
            databricks_principal(&west, Some(GovShard::Civilian)).unwrap(),
            "arn:aws-us-gov:iam::347038500609:role/private-connectivity-role-us-gov-west-1"
        );
        assert_eq!(
            databricks_principal(&west, Some(GovShard::Dod)).unwrap(),
            "arn:aws-us-gov:iam::347034940029:role/private-connectivity-role-us-gov-west-1"
        );
        assert!(matches!(
            databricks_principal(&region("us-gov-east-1"), Some(GovShard::Dod)),
            Err(PrincipalError::UnsupportedGovRegion { .. })
        ));
        assert!(matches!(
            databricks_principal(&west, None),
            Err(PrincipalError::GovShardRequired { .. })
        ));
        assert!(matches!(
            databricks_principal(&region("us-east-1"), Some(GovShard::Civilian)),
            Err(PrincipalError::GovShardNotApplicable { .. })
        ));
    }
}
