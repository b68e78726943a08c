/*!
The workflow file as written ("parse low"): serde structs that mirror the TOML one to one, one
per table; a workflow kind composes the tables it takes into its own file type.

Every table denies unknown keys, so a typo is an error with its key path instead of a silently
ignored setting. Values that get a semantic check later carry their [`Spanned`] byte range, so
the check can point at the line. Nothing here is validated beyond TOML types; see
[`validate`](super::validate) for the "validate high" half.
*/

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use toml::Spanned;

/// A TOML table decoded into `T`, and only a table.
///
/// serde's derived structs also accept a sequence (fields by position), so `[[endpoint]]` or
/// `vpc = ["vpc-…"]` would fail with a baffling `endpoint[0]: expected a string`. Asking the
/// deserializer for a map and handing the (path-tracked) map to `T` keeps the derived
/// `deny_unknown_fields` behaviour and turns everything else into "expected a table".
#[derive(Debug)]
pub(crate) struct Table<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Table<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TableVisitor<T>(std::marker::PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for TableVisitor<T> {
            type Value = Table<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table")
            }

            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Table<T>, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Table)
            }
        }

        deserializer.deserialize_map(TableVisitor(std::marker::PhantomData))
    }
}

impl<T> std::ops::Deref for Table<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// A list of strings, each with its own span (so `ids[1]` can be pointed at).
pub(crate) type SpannedStrings = Spanned<Vec<Spanned<String>>>;

/// A tag selector: `{ Name = "plink-demo-vpc" }`.
pub(crate) type RawTags = Spanned<BTreeMap<String, Spanned<String>>>;

/// What every workflow file says whatever its kind, read first: `kind`, to know which kind
/// decodes the rest, and `[state]`, where the deployment's state lives (every other key is left
/// to that kind).
#[derive(Debug, Deserialize)]
pub(crate) struct RawHeader {
    /// `kind` (absent: [`DEFAULT_KIND`](super::DEFAULT_KIND)).
    pub kind: Option<Spanned<String>>,
    pub state: Option<Spanned<Table<RawState>>>,
}

/// A table the header reads ([`RawHeader`]): each kind's file type takes it as this, so that
/// `deny_unknown_fields` lets it through and it is checked once, whatever the kind.
pub(crate) type ReadByHeader = de::IgnoredAny;

/// `[state]` (issue #14)
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawState {
    pub backend: Option<Spanned<String>>,
    pub bucket: Option<Spanned<String>>,
    pub key: Option<Spanned<String>>,
    pub region: Option<Spanned<String>>,
    pub kms_key_id: Option<Spanned<String>>,
    pub role_arn: Option<Spanned<String>>,
}

/// `[deployment]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawDeployment {
    pub name: Spanned<String>,
}

/// `[aws]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawAws {
    pub region: Spanned<String>,
    pub profile: Option<Spanned<String>>,
    pub role_arn: Option<Spanned<String>>,
    pub vpc: Spanned<Table<RawVpc>>,
    pub subnets: Spanned<Table<RawSubnets>>,
}

/// `aws.vpc = { id = "vpc-…" }` or `{ tags = { … } }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawVpc {
    pub id: Option<Spanned<String>>,
    pub tags: Option<RawTags>,
}

/// `aws.subnets = { ids = [ … ] }` or `{ tags = { … } }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawSubnets {
    pub ids: Option<SpannedStrings>,
    pub tags: Option<RawTags>,
}

/// `[endpoint]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawEndpoint {
    pub service_name: Option<Spanned<String>>,
    pub security_group_ids: Option<SpannedStrings>,
    pub policy_file: Option<Spanned<String>>,
}

/// `[nlb]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawNlb {
    pub name: Option<Spanned<String>>,
    pub target_group_name: Option<Spanned<String>>,
    pub cross_zone: Option<bool>,
}

/// `[databricks]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawDatabricks {
    pub profile: Option<Spanned<String>>,
    pub account_id: Option<Spanned<String>>,
    pub workspace_ids: Spanned<Vec<Spanned<i64>>>,
    pub domain_names: Option<SpannedStrings>,
    pub ncc: Spanned<Table<RawNcc>>,
    pub gov_shard: Option<Spanned<String>>,
}

/// `[databricks]` of the kinds that work on the account and its workspaces, without an NCC
/// (network policies).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawDatabricksAccount {
    pub profile: Option<Spanned<String>>,
    pub account_id: Option<Spanned<String>>,
    pub workspace_ids: Spanned<Vec<Spanned<i64>>>,
    pub warehouse_id: Option<Spanned<String>>,
}

/// `databricks.ncc = { name = "…" }` or `{ id = "…" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawNcc {
    pub name: Option<Spanned<String>>,
    pub id: Option<Spanned<String>>,
}

/// `[timeouts]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawTimeouts {
    pub endpoint: Option<Spanned<RawDuration>>,
    pub load_balancer: Option<Spanned<RawDuration>>,
    pub endpoint_service: Option<Spanned<RawDuration>>,
    pub rule_endpoint: Option<Spanned<RawDuration>>,
    pub rule_established: Option<Spanned<RawDuration>>,
    pub workspace: Option<Spanned<RawDuration>>,
}

/// A duration as written (`"10m"`); a string type of its own so that `endpoint = 600` says
/// `expected a duration string like "10m"` rather than `expected a string`.
#[derive(Debug)]
pub(crate) struct RawDuration(pub String);

impl<'de> Deserialize<'de> for RawDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurationVisitor;

        impl Visitor<'_> for DurationVisitor {
            type Value = RawDuration;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration string like \"10m\" or \"90s\"")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawDuration, E> {
                Ok(RawDuration(v.to_owned()))
            }
        }

        deserializer.deserialize_str(DurationVisitor)
    }
}
