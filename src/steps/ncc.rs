//! `ncc`: adopt the Databricks NCC by id or by name and region, or create it.

use async_trait::async_trait;

use super::found::{Found, gone_prefix};
use super::outputs::NccOut;
use super::{Env, coordination, errors};
use crate::config::NccSelector;
use crate::databricks::{ErrorKind, NetworkConnectivityConfig};
use crate::engine::{Planned, Step, StepContext, StepError, StepId};
use crate::state::Intent;

/// Databricks limit: NCCs per region per account (docs "Requirements"; reference §8.1).
pub const MAX_NCCS_PER_REGION: usize = 10;

pub struct NccStep(pub Env);

#[async_trait]
impl Step for NccStep {
    fn id(&self) -> StepId {
        "ncc"
    }

    fn depends_on(&self) -> Vec<StepId> {
        // After `network`: a VPC or subnets that cannot carry the workflow (a tag matching
        // nothing, a single AZ) stop the run before anything is created, NCC included (an NCC
        // uses one of only 10 per region and account).
        vec!["network"]
    }

    fn describe(&self) -> String {
        match &self.0.workflow.databricks.ncc {
            NccSelector::Name(name) => {
                format!("Databricks NCC {} in {}", name.as_str(), self.0.region())
            }
            NccSelector::Id(id) => format!("Databricks NCC {id}"),
        }
    }

    async fn apply(&self, cx: &StepContext) -> Result<(), StepError> {
        let env = &self.0;
        let db = &env.databricks;
        let region = env.region();
        let name = match &env.workflow.databricks.ncc {
            NccSelector::Id(id) => return cx.record(&out(&self.get_by_id(id).await?, false)),
            NccSelector::Name(name) => name.as_str().to_owned(),
        };
        let created_before = cx.recorded::<NccOut>().is_some_and(|r| r.created_by_plink);
        // Deployments of one run that share this NCC, or count the regional limit, take turns.
        let _turn = coordination::lock(format!("ncc:{}:{region}", db.account_id())).await;
        let lookup = self.find(cx, &name).await?;
        if let Some(gone) = lookup.found.gone() {
            cx.note(format!(
                "recorded NCC {gone} is gone; looking it up by name"
            ));
            cx.forget(&["ncc_id"])?;
        }
        match lookup.found {
            // 1. The NCC recorded by an earlier run.
            Found::Recorded(ncc) => cx.record(&out(&ncc, created_before)),
            // 2. By natural key (name + region). Also covers a create whose answer was lost: a
            //    pending intent means the NCC, if found, is ours.
            Found::Unrecorded { resource: ncc, .. } => {
                let ours = created_before || cx.pending_intent().is_some();
                if !ours {
                    cx.note(format!(
                        "adopting existing NCC {} ({})",
                        name, ncc.network_connectivity_config_id
                    ));
                }
                cx.record(&out(&ncc, ours))
            }
            // 3. Create, after checking the regional limit (a refused create would say less).
            Found::Missing { .. } => {
                check_limit(lookup.in_region, db.account_id(), region)?;
                cx.begin(
                    Intent::new("create_ncc")
                        .key("name", &name)
                        .key("region", region),
                )?;
                match db.create_ncc(&name, region).await {
                    Ok(ncc) => cx.record(&out(&ncc, true)),
                    // Another writer won the race, or our earlier create landed: adopt on the
                    // next attempt.
                    Err(e) if e.kind() == ErrorKind::AlreadyExists => Err(StepError::retryable(
                        format!("NCC {name} appeared meanwhile: {e}"),
                    )),
                    // Never retried blindly (no idempotency token): the next attempt lists first.
                    Err(e) => Err(errors::databricks("creating the NCC", e)),
                }
            }
        }
    }

