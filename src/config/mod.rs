/*!
Workflow files: TOML parsed strictly ("parse low", module `raw`) and validated into a typed
[`Workflow`] ("validate high", module `validate`), with every default applied and every derived value
(AWS names, the Databricks principal) computed. No cloud access happens here.

Errors name the file, the line and column, the key path and what was expected:

```text
workflows/bad.toml:14:7: aws.subnets.ids[1]: expected a subnet id like "subnet-0123456789abcdef0", found "sub-12"
workflows/bad.toml:9:1: aws.vpcc: unknown key; expected one of: region, profile, role_arn, vpc, subnets
```

# The format

`workflows/reference.toml` lists every key with its default. In short:

| key | required | default |
|---|---|---|
| `deployment.name` | yes | — (`^[a-z][a-z0-9-]{1,22}$`) |
| `aws.region` | yes | — (commercial or `us-gov-*`) |
| `aws.profile` | no | default credential chain |
| `aws.role_arn` | no | no role assumed |
| `aws.vpc` | yes | — (`{ id = "vpc-…" }` or `{ tags = {…} }`) |
| `aws.subnets` | yes | — (`{ ids = [≥2] }` or `{ tags = {…} }`) |
| `endpoint.service_name` | no | `com.amazonaws.<region>.s3` |
| `endpoint.security_group_ids` | no | plink creates one allowing TCP 443 from the subnets' CIDRs |
| `endpoint.policy_file` | no | none (AWS default: full access); relative to the workflow file |
| `nlb.name` | no | `plink-<deployment>` |
| `nlb.target_group_name` | no | `plink-<deployment>-tg` |
| `nlb.cross_zone` | no | `true` |
| `databricks.profile` | no | `DATABRICKS_*` environment variables |
| `databricks.account_id` | no | from the environment / profile |
| `databricks.workspace_ids` | yes | — (≥1, unique, positive) |
| `databricks.domain_names` | no | the endpoint's regional DNS name ([`DomainNames::FromEndpoint`]) |
| `databricks.ncc` | yes | — (`{ name = "…" }` or `{ id = "<uuid>" }`) |
| `databricks.gov_shard` | iff GovCloud | — (`"civilian"` or `"dod"`) |
| `timeouts.*` | no | see [`Timeouts`] |
*/

mod decode;
mod dns;
mod error;
mod ids;
mod names;
mod policy;
mod principal;
mod raw;
mod region;
mod source;
mod timeouts;
mod validate;
mod workflow;

use std::path::Path;

pub use dns::MAX_DOMAIN_NAMES;
pub use error::{ConfigError, Diagnostic, DiagnosticKind, InvalidValue, Location};
pub use names::{DEPLOYMENT_NAME_MAX, DeploymentName, ELB_NAME_MAX, NccName};
pub use policy::{EndpointPolicy, MAX_POLICY_CHARS};
pub use principal::{
    COMMERCIAL_ACCOUNT, GOV_CIVILIAN_ACCOUNT, GOV_DOD_ACCOUNT, GOV_REGION, PrincipalError,
    databricks_principal,
};
pub use region::{GovShard, Partition, Region};
pub use timeouts::Timeouts;
pub use validate::MAX_WORKSPACES_PER_NCC;
pub use workflow::{
    AwsSettings, DEFAULT_KIND, DatabricksSettings, DomainNames, EndpointSettings, KindName,
    NccSelector, NlbSettings, SecurityGroups, SubnetSelector, VpcSelector, Workflow,
};

/// Reads and validates a workflow file.
///
/// # Errors
/// [`ConfigError::NotFound`], [`ConfigError::Unreadable`] or [`ConfigError::NotUtf8`] if the file
/// cannot be read as text; otherwise as [`parse`].
pub fn load(path: &Path) -> Result<Workflow, ConfigError> {
    let bytes = std::fs::read(path).map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => ConfigError::NotFound {
            path: path.to_owned(),
        },
        _ => ConfigError::Unreadable {
            path: path.to_owned(),
            error,
        },
    })?;
    let text = String::from_utf8(bytes).map_err(|error| {
        let location =
            source::utf8_error_location(error.as_bytes(), error.utf8_error().valid_up_to());
        ConfigError::NotUtf8 {
            path: path.to_owned(),
            line: location.line,
            column: location.column,
        }
    })?;
    parse(path, &text)
}

/// Validates the text of a workflow file; `source_name` is used in messages and to resolve
/// `endpoint.policy_file` (relative to its directory). The policy file is the only file read.
///
/// # Errors
/// [`ConfigError::Invalid`] with one diagnostic for a TOML syntax error, an unknown key, a value
/// of the wrong type or a missing key (decoding stops there), or with every semantic problem
/// found (all checks run).
pub fn parse(source_name: &Path, text: &str) -> Result<Workflow, ConfigError> {
    let src = source::SourceText::new(text);
    let raw =
        decode::decode(source_name, &src, text).map_err(|diagnostic| ConfigError::Invalid {
            diagnostics: vec![diagnostic],
        })?;
    validate::validate(source_name, &src, raw)
        .map_err(|diagnostics| ConfigError::Invalid { diagnostics })
}
