/*!
Names users choose: the deployment name, the NCC name, the load balancer / target group names
(given or derived from the deployment name), and S3 bucket names (`s3.buckets`, the state bucket).
*/

use std::fmt;

use serde::Serialize;

use super::error::InvalidValue;

/// The longest deployment name: `plink-<name>-tg` must fit the 32-character ELB limit.
pub const DEPLOYMENT_NAME_MAX: usize = 23;
/// AWS limit for load balancer and target group names.
pub const ELB_NAME_MAX: usize = 32;

/// The deployment name: `^[a-z][a-z0-9-]{1,22}$`.
///
/// It names the state directory and appears in AWS names (≤32 characters: `plink-<name>-tg`) and
/// in the `plink:deployment` tag, so it is deliberately narrower than any of those.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct DeploymentName(String);

impl DeploymentName {
    /// Validates a deployment name.
    ///
    /// # Errors
    /// [`InvalidValue`] unless the name is a lowercase letter followed by 1–22 lowercase letters,
    /// digits or `-`.
    pub fn new(name: &str) -> Result<DeploymentName, InvalidValue> {
        let mut chars = name.chars();
        let ok = chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && (2..=DEPLOYMENT_NAME_MAX).contains(&name.len())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if ok {
            Ok(DeploymentName(name.to_owned()))
        } else {
            Err(InvalidValue::expected(
                "a deployment name of 2-23 characters: a lowercase letter, then lowercase \
                 letters, digits or '-' (^[a-z][a-z0-9-]{1,22}$)",
                name,
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The default load balancer name, `plink-<deployment>`.
    pub fn default_nlb_name(&self) -> String {
        format!("plink-{}", self.0)
    }

    /// The default target group name, `plink-<deployment>-tg`.
    pub fn default_target_group_name(&self) -> String {
        format!("plink-{}-tg", self.0)
    }
}

impl fmt::Display for DeploymentName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Databricks network connectivity configuration name: `^[0-9a-zA-Z-_]{3,30}$`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct NccName(String);

impl NccName {
    /// Validates an NCC name (Databricks API: 3–30 letters, digits, `-` or `_`).
    ///
    /// # Errors
    /// [`InvalidValue`] for any other name.
    pub fn new(name: &str) -> Result<NccName, InvalidValue> {
        let ok = (3..=30).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if ok {
            Ok(NccName(name.to_owned()))
        } else {
            Err(InvalidValue::expected(
                "an NCC name of 3-30 letters, digits, '-' or '_' (^[0-9a-zA-Z-_]{3,30}$)",
                name,
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NccName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What kind of ELBv2 resource a name is for (the rules differ slightly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ElbNameKind {
    LoadBalancer,
    TargetGroup,
}

/// Checks a load balancer or target group name against the AWS rules: 1–32 letters, digits or
/// `-`, not starting or ending with `-`; load balancer names must not start with `internal-`.
///
/// # Errors
/// A message saying which rule the name breaks.
pub(crate) fn check_elb_name(name: &str, kind: ElbNameKind) -> Result<(), String> {
    let what = match kind {
        ElbNameKind::LoadBalancer => "load balancer",
        ElbNameKind::TargetGroup => "target group",
    };
    let problem = if name.is_empty() || name.len() > ELB_NAME_MAX {
        Some(format!(
            "1-{ELB_NAME_MAX} characters, found {}",
            name.chars().count()
        ))
    } else if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        Some("only letters, digits and '-'".to_owned())
    } else if name.starts_with('-') || name.ends_with('-') {
        Some("must not start or end with '-'".to_owned())
    } else if kind == ElbNameKind::LoadBalancer && name.starts_with("internal-") {
        Some("must not start with \"internal-\"".to_owned())
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(format!("{name:?} is not a valid {what} name ({problem})")),
    }
}

/// S3's bucket naming rules (general purpose buckets): 3–63 characters of lowercase letters,
/// digits, dots and hyphens, starting and ending with a letter or digit, no `..`, not an IPv4
/// address, none of the reserved prefixes and suffixes.
pub(crate) fn check_bucket_name(name: &str) -> Result<(), String> {
    let expected = |why: &str| {
        Err(format!(
            "expected an S3 bucket name like \"my-data-bucket\" ({why}), found {name:?}"
        ))
    };
    if !(3..=63).contains(&name.len()) {
        return expected("3 to 63 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return expected("lowercase letters, digits, dots and hyphens");
    }
    let edge = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !edge(name.as_bytes()[0]) || !edge(name.as_bytes()[name.len() - 1]) {
        return expected("starting and ending with a letter or digit");
    }
    if name.contains("..") || name.parse::<std::net::Ipv4Addr>().is_ok() {
        return expected("no two dots in a row, not an IP address");
    }
    let reserved_prefix = ["xn--", "sthree-", "amzn-s3-demo-"];
    let reserved_suffix = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];
    if reserved_prefix.iter().any(|p| name.starts_with(p))
        || reserved_suffix.iter().any(|s| name.ends_with(s))
    {
        return expected("no prefix or suffix reserved by S3");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_names() {
        assert!(DeploymentName::new("demo-s3").is_ok());
        assert!(DeploymentName::new("a1").is_ok());
        assert!(DeploymentName::new(&"a".repeat(23)).is_ok());
        for bad in ["", "a", "1abc", "Demo", "demo_s3", "dé", &"a".repeat(24)] {
            assert!(DeploymentName::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn longest_deployment_name_still_fits_derived_names() {
        let name = DeploymentName::new(&"a".repeat(DEPLOYMENT_NAME_MAX)).unwrap();
        assert!(check_elb_name(&name.default_nlb_name(), ElbNameKind::LoadBalancer).is_ok());
        assert_eq!(name.default_target_group_name().len(), ELB_NAME_MAX);
        assert!(
            check_elb_name(&name.default_target_group_name(), ElbNameKind::TargetGroup).is_ok()
        );
    }

    #[test]
    fn elb_names() {
        assert!(check_elb_name("plink-demo", ElbNameKind::LoadBalancer).is_ok());
        assert!(check_elb_name("internal-x", ElbNameKind::TargetGroup).is_ok());
        for bad in ["", "-a", "a-", "a_b", "internal-x", &"a".repeat(33)] {
            assert!(
                check_elb_name(bad, ElbNameKind::LoadBalancer).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn ncc_names() {
        assert!(NccName::new("plink-demo_ncc").is_ok());
        for bad in ["ab", "a b", &"a".repeat(31), "ncc*"] {
            assert!(NccName::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bucket_names_follow_s3_rules() {
        for good in ["plink-demo-data", "a.b-c", "abc", &"a".repeat(63)] {
            assert_eq!(check_bucket_name(good), Ok(()), "{good}");
        }
        for bad in [
            "ab",
            &"a".repeat(64),
            "Plink",
            "under_score",
            "-start",
            "end.",
            "a..b",
            "192.168.1.1",
            "xn--bucket",
            "data-s3alias",
        ] {
            assert!(check_bucket_name(bad).is_err(), "{bad}");
        }
    }
}
