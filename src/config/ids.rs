/*!
Syntax of identifiers that come from elsewhere: AWS resource ids, IAM role ARNs, UUIDs, VPC
endpoint service names. Syntax only; whether the thing exists is a question for the cloud.
*/

use super::error::InvalidValue;
use super::region::{Partition, Region};

/// AWS resource kinds referenced by id in a workflow file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AwsIdKind {
    Vpc,
    Subnet,
    SecurityGroup,
    Instance,
}

impl AwsIdKind {
    fn prefix(self) -> &'static str {
        match self {
            AwsIdKind::Vpc => "vpc",
            AwsIdKind::Subnet => "subnet",
            AwsIdKind::SecurityGroup => "sg",
            AwsIdKind::Instance => "i",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            AwsIdKind::Vpc => "a VPC id",
            AwsIdKind::Subnet => "a subnet id",
            AwsIdKind::SecurityGroup => "a security group id",
            AwsIdKind::Instance => "an EC2 instance id",
        }
    }
}

/// `<prefix>-` followed by 8 (old style) or 17 lowercase hex digits.
///
/// # Errors
/// [`InvalidValue`] naming an example of the expected form.
pub(crate) fn check_aws_id(id: &str, kind: AwsIdKind) -> Result<(), InvalidValue> {
    let ok = id
        .strip_prefix(kind.prefix())
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|hex| {
            matches!(hex.len(), 8 | 17)
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        });
    if ok {
        Ok(())
    } else {
        Err(InvalidValue::expected(
            format_args!(
                "{} like \"{}-0123456789abcdef0\"",
                kind.noun(),
                kind.prefix()
            ),
            id,
        ))
    }
}

/// A UUID in its canonical 8-4-4-4-12 hex form (Databricks account and NCC ids).
///
/// # Errors
/// [`InvalidValue`] for any other form (braces, URNs, no hyphens, ...).
pub(crate) fn check_uuid(value: &str, what: &str) -> Result<(), InvalidValue> {
    let groups: Vec<&str> = value.split('-').collect();
    let ok = groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit()));
    if ok {
        Ok(())
    } else {
        Err(InvalidValue::expected(
            format_args!("{what} (a UUID like \"01234567-89ab-cdef-0123-456789abcdef\")"),
            value,
        ))
    }
}

/// A KMS key as SSE-KMS takes it: a key id (a UUID, or `mrk-` and 32 hex digits for a
/// multi-Region key), a key ARN, an alias (`alias/<name>`) or an alias ARN.
///
/// # Errors
/// [`InvalidValue`] for any other form.
pub(crate) fn check_kms_key_id(key: &str) -> Result<(), InvalidValue> {
    let key_id = |id: &str| {
        check_uuid(id, "").is_ok()
            || id
                .strip_prefix("mrk-")
                .is_some_and(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()))
    };
    let alias = |name: &str| {
        name.strip_prefix("alias/").is_some_and(|n| {
            (1..=250).contains(&n.len())
                && n.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/_-".contains(&b))
        })
    };
    let arn = |arn: &str| {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let [
            "arn",
            "aws" | "aws-us-gov",
            "kms",
            region,
            account,
            resource,
        ] = parts.as_slice()
        else {
            return false;
        };
        Region::new(region).is_ok()
            && account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit())
            && (resource.strip_prefix("key/").is_some_and(key_id) || alias(resource))
    };
    if key_id(key) || alias(key) || arn(key) {
        Ok(())
    } else {
        Err(InvalidValue::expected(
            "a KMS key id, key ARN, alias (\"alias/plink-state\") or alias ARN",
            key,
        ))
    }
}

/// `arn:<partition>:iam::<12 digits>:role/<optional path/><name>`, in the region's partition.
///
/// # Errors
/// [`InvalidValue`] for another syntax or a partition that does not match the region.
pub(crate) fn check_role_arn(arn: &str, region: Option<&Region>) -> Result<(), InvalidValue> {
    let syntax_error = || {
        InvalidValue::expected(
            "an IAM role ARN like \"arn:aws:iam::123456789012:role/plink\"",
            arn,
        )
    };
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [arn_literal, partition, "iam", "", account, resource] = parts.as_slice() else {
        return Err(syntax_error());
    };
    let partition = match *partition {
        "aws" => Partition::Aws,
        "aws-us-gov" => Partition::AwsUsGov,
        _ => return Err(syntax_error()),
    };
    let role_ok = resource.strip_prefix("role/").is_some_and(|path_and_name| {
        let name = path_and_name.rsplit('/').next().unwrap_or("");
        !name.is_empty()
            && name.len() <= 64
            && path_and_name.len() <= 512 + 64
            && path_and_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c))
    });
    if *arn_literal != "arn"
        || account.len() != 12
        || !account.bytes().all(|b| b.is_ascii_digit())
        || !role_ok
    {
        return Err(syntax_error());
    }
    match region {
        Some(region) if region.partition() != partition => Err(InvalidValue(format!(
            "role is in partition {partition} but region {region} is in partition {}, found {arn:?}",
            region.partition()
        ))),
        _ => Ok(()),
    }
}

