//! `[state]`: checked once for every kind, with the header (`config::read`).

use toml::Spanned;

use super::Validator;
use crate::config::ids::{check_kms_key_id, check_role_arn};
use crate::config::names::check_bucket_name;
use crate::config::raw::{RawState, Table};
use crate::config::region::Region;
use crate::config::workflow::{S3StateSettings, StateBackend};

impl Validator<'_> {
    /// `[state]`: absent or `backend = "local"` is the local file; `backend = "s3"` needs a
    /// bucket. A key of the S3 backend given with the local one is an error, not ignored: the
    /// user meant something.
    pub(crate) fn state(&mut self, raw: Option<&Spanned<Table<RawState>>>) -> Option<StateBackend> {
        let Some(raw) = raw else {
            return Some(StateBackend::Local);
        };
        let table = raw.get_ref();
        let backend = match &table.backend {
            None => Some("local"),
            Some(b) => self.check(b, "state.backend", |b| match b.as_str() {
                "local" => Ok("local"),
                "s3" => Ok("s3"),
                other => Err(format!("expected \"s3\" or \"local\", found {other:?}")),
            }),
        }?;
        let s3_keys = [
            ("state.bucket", &table.bucket),
            ("state.key", &table.key),
            ("state.region", &table.region),
            ("state.kms_key_id", &table.kms_key_id),
            ("state.role_arn", &table.role_arn),
        ];
        if backend == "local" {
            let mut ok = true;
            for (key, value) in s3_keys {
                if let Some(value) = value {
                    self.report(
                        Some(value.span()),
                        key,
                        "only taken with backend = \"s3\" (the local state needs no settings)",
                    );
                    ok = false;
                }
            }
            return ok.then_some(StateBackend::Local);
        }
        let bucket = match &table.bucket {
            Some(b) => self.check(b, "state.bucket", |b| {
                check_bucket_name(b).map(|()| b.clone())
            }),
            None => {
                self.report(
                    Some(raw.span()),
                    "state.bucket",
                    "expected bucket = \"…\" with backend = \"s3\": the bucket that holds the states",
                );
                None
            }
        };
        let key = self.check_optional(table.key.as_ref(), "state.key", |k| check_key_prefix(k));
        let region = self.check_optional(table.region.as_ref(), "state.region", |r| Region::new(r));
        let kms_key_id = self.check_optional(table.kms_key_id.as_ref(), "state.kms_key_id", |k| {
            check_kms_key_id(k).map(|()| k.clone())
        });
        let role_arn = self.check_optional(table.role_arn.as_ref(), "state.role_arn", |arn| {
            check_role_arn(arn, None).map(|()| arn.clone())
        });
        Some(StateBackend::S3(S3StateSettings {
            bucket: bucket?,
            key: key?.unwrap_or_default(),
            region: region?,
            kms_key_id: kms_key_id?,
            role_arn: role_arn?,
        }))
    }
}

/// A key prefix: printable, no `//`, `.` or `..` segment (S3 takes them, but they make keys no one
/// can type twice the same way), at most 900 bytes (S3 keys are at most 1024, and
/// `/<deployment>/state.json.lock` must still fit).
fn check_key_prefix(key: &str) -> Result<String, String> {
    let trimmed = key.trim_matches('/');
    let bad_segment = trimmed
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..");
    if trimmed.len() > 900
        || key.chars().any(|c| c.is_control())
        || (!trimmed.is_empty() && bad_segment)
    {
        return Err(format!(
            "expected a key prefix like \"plink/prod\" (segments separated by single `/`, no `.` or \
             `..`, at most 900 bytes), found {key:?}"
        ));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::check_key_prefix;

    #[test]
    fn key_prefixes_are_trimmed_and_read_strictly() {
        assert_eq!(check_key_prefix("plink/prod/").as_deref(), Ok("plink/prod"));
        assert_eq!(check_key_prefix("/a").as_deref(), Ok("a"));
        assert_eq!(check_key_prefix("").as_deref(), Ok(""));
        for bad in ["a//b", "a/../b", "./a", "a\nb", &"a".repeat(901)] {
            assert!(check_key_prefix(bad).is_err(), "{bad:?}");
        }
    }
}
