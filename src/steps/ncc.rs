//! `ncc`: adopt the Databricks NCC by id or by name and region, or create it.

use async_trait::async_trait;

use super::outputs::NccOut;
use super::{Env, errors};
use crate::config::NccSelector;
use crate::databricks::{ErrorKind, NetworkConnectivityConfig};
use crate::engine::{Step, StepContext, StepError, StepId};
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
            NccSelector::Id(id) => {
                let ncc = db.get_ncc(id).await.map_err(|e| match e.kind() {
                    ErrorKind::NotFound => StepError::needs_user(
                        format!("NCC {id} (databricks.ncc.id) does not exist in account {}", db.account_id()),
                        "check the id, or name the NCC with databricks.ncc.name to have plink create it",
                    ),
                    _ => errors::databricks("reading the NCC", e),
                })?;
                check_region(&ncc, region)?;
                return cx.record(&out(&ncc, false));
            }
            NccSelector::Name(name) => name.as_str().to_owned(),
        };

        // 1. The NCC recorded by an earlier run.
        let created_before = cx.recorded::<NccOut>().is_some_and(|r| r.created_by_plink);
        if let Some(rec) = cx.recorded::<NccOut>() {
            match db.get_ncc(&rec.ncc_id).await {
                Ok(ncc) => return cx.record(&out(&ncc, rec.created_by_plink)),
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    cx.note(format!(
                        "recorded NCC {} is gone; looking it up by name",
                        rec.ncc_id
                    ));
                    cx.forget(&["ncc_id"])?;
                }
                Err(e) => return Err(errors::databricks("reading the recorded NCC", e)),
            }
        }
        // 2. By natural key (name + region). Also covers a create whose answer was lost: a pending
        //    intent means the NCC, if found, is ours.
        let ours = created_before || cx.pending_intent().is_some();
        let all = db
            .list_nccs()
            .await
            .map_err(|e| errors::databricks("listing NCCs", e))?;
        if let Some(ncc) = all.iter().find(|n| n.name == name && n.region == region) {
            if !ours {
                cx.note(format!(
                    "adopting existing NCC {} ({})",
                    name, ncc.network_connectivity_config_id
                ));
            }
            return cx.record(&out(ncc, ours));
        }
        // 3. Create, after checking the regional limit (a refused create would say less).
        let in_region = all.iter().filter(|n| n.region == region).count();
        if in_region >= MAX_NCCS_PER_REGION {
            return Err(StepError::needs_user(
                format!(
                    "account {} already has {in_region} NCCs in {region} (limit {MAX_NCCS_PER_REGION})",
                    db.account_id()
                ),
                "reuse one of them (databricks.ncc.name or .id), or delete an unused NCC",
            ));
        }
        cx.begin(
            Intent::new("create_ncc")
                .key("name", &name)
                .key("region", region),
        )?;
        match db.create_ncc(&name, region).await {
            Ok(ncc) => cx.record(&out(&ncc, true)),
            // Another writer won the race, or our earlier create landed: adopt on the next attempt.
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Err(StepError::retryable(format!(
                "NCC {name} appeared meanwhile: {e}"
            ))),
            // Never retried blindly (no idempotency token): the next attempt lists first.
            Err(e) => Err(errors::databricks("creating the NCC", e)),
        }
    }
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
