/*!
Workflow files, the toolkit every workflow kind reads its file with: TOML parsed strictly ("parse
low", module `raw`: one serde struct per table) and validated into typed sections ("validate
high", module `validate`: `[deployment]`, `[aws]`, `[endpoint]`, `[nlb]`, `[databricks]`,
`[timeouts]`, `[state]`), with every default applied and every derived value (AWS names, the
Databricks principal) computed. A workflow kind (`crate::workflow`) composes the tables it takes
into its own file type and typed config (`decode_file`); this module only reads what every kind's
file says the same way ([`read`]): the `kind` key that says which, and `[state]`. No cloud access
happens here.

Errors name the file, the line and column, the key path and what was expected:

```text
workflows/bad.toml:14:7: aws.subnets.ids[1]: expected a subnet id like "subnet-0123456789abcdef0", found "sub-12"
workflows/bad.toml:9:1: aws.vpcc: unknown key; expected one of: region, profile, role_arn, vpc, subnets
```

`workflows/reference.toml` lists every key with its default; the typed sections
([`AwsSettings`], [`DatabricksSettings`], …) say the same per field.
*/

mod cidr;
mod decode;
mod dns;
mod error;
mod ids;
mod names;
mod place;
mod policy;
mod principal;
mod raw;
mod region;
mod source;
mod timeouts;
mod validate;
mod workflow;

use std::path::{Path, PathBuf};

pub use cidr::Ipv4Net;
pub use dns::MAX_DOMAIN_NAMES;
pub use error::{ConfigError, Diagnostic, DiagnosticKind, InvalidValue, Location};
pub use names::{DEPLOYMENT_NAME_MAX, DeploymentName, ELB_NAME_MAX, NccName};
pub use place::place_of;
pub use policy::{EndpointPolicy, MAX_POLICY_CHARS};
pub use principal::{PrincipalError, databricks_principal};
pub use region::{GovShard, Partition, Region};
pub use timeouts::Timeouts;
pub use validate::MAX_WORKSPACES_PER_NCC;
pub use workflow::{
    AwsSettings, DEFAULT_KIND, DatabricksAccount, DatabricksSettings, DomainNames,
    EndpointSettings, KindName, NccSelector, NlbSettings, S3StateSettings, SecurityGroups,
    StateBackend, SubnetSelector, VpcSelector,
};

pub(crate) use dns::check_domain_name;
pub(crate) use ids::{AwsIdKind, check_aws_id};
pub(crate) use names::check_bucket_name;
pub(crate) use raw::{
    RawAws, RawDatabricks, RawDatabricksAccount, RawDeployment, RawEndpoint, RawNlb, RawTimeouts,
    ReadByHeader, Table,
};
pub(crate) use validate::Validator;
pub(crate) use validate::check_warehouse_id;

/// A workflow file's text, the kind it names, and where its state lives.
#[derive(Debug, Clone)]
pub struct WorkflowText {
    pub path: PathBuf,
    pub text: String,
    pub kind: KindName,
    /// `[state]`, read the same for every kind.
    pub state: StateBackend,
}

/// Reads a workflow file, the `kind` it names and its `[state]` (every other key is the kind's
/// to read).
///
/// # Errors
/// [`ConfigError::NotFound`], [`ConfigError::Unreadable`] or [`ConfigError::NotUtf8`] if the file
/// cannot be read as text; [`ConfigError::Invalid`] for a TOML syntax error or a `kind` that is
/// not a string.
pub fn read(path: &Path) -> Result<WorkflowText, ConfigError> {
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
        let valid = error.utf8_error().valid_up_to();
        let prefix = std::str::from_utf8(&error.as_bytes()[..valid]).unwrap_or("");
        let location = source::SourceText::new(prefix).location(valid);
        ConfigError::NotUtf8 {
            path: path.to_owned(),
            line: location.line,
            column: location.column,
        }
    })?;
    let (kind, state) = decode_file(path, &text, |v, raw: raw::RawHeader| {
        let state = v.state(raw.state.as_ref());
        Some((v.kind(raw.kind.as_ref()), state?))
    })?;
    Ok(WorkflowText {
        path: path.to_owned(),
        text,
        kind,
        state,
    })
}

/// Decodes `text` as the file type `R` of a workflow kind ("parse low": a TOML syntax error, an
/// unknown key, a value of the wrong type or a missing key stops there), then validates it with
/// `validate` ("validate high": every check runs, every problem is reported); `source_name` is
/// used in messages and to resolve files the workflow names (relative to its directory).
///
/// # Errors
/// [`ConfigError::Invalid`] with one diagnostic from decoding, or every problem validation found.
pub(crate) fn decode_file<R: serde::de::DeserializeOwned, T>(
    source_name: &Path,
    text: &str,
    validate: impl FnOnce(&mut Validator<'_>, R) -> Option<T>,
) -> Result<T, ConfigError> {
    let src = source::SourceText::new(text);
    let raw =
        decode::decode(source_name, &src, text).map_err(|diagnostic| ConfigError::Invalid {
            diagnostics: vec![diagnostic],
        })?;
    let mut v = Validator::new(source_name, &src);
    let typed = validate(&mut v, raw);
    v.finish(typed)
        .map_err(|diagnostics| ConfigError::Invalid { diagnostics })
}
