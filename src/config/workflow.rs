/*!
The validated sections a workflow kind composes its typed config from ("validate high"): every
value checked, every default applied, every derived value (names, the Databricks principal)
computed. Code past this point never re-checks the file and never sees an `Option` that means "use
the default".
*/

use std::collections::BTreeMap;

use serde::Serialize;

use super::names::NccName;
use super::policy::EndpointPolicy;
use super::region::{GovShard, Partition, Region};

/// The kind of files without a `kind` key: every file written before kinds existed.
pub const DEFAULT_KIND: &str = "s3-privatelink";

/// The `kind` of a workflow file, and where the file says it (for the error naming an unknown
/// kind). Two are equal when their names are, wherever they were written.
#[derive(Debug, Clone, Eq, Serialize)]
pub struct KindName {
    pub name: String,
    #[serde(skip)]
    pub location: Option<super::Location>,
}

impl PartialEq for KindName {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

/// `[aws]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AwsSettings {
    /// `aws.region` (required).
    pub region: Region,
    /// Derived from the region.
    pub partition: Partition,
    /// `aws.profile`: shared-config profile; `None` → the default credential chain.
    pub profile: Option<String>,
    /// `aws.role_arn`: role to assume in the resource account; `None` → use the credentials as is.
    pub role_arn: Option<String>,
    /// `aws.vpc` (required).
    pub vpc: VpcSelector,
    /// `aws.subnets` (required).
    pub subnets: SubnetSelector,
}

/// How to find the VPC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VpcSelector {
    /// `{ id = "vpc-…" }`
    Id(String),
    /// `{ tags = { … } }`: exactly one VPC must carry all these tags.
    Tags(BTreeMap<String, String>),
}

/// How to find the subnets the endpoint and the NLB use (one per availability zone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SubnetSelector {
    /// `{ ids = [ … ] }`: at least two, unique.
    Ids(Vec<String>),
    /// `{ tags = { … } }`: every subnet of the VPC carrying all these tags.
    Tags(BTreeMap<String, String>),
}

/// `[endpoint]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointSettings {
    /// `endpoint.service_name`; default `com.amazonaws.<region>.s3`.
    pub service_name: String,
    /// `endpoint.security_group_ids`; absent → [`SecurityGroups::CreateManaged`].
    pub security_groups: SecurityGroups,
    /// `endpoint.policy_file`, read and minified; `None` → the AWS default (full access).
    pub policy: Option<EndpointPolicy>,
}

/// Security groups of the interface endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecurityGroups {
    /// plink creates (and owns) one allowing TCP 443 from the subnets' CIDRs.
    CreateManaged,
    /// Use these (at least one, unique); plink does not modify them.
    Existing(Vec<String>),
}

/// `[nlb]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NlbSettings {
    /// `nlb.name`; default `plink-<deployment>`.
    pub name: String,
    /// `nlb.target_group_name`; default `plink-<deployment>-tg`.
    pub target_group_name: String,
    /// `nlb.cross_zone`; default `true` (Databricks recommends cross-zone load balancing).
    pub cross_zone: bool,
}

/// `[databricks]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatabricksSettings {
    /// `databricks.profile`: `~/.databrickscfg` profile; `None` → `DATABRICKS_*` environment.
    pub profile: Option<String>,
    /// `databricks.account_id` (lowercase UUID); `None` → from the environment or profile.
    pub account_id: Option<String>,
    /// `databricks.workspace_ids` (required): at least one, unique, positive.
    pub workspace_ids: Vec<i64>,
    /// `databricks.domain_names`; default [`DomainNames::FromEndpoint`].
    pub domain_names: DomainNames,
    /// `databricks.ncc` (required).
    pub ncc: NccSelector,
    /// `databricks.gov_shard`: present exactly for GovCloud regions.
    pub gov_shard: Option<GovShard>,
    /// Derived: the Databricks principal allowed on the endpoint service (never `*`); see
    /// [`databricks_principal`](super::databricks_principal).
    pub principal_arn: String,
}

/// `[databricks]` of the kinds without an NCC: the account, its workspaces, and the SQL
/// warehouse that reads the system tables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatabricksAccount {
    /// `databricks.profile`.
    pub profile: Option<String>,
    /// `databricks.account_id` (lowercase UUID).
    pub account_id: Option<String>,
    /// `databricks.workspace_ids` (required): at least one, unique, positive.
    pub workspace_ids: Vec<i64>,
    /// `databricks.warehouse_id`: a SQL warehouse of one of the workspaces (16 hex digits).
    pub warehouse_id: Option<String>,
}

/// The domain names of the private endpoint rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DomainNames {
    /// The interface endpoint's regional DNS name, known once the endpoint exists, e.g.
    /// `*.vpce-0abc….s3.us-east-1.vpce.amazonaws.com`.
    FromEndpoint,
    /// Exactly these (1–10, unique).
    Explicit(Vec<String>),
}

/// Which network connectivity configuration to use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NccSelector {
    /// Create it, or adopt the NCC with this name in the workflow's region.
    Name(NccName),
    /// Adopt this existing NCC (lowercase UUID).
    Id(String),
}

/// `[state]`: where the deployment's state and its lock live (issue #14); `--state` on the
/// command line replaces it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "backend")]
pub enum StateBackend {
    /// `.plink/<deployment>/state.json` under the working directory (the default).
    #[default]
    Local,
    /// `backend = "s3"`: shared by a team's machines and CI.
    S3(S3StateSettings),
}

/// `[state]` with `backend = "s3"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct S3StateSettings {
    /// `state.bucket` (required).
    pub bucket: String,
    /// `state.key`: the key prefix; each deployment's state is at `<key>/<deployment>/state.json`
    /// (without leading or trailing `/`; may be empty).
    pub key: String,
    /// `state.region`: the bucket's region; `None` → the workflow's `aws.region`, else
    /// `us-east-1`.
    pub region: Option<Region>,
    /// `state.kms_key_id`: SSE-KMS with this key; `None` → SSE-S3.
    pub kms_key_id: Option<String>,
    /// `state.role_arn`: a role to assume for the bucket (another account); `None` → the
    /// credential chain and `aws.profile` as they are (not `aws.role_arn`, which is the
    /// resources' account).
    pub role_arn: Option<String>,
}
