/*!
AWS regions and partitions.

Only the partitions Databricks serverless private connectivity exists in are accepted: `aws`
(commercial) and `aws-us-gov` (GovCloud). China (`cn-*`) and the isolated partitions
(`us-iso-*`, ...) are rejected with a clear message rather than failing later in the cloud.
*/

use std::fmt;

use serde::Serialize;

use super::error::InvalidValue;

/// Region prefixes of the commercial `aws` partition.
const COMMERCIAL_PREFIXES: &[&str] = &["af", "ap", "ca", "eu", "il", "me", "mx", "sa", "us"];

/// An AWS region name (`us-east-1`, `us-gov-west-1`) of a supported partition.
///
/// Validated on construction: lowercase letters, digits and `-` only, so a region can never
/// smuggle a wildcard or an ARN separator into the names derived from it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Region(String);

/// An AWS partition Databricks serverless private connectivity is available in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Partition {
    /// Commercial AWS (`arn:aws:…`).
    #[serde(rename = "aws")]
    Aws,
    /// AWS GovCloud (US) (`arn:aws-us-gov:…`).
    #[serde(rename = "aws-us-gov")]
    AwsUsGov,
}

impl Partition {
    /// The partition as it appears in ARNs: `aws` or `aws-us-gov`.
    pub fn as_str(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::AwsUsGov => "aws-us-gov",
        }
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Region {
    /// Validates a region name.
    ///
    /// # Errors
    /// [`InvalidValue`] if the name is not `<prefix>-<direction>-<number>` (or
    /// `us-gov-<direction>-<number>`), or belongs to a partition plink does not support.
    pub fn new(name: &str) -> Result<Region, InvalidValue> {
        let parts: Vec<&str> = name.split('-').collect();
        let syntax_ok = match parts.as_slice() {
            [prefix, direction, number] | [prefix, _, direction, number] => {
                is_lower_alpha(prefix, 2..=2)
                    && is_lower_alpha(direction, 4..=12)
                    && (parts.len() == 3 || is_lower_alpha(parts[1], 3..=4))
                    && !number.is_empty()
                    && number.len() <= 2
                    && number.bytes().all(|b| b.is_ascii_digit())
                    && !number.starts_with('0')
            }
            _ => false,
        };
        if !syntax_ok {
            return Err(InvalidValue::expected(
                "an AWS region like \"us-east-1\"",
                name,
            ));
        }
        match parts.as_slice() {
            ["cn", ..] => Err(InvalidValue(format!(
                "AWS China regions are not supported (Databricks serverless private connectivity \
                 exists in the aws and aws-us-gov partitions only), found {name:?}"
            ))),
            [_, middle, _, _] if middle.starts_with("iso") => Err(InvalidValue(format!(
                "AWS isolated regions are not supported (Databricks serverless private \
                 connectivity exists in the aws and aws-us-gov partitions only), found {name:?}"
            ))),
            ["us", "gov", _, _] => Ok(Region(name.to_owned())),
            [prefix, _, _] if COMMERCIAL_PREFIXES.contains(prefix) => Ok(Region(name.to_owned())),
            _ => Err(InvalidValue(format!(
                "expected a region of the aws partition ({}-…) or of aws-us-gov (us-gov-…), \
                 found {name:?}",
                COMMERCIAL_PREFIXES.join("-…, ")
            ))),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn partition(&self) -> Partition {
        if self.0.starts_with("us-gov-") {
            Partition::AwsUsGov
        } else {
            Partition::Aws
        }
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which Databricks GovCloud deployment the account lives in; each uses a different AWS
/// principal (see [`databricks_principal`](super::databricks_principal)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GovShard {
    /// Databricks on AWS GovCloud for civilian agencies.
    Civilian,
    /// Databricks on AWS GovCloud for the Department of Defense.
    Dod,
}

impl GovShard {
    /// Parses `"civilian"` or `"dod"`.
    ///
    /// # Errors
    /// [`InvalidValue`] for anything else.
    pub fn new(name: &str) -> Result<GovShard, InvalidValue> {
        match name {
            "civilian" => Ok(GovShard::Civilian),
            "dod" => Ok(GovShard::Dod),
            _ => Err(InvalidValue::expected("\"civilian\" or \"dod\"", name)),
        }
    }
}

fn is_lower_alpha(s: &str, len: std::ops::RangeInclusive<usize>) -> bool {
    len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_commercial_and_gov_regions() {
        for name in [
            "us-east-1",
            "eu-central-2",
            "ap-southeast-7",
            "mx-central-1",
            "il-central-1",
        ] {
            assert_eq!(
                Region::new(name).unwrap().partition(),
                Partition::Aws,
                "{name}"
            );
        }
        for name in ["us-gov-west-1", "us-gov-east-1"] {
            assert_eq!(Region::new(name).unwrap().partition(), Partition::AwsUsGov);
        }
    }

    #[test]
    fn rejects_bad_syntax_and_unsupported_partitions() {
        for name in [
            "",
            "*",
            "us-east-*",
            "useast1",
            "US-EAST-1",
            "us-east-01",
            "us-east",
            "us-east-1a",
            "us_east_1",
            "us-east-1 ",
        ] {
            let error = Region::new(name).unwrap_err().to_string();
            assert!(
                error.starts_with("expected an AWS region like"),
                "{name}: {error}"
            );
        }
        for (name, reason) in [
            ("cn-north-1", "China"),
            ("us-iso-east-1", "isolated"),
            ("xx-east-1", "aws partition"),
        ] {
            assert!(Region::new(name).unwrap_err().0.contains(reason), "{name}");
        }
    }
}