/// `com.amazonaws.<region>.<service>` with the workflow's region, e.g. `com.amazonaws.us-east-1.s3`.
///
/// # Errors
/// [`InvalidValue`] for another syntax or another region (the endpoint is created in the
/// workflow's region, so a service elsewhere cannot work).
pub(crate) fn check_service_name(name: &str, region: Option<&Region>) -> Result<(), InvalidValue> {
    let example = region.map_or("us-east-1", Region::as_str);
    let syntax_error = || {
        InvalidValue::expected(
            format_args!("a VPC endpoint service name like \"com.amazonaws.{example}.s3\""),
            name,
        )
    };
    let Some(rest) = name.strip_prefix("com.amazonaws.") else {
        return Err(syntax_error());
    };
    let Some((service_region, service)) = rest.split_once('.') else {
        return Err(syntax_error());
    };
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if Region::new(service_region).is_err() || !service.split('.').all(label_ok) {
        return Err(syntax_error());
    }
    match region {
        Some(region) if region.as_str() != service_region => Err(InvalidValue(format!(
            "expected a service in the workflow's region {region} (aws.region), found {name:?}"
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_ids() {
        assert!(check_aws_id("vpc-0123abcd", AwsIdKind::Vpc).is_ok());
        assert!(check_aws_id("subnet-0123456789abcdef0", AwsIdKind::Subnet).is_ok());
        for bad in [
            "sub-12",
            "subnet-",
            "subnet-0123ABCD",
            "subnet-0123abc",
            "vpc-0123abcd",
        ] {
            assert!(check_aws_id(bad, AwsIdKind::Subnet).is_err(), "{bad}");
        }
    }

    #[test]
    fn uuids() {
        assert!(check_uuid("d6df3889-eefc-4ddb-bbb4-613efcb30035", "x").is_ok());
        for bad in [
            "d6df3889eefc4ddbbbb4613efcb30035",
            "{d6df3889-eefc-4ddb-bbb4-613efcb30035}",
            "",
        ] {
            assert!(check_uuid(bad, "x").is_err(), "{bad}");
        }
    }

    #[test]
    fn role_arns() {
        let east = Region::new("us-east-1").unwrap();
        assert!(check_role_arn("arn:aws:iam::123456789012:role/plink", Some(&east)).is_ok());
        assert!(check_role_arn("arn:aws:iam::123456789012:role/a/b/plink", Some(&east)).is_ok());
        assert!(check_role_arn("arn:aws-us-gov:iam::123456789012:role/p", Some(&east)).is_err());
        for bad in [
            "arn:aws:iam::123456789012:user/plink",
            "arn:aws:iam::12345678901:role/plink",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:iam::123456789012:role/*",
            "arn:aws:s3:::bucket",
        ] {
            assert!(check_role_arn(bad, Some(&east)).is_err(), "{bad}");
        }
    }

    #[test]
    fn service_names() {
        let east = Region::new("us-east-1").unwrap();
        assert!(check_service_name("com.amazonaws.us-east-1.s3", Some(&east)).is_ok());
        assert!(check_service_name("com.amazonaws.us-west-2.s3", Some(&east)).is_err());
        assert!(check_service_name("com.amazonaws.s3", Some(&east)).is_err());
        assert!(check_service_name("com.amazonaws.us-east-1.S3", Some(&east)).is_err());
    }

    #[test]
    fn kms_keys_in_every_form_sse_kms_takes() {
        for good in [
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "mrk-1234abcd12ab34cd56ef1234567890ab",
            "alias/plink-state",
            "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:us-east-1:111122223333:alias/plink-state",
        ] {
            assert!(super::check_kms_key_id(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "plink-state",
            "alias/",
            "arn:aws:kms:us-east-1:1:key/x",
            "key/1234",
        ] {
            assert!(super::check_kms_key_id(bad).is_err(), "{bad}");
        }
    }
}
