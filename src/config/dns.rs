/*!
Domain names of a private endpoint rule: the names serverless compute resolves to the endpoint.
*/

use super::error::InvalidValue;

/// Databricks limit: "Each private endpoint rule to resources in your VPC supports up to 10
/// domain names" (Databricks docs, serverless private connectivity requirements).
pub const MAX_DOMAIN_NAMES: usize = 10;

/// A fully qualified domain name: labels of 1–63 letters, digits or `-` (not at either end),
/// at least two labels, at most 253 characters, no trailing dot; an optional leading `*.`.
///
/// # Errors
/// [`InvalidValue`] saying which rule the name breaks.
pub(crate) fn check_domain_name(name: &str) -> Result<(), InvalidValue> {
    let host = name.strip_prefix("*.").unwrap_or(name);
    let problem = if name.len() > 253 {
        Some(format!("at most 253 characters, found {}", name.len()))
    } else if name.ends_with('.') {
        Some("no trailing '.'".to_owned())
    } else if !host.contains('.') {
        Some("at least two labels, like \"db.example.com\"".to_owned())
    } else {
        host.split('.').find_map(|label| {
            let chars_ok = label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if label.is_empty() || label.len() > 63 {
                Some("labels of 1-63 characters".to_owned())
            } else if !chars_ok {
                Some(
                    "labels of letters, digits and '-' (a wildcard only as a leading \"*.\")"
                        .to_owned(),
                )
            } else if label.starts_with('-') || label.ends_with('-') {
                Some("labels not starting or ending with '-'".to_owned())
            } else {
                None
            }
        })
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(InvalidValue(format!(
            "expected a fully qualified domain name ({problem}), found {name:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_names() {
        for good in [
            "db.internal.example.com",
            "*.vpce-0abc.s3.us-east-1.vpce.amazonaws.com",
            "a-b.c1",
        ] {
            assert!(check_domain_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "localhost",
            "example.com.",
            "a..b",
            "-a.b",
            "a_b.c",
            "a.*.b",
            "*",
            "*.com.",
            &format!("{}.com", "a".repeat(64)),
            &format!("{}com", "abcdefg.".repeat(32)),
        ] {
            assert!(check_domain_name(bad).is_err(), "{bad}");
        }
    }
}
