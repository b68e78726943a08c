//! The algorithms every command derives from a [`Resource`]: converge (`up`), plan (`plan`,
//! drift in `status`), and the common teardown (`down`).

use super::contract::{Teardown, TeardownAction};
use super::{Cx, Deleted, Found, Ownership, Readiness, Res, Resource, gone_prefix};
use crate::engine::{PlanAction, Planned, Poll, StepError};

/// Brings the resource to what the workflow wants, and returns it live and ready.
///
/// 1. [`find`](Resource::find) it; a recorded one that is gone is forgotten (a new generation,
///    so a new idempotency token);
/// 2. create it if missing (or wait for it to appear, when something else creates it), delete
///    and create it anew if it can never become right;
/// 3. record it at once;
/// 4. fix every [`Change`](super::Change) [`compare`](Resource::compare) finds, in place, then
///    wait until it is ready ([`Resource::readiness`]);
/// 5. record it again if it changed or was waited for (a converged run reads and writes nothing
///    more).
///
/// # Errors
/// What the resource's calls fail with; a wait that times out.
pub async fn converge<R: Resource + ?Sized>(
    r: &R,
    cx: &Cx<'_>,
    inputs: &R::Inputs,
) -> Res<R::Live> {
    let turn = match r.turn(cx.env) {
        Some(key) => Some(super::coordination::lock(key).await),
        None => None,
    };
    let found = r.find(cx, inputs).await?;
    if let Some(gone) = found.gone() {
        cx.note(format!(
            "recorded {} {gone} is gone; creating a new one",
            R::NOUN
        ));
        cx.step.forget_all()?;
    }
    let live = match found {
        Found::Recorded(live) | Found::Unrecorded { resource: live, .. } => live,
        Found::Replace { resource, why } => {
            cx.note(format!(
                "{} {} {why}; deleting it to create a new one",
                R::NOUN,
                r.label(&resource)
            ));
            r.remove_to_replace(cx, inputs, &resource).await?;
            cx.step.forget_all()?;
            create(r, cx, inputs).await?
        }
        Found::Missing { .. } => create(r, cx, inputs).await?,
    };
    cx.step.record(&r.record(cx, inputs, &live).await?)?;
    drop(turn);
    let changes = r.compare(cx, inputs, &live).await?;
    let (mut live, mut reread) = (live, false);
    for change in &changes {
        if !change.note.is_empty() {
            cx.note(change.note.clone());
        }
        r.update(cx, inputs, &live, &change.fix).await?;
        match r.updated(&live, &change.fix) {
            Some(now) => live = now,
            None => reread = true,
        }
    }
    if reread {
        live = r.refresh(cx, &live).await?.unwrap_or(live);
    }
    // The fixes are made: resolve their intent before a wait, so that a run stopped while
    // waiting does not leave them looking in flight (`status` would say their result was never
    // recorded, and the next run would look for what they may have made).
    if !changes.is_empty() {
        cx.step.record(&r.record(cx, inputs, &live).await?)?;
    }
    let (live, waited) = wait_ready(r, cx, live).await?;
    // Recorded again only if it moved since (a converged run reads each resource once).
    if waited {
        cx.step.record(&r.record(cx, inputs, &live).await?)?;
    }
    Ok(live)
}

/// Creates the resource, or waits for it to appear when something else creates it.
async fn create<R: Resource + ?Sized>(r: &R, cx: &Cx<'_>, inputs: &R::Inputs) -> Res<R::Live> {
    if r.creates() {
        r.check_create(cx, inputs).await?;
    }
    if let Some(live) = r.create(cx, inputs).await? {
        return Ok(live);
    }
    let (_, policy) = r.wait(cx.env);
    cx.step
        .wait_for(&format!("the {} to appear", R::NOUN), &policy, || async {
            Ok(match r.find(cx, inputs).await? {
                Found::Recorded(l) | Found::Unrecorded { resource: l, .. } => Poll::Ready(l),
                Found::Replace { why, .. } => {
                    return Err(StepError::terminal(format!("{} {why}", R::NOUN)));
                }
                Found::Missing { .. } => Poll::Pending(r.create_detail(inputs)),
            })
        })
        .await
}

/// Waits until [`Resource::readiness`] says ready; says whether it had to wait.
async fn wait_ready<R: Resource + ?Sized>(
    r: &R,
    cx: &Cx<'_>,
    live: R::Live,
) -> Res<(R::Live, bool)> {
    let seen = match r.readiness(&live) {
        Readiness::Ready => return Ok((live, false)),
        Readiness::Failed(e) => return Err(e),
        Readiness::Pending(seen) => seen,
    };
    let (what, policy) = r.wait(cx.env);
    let label = r.label(&live);
    // `live` was just read (or made): the first poll is the policy's first.
    cx.step
        .wait_after(&what, &policy, seen, || async {
            let now = r.refresh(cx, &live).await?.ok_or_else(|| {
                StepError::retryable(format!("{} {label} not visible yet", R::NOUN))
            })?;
            match r.readiness(&now) {
                Readiness::Ready => Ok(Poll::Ready(now)),
                Readiness::Pending(seen) => Ok(Poll::Pending(seen)),
                Readiness::Failed(e) => Err(e),
            }
        })
        .await
        .map(|live| (live, true))
}