    async fn plan(&self, cx: &StepContext) -> Result<Planned, StepError> {
        let env = &self.0;
        let recorded = cx.recorded::<NccOut>();
        let name = match &env.workflow.databricks.ncc {
            NccSelector::Id(id) => {
                let ncc = out(&self.get_by_id(id).await?, false);
                let what = format!("your NCC {} ({id})", ncc.name);
                let planned = if recorded.as_ref() == Some(&ncc) {
                    Planned::no_change(what)
                } else {
                    Planned::adopt(what)
                };
                return Ok(planned.with_outputs(&ncc));
            }
            NccSelector::Name(name) => name.as_str().to_owned(),
        };
        let created_before = recorded.as_ref().is_some_and(|r| r.created_by_plink);
        let lookup = self.find(cx, &name).await?;
        let planned = match lookup.found {
            Found::Recorded(ncc) => Planned::no_change(format!(
                "NCC {name} ({})",
                ncc.network_connectivity_config_id
            ))
            .with_outputs(&out(&ncc, created_before)),
            Found::Unrecorded {
                resource: ncc,
                gone,
            } => {
                let ours = created_before || cx.pending_intent().is_some();
                Planned::adopt(format!(
                    "{}{} NCC {name} ({}) found by name in {}",
                    gone_prefix("NCC", gone.as_deref()),
                    if ours { "plink's" } else { "existing" },
                    ncc.network_connectivity_config_id,
                    env.region()
                ))
                .with_outputs(&out(&ncc, ours))
            }
            Found::Missing { gone } => {
                check_limit(lookup.in_region, env.databricks.account_id(), env.region())?;
                Planned::create(format!(
                    "{}NCC {name} in {}",
                    gone_prefix("NCC", gone.as_deref()),
                    env.region()
                ))
            }
        };
        Ok(planned)
    }
}

/// What the lookup of a named NCC found, and how many NCCs the region has (for the limit).
struct NccLookup {
    found: Found<NetworkConnectivityConfig>,
    in_region: usize,
}

impl NccStep {
    /// The NCC named by id, in the deployment's region.
    async fn get_by_id(&self, id: &str) -> Result<NetworkConnectivityConfig, StepError> {
        let db = &self.0.databricks;
        let ncc = db.get_ncc(id).await.map_err(|e| match e.kind() {
            ErrorKind::NotFound => StepError::needs_user(
                format!(
                    "NCC {id} (databricks.ncc.id) does not exist in account {}",
                    db.account_id()
                ),
                "check the id, or name the NCC with databricks.ncc.name to have plink create it",
            ),
            _ => errors::databricks("reading the NCC", e),
        })?;
        check_region(&ncc, self.0.region())?;
        Ok(ncc)
    }

    /// The recorded NCC, else the one named `name` in the region.
    async fn find(&self, cx: &StepContext, name: &str) -> Result<NccLookup, StepError> {
        let db = &self.0.databricks;
        let region = self.0.region();
        let mut gone = None;
        if let Some(rec) = cx.recorded::<NccOut>() {
            match db.get_ncc(&rec.ncc_id).await {
                Ok(ncc) => {
                    return Ok(NccLookup {
                        found: Found::Recorded(ncc),
                        in_region: 0,
                    });
                }
                Err(e) if e.kind() == ErrorKind::NotFound => gone = Some(rec.ncc_id),
                Err(e) => return Err(errors::databricks("reading the recorded NCC", e)),
            }
        }
        let all = db
            .list_nccs()
            .await
            .map_err(|e| errors::databricks("listing NCCs", e))?;
        let by_name = all
            .iter()
            .find(|n| n.name == name && n.region == region)
            .cloned();
        Ok(NccLookup {
            found: Found::by_key(by_name, gone),
            in_region: all.iter().filter(|n| n.region == region).count(),
        })
    }
}

/// Refuses a create that the regional limit would refuse.
fn check_limit(in_region: usize, account: &str, region: &str) -> Result<(), StepError> {
    if in_region < MAX_NCCS_PER_REGION {
        return Ok(());
    }
    Err(StepError::needs_user(
        format!(
            "account {account} already has {in_region} NCCs in {region} (limit {MAX_NCCS_PER_REGION})"
        ),
        "reuse one of them (databricks.ncc.name or .id), or delete an unused NCC",
    ))
}

fn check_region(ncc: &NetworkConnectivityConfig, region: &str) -> Result<(), StepError> {
    if ncc.region == region {
        return Ok(());
    }
    Err(StepError::needs_user(
        format!(
            "NCC {} is in region {}, the deployment in {region}",
            ncc.network_connectivity_config_id, ncc.region
        ),
        "an NCC can only serve workspaces and endpoint services of its own region: use an NCC of this region",
    ))
}

fn out(ncc: &NetworkConnectivityConfig, created_by_plink: bool) -> NccOut {
    NccOut {
        ncc_id: ncc.network_connectivity_config_id.clone(),
        name: ncc.name.clone(),
        region: ncc.region.clone(),
        created_by_plink,
    }
}
