//! `plink ip check`: for each address and workspace, allowed or blocked and by which list — in the
//! live configuration and in the one the workflow file leads to (issue #12 item 4). The same
//! evaluation as the lockout guard (`resources::ip_access::eval`).

use serde::Serialize;

use super::Deployment;
use crate::config::{self, Ipv4Net};
use crate::resources::Options;
use crate::resources::ip_access::IpAccessRecord;
use crate::resources::ip_access::eval::Verdict;
use crate::workflow::ip_access_lists;

/// One address at one workspace.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub address: String,
    pub workspace_id: i64,
    /// What Databricks does now.
    pub live: Verdict,
    /// What it will do once `up` has applied the workflow file.
    pub file: Verdict,
}

/// The answers for every address and workspace, in that order.
///
/// # Errors
/// The deployment is not of kind `ip-access-lists`, an address does not parse, a workspace
/// cannot be reached.
pub async fn run(deployment: &Deployment, addresses: &[String]) -> anyhow::Result<Vec<Check>> {
    let source = &deployment.workflow.source;
    if deployment.kind().name() != ip_access_lists::NAME {
        anyhow::bail!(
            "{}: plink ip check reads kind \"{}\" deployments; this one is kind \"{}\"",
            source.display(),
            ip_access_lists::NAME,
            deployment.kind().name()
        );
    }
    let ips: Vec<(String, u32)> = addresses
        .iter()
        .map(|a| {
            Ipv4Net::parse(a)
                .ok()
                .filter(|n| n.size() == 1)
                .map(|n| (n.to_string(), n.first()))
                .ok_or_else(|| anyhow::anyhow!("{a:?}: expected an IPv4 address like 203.0.113.7"))
        })
        .collect::<anyhow::Result<_>>()?;
    let c = ip_access_lists::config::parse(source, &config::read(source)?.text)?;
    let state = deployment.read_state().await?;
    let env = super::up::connect(deployment, Options::default()).await?;
    let mut out = Vec::new();
    for &id in &c.databricks.workspace_ids {
        let r = ip_access_lists::resource(&c, id);
        let rec: IpAccessRecord = state
            .as_ref()
            .and_then(|s| s.outputs(ip_access_lists::node(id)))
            .unwrap_or_default();
        let live = r.read(&env).await?;
        let (now, planned) = (
            crate::resources::ip_access::IpAccess::acl(&live),
            r.planned(&rec, &live),
        );
        for (address, ip) in &ips {
            out.push(Check {
                address: address.clone(),
                workspace_id: id,
                live: now.verdict(*ip),
                file: planned.verdict(*ip),
            });
        }
    }
    Ok(out)
}