/// What [`converge`] would do now, from the same lookups, without changing anything.
///
/// # Errors
/// What `converge` would fail with for the same reason, or a read that failed.
pub async fn plan<R: Resource + ?Sized>(r: &R, cx: &Cx<'_>, inputs: &R::Inputs) -> Res<Planned> {
    let (live, unrecorded) = match r.find(cx, inputs).await? {
        Found::Missing { gone } => {
            let detail = format!(
                "{}{}",
                gone_prefix(R::NOUN, gone.as_deref()),
                r.create_detail(inputs)
            );
            return Ok(if r.creates() {
                r.check_create(cx, inputs).await?;
                Planned::create(detail)
            } else {
                Planned::wait(detail)
            });
        }
        Found::Replace { resource, why } => {
            return Ok(Planned::replace(format!(
                "{} {} {why}: up deletes it and creates a new one",
                R::NOUN,
                r.label(&resource)
            )));
        }
        Found::Recorded(live) => (live, None),
        Found::Unrecorded { resource, gone } => (resource, Some(gone)),
    };
    let changes: Vec<String> = r
        .compare(cx, inputs, &live)
        .await?
        .into_iter()
        .map(|c| c.plan)
        .collect();
    let planned = match (unrecorded, r.readiness(&live)) {
        (_, Readiness::Failed(e)) => return Err(e),
        (Some(gone), _) => Planned::adopt(format!(
            "{}{} {} {}{}",
            gone_prefix(R::NOUN, gone.as_deref()),
            R::NOUN,
            r.label(&live),
            r.found_by(),
            changes.iter().map(|c| format!("; {c}")).collect::<String>()
        )),
        (None, _) if !changes.is_empty() => Planned::update(format!(
            "{} {}: {}",
            R::NOUN,
            r.label(&live),
            changes.join("; ")
        )),
        (None, Readiness::Pending(seen)) => Planned::wait(format!(
            "{} {} is {seen}: up waits for {}",
            R::NOUN,
            r.label(&live),
            r.wait(cx.env).0
        )),
        (None, Readiness::Ready) => Planned::no_change(r.summary(&live)),
    };
    Ok(planned.with_outputs(&r.record(cx, inputs, &live).await?))
}

/// One plan of several lines (a workspace, a bucket each): the line that needs the most attention
/// sets the action, a stop or a wait, then a change.
pub(super) fn plan_lines(lines: Vec<Planned>) -> Planned {
    let action = [PlanAction::Wait, PlanAction::Update]
        .into_iter()
        .find(|a| lines.iter().any(|l| &l.action == a))
        .unwrap_or(PlanAction::NoChange);
    let detail: Vec<String> = lines.into_iter().map(|l| l.detail).collect();
    Planned::new(action, detail.join("; "))
}

/// What [`teardown_deleting`] would do now (`plan --destroy`): the same lookups and the same
/// ownership decision, without deleting.
///
/// # Errors
/// A read that failed.
pub async fn teardown_plan_deleting<R: Resource + ?Sized>(
    r: &R,
    cx: &Cx<'_>,
    inputs: Option<&R::Inputs>,
) -> Res<Vec<Teardown>> {
    let mut out = Vec::new();
    for live in r.locate(cx, inputs).await? {
        let action = match r.ownership(cx, &live).await? {
            Ownership::Ours => TeardownAction::Delete,
            Ownership::Adopted if cx.env.delete_adopted() => TeardownAction::Delete,
            Ownership::Adopted => TeardownAction::Release,
        };
        out.push(Teardown::new(
            action,
            r.deleted_id(&live),
            r.teardown_label(&live),
        ));
    }
    Ok(out)
}

/// The common teardown: everything [`locate`](Resource::locate) finds that plink owns (or all of
/// it with `--delete-adopted`) is deleted and waited gone; the rest is released, with a note.
/// Records [`Deleted`].
///
/// # Errors
/// A delete or read that failed; a wait that timed out.
pub async fn teardown_deleting<R: Resource + ?Sized>(
    r: &R,
    cx: &Cx<'_>,
    inputs: Option<&R::Inputs>,
) -> Res<()> {
    let mut doomed = Vec::new();
    for live in r.locate(cx, inputs).await? {
        let what = r.teardown_label(&live);
        match r.ownership(cx, &live).await? {
            Ownership::Ours => doomed.push(live),
            Ownership::Adopted if cx.env.delete_adopted() => {
                cx.note(format!(
                    "deleting {what} although plink did not create it (--delete-adopted)"
                ));
                doomed.push(live);
            }
            Ownership::Adopted => cx.note(format!(
                "releasing {what}: plink did not create it (no plink tags for this deployment), so it stays"
            )),
        }
    }
    if doomed.is_empty() {
        return Ok(());
    }
    let mut out = Deleted::default();
    for live in &doomed {
        r.delete(cx, live).await?;
        out.deleted.push(r.deleted_id(live));
        cx.step.record(&out)?;
    }
    let (_, policy) = r.wait(cx.env);
    cx.step
        .wait_for(&format!("the {} to be gone", R::NOUN), &policy, || async {
            let mut left = Vec::new();
            for live in &doomed {
                if let Poll::Pending(seen) = r.gone(cx, live).await? {
                    left.push(seen);
                }
            }
            Ok(if left.is_empty() {
                Poll::Ready(())
            } else {
                Poll::Pending(left.join(", "))
            })
        })
        .await
}
