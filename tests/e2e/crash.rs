//! `kill -9` at chosen points, then `plink up` again: it converges and nothing exists twice.
//!
//! Windows that are short on the scaled clock are widened through `/_plink/config` for the kill,
//! then narrowed again for the resume.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::checks::{assert_converged, assert_one_rule_ever};
use crate::common::{Emu, Stack};
use crate::common::{Run, Workdir, WorkflowSpec};

const KILL_TIMEOUT: Duration = Duration::from_secs(60);

/// Starts `up`, `kill -9`s it when `cond` holds, checks it was killed by us (not finished), and
/// returns the killed run.
fn kill_up_when(stack: &Stack, wd: &Workdir, what: &str, cond: impl FnMut() -> bool) -> Run {
    let mut bg = stack.spawn_up(wd);
    let killed = bg.kill_when(what, KILL_TIMEOUT, cond);
    let run = bg.wait();
    assert!(
        killed,
        "plink ended before the kill point ({what})\n{}",
        run.transcript()
    );
    assert_eq!(run.signal, Some(9), "{}", run.transcript());
    eprintln!(
        "e2e: killed plink -9 {what} after {:.2}s",
        run.elapsed.as_secs_f64()
    );
    run
}

/// `up` again after a kill: exit 0, converged, no duplicate anywhere.
fn resume_converges(stack: &Stack, wd: &Workdir, what: &str) {
    let run = stack.up(wd);
    run.assert_code(0);
    let c = assert_converged(stack, wd, &run);
    assert_one_rule_ever(&c, what);
}

/// True once `saw` has held for `hold` (so the process is inside the wait that follows).
fn held_for(hold: Duration, mut saw: impl FnMut() -> bool) -> impl FnMut() -> bool {
    let mut since: Option<Instant> = None;
    move || {
        if since.is_none() && saw() {
            since = Some(Instant::now());
        }
        since.is_some_and(|t| t.elapsed() >= hold)
    }
}

#[test]
fn kill9_after_the_endpoint_is_recorded_then_up_converges() {
    let stack = Stack::start();
    let wd = Workdir::new(WorkflowSpec::default());
    kill_up_when(&stack, &wd, "after the endpoint is recorded", || {
        wd.output("endpoint", "vpc_endpoint_id").is_some()
    });
    resume_converges(&stack, &wd, "kill after endpoint");
}

#[test]
fn kill9_while_waiting_for_the_nlb_then_up_converges() {
    let stack = Stack::start();
    // NLB provisioning 750 s real → 1.5 s scaled: a window to kill in.
    stack.set_delays(json!({"nlb_provisioning": 750.0}));
    let wd = Workdir::new(WorkflowSpec::default());
    kill_up_when(
        &stack,
        &wd,
        "while waiting for the NLB",
        held_for(Duration::from_millis(150), || {
            stack.saw_call(Emu::Aws, "CreateLoadBalancer")
        }),
    );
    assert_ne!(
        wd.status_of("load_balancer").as_deref(),
        Some("done"),
        "the NLB wait was over before the kill: {:#}",
        wd.state_required()
    );
    stack.set_delays(json!({"nlb_provisioning": 120.0}));
    resume_converges(&stack, &wd, "kill while waiting for the NLB");
}

#[test]
fn kill9_right_after_the_rule_intent_is_written_then_up_converges() {
    let stack = Stack::start();
    // The intent is written a few ms before the POST goes out: too short to hit from outside.
    // Hold the POST at the emulator's door instead (10 min, longer than the test), so plink is
    // killed with its intent written and the create not arrived, as if it died before sending.
    stack.set_faults(
        Emu::Databricks,
        json!({"seed": 1, "rules": [{
            "kind": "slow", "rate": 1.0, "max_count": 1, "delay_ms": 600000,
            "match": {"method": "POST", "path_regex": "/private-endpoint-rules$"}
        }]}),
    );
    let wd = Workdir::new(WorkflowSpec::default());
    kill_up_when(
        &stack,
        &wd,
        "right after the rule's intent is written",
        || {
            wd.intent("rule").as_deref() == Some("create_private_endpoint_rule")
                && stack.faults_fired(Emu::Databricks) == 1
        },
    );
    assert_eq!(stack.nccs().len(), 1);
    let ncc = wd.output("ncc", "ncc_id").expect("ncc recorded");
    assert!(stack.rules(&ncc).is_empty(), "the held create arrived");
    stack.clear_faults(Emu::Databricks);
    resume_converges(&stack, &wd, "kill after the rule intent");
}

#[test]
fn kill9_after_the_rule_create_committed_but_before_its_answer_then_up_adopts_it() {
    let stack = Stack::start();
    // The rule POST is committed, then its answer is held for 30 s: plink dies waiting for it.
    stack.set_faults(
        Emu::Databricks,
        json!({"seed": 1, "rules": [{
            "kind": "commit_then_timeout", "rate": 1.0, "max_count": 1, "delay_ms": 30000,
            "match": {"method": "POST", "path_regex": "/private-endpoint-rules$"}
        }]}),
    );
    let wd = Workdir::new(WorkflowSpec::default());
    kill_up_when(
        &stack,
        &wd,
        "while the committed rule create is unanswered",
        || {
            wd.intent("rule").as_deref() == Some("create_private_endpoint_rule")
                && stack
                    .calls(Emu::Databricks)
                    .iter()
                    .any(|c| c.method == "POST" && c.path.ends_with("/private-endpoint-rules"))
        },
    );
    assert!(
        wd.output("rule", "rule_id").is_none(),
        "the rule id was recorded although its answer never came: {:#}",
        wd.state_required()
    );
    stack.clear_faults(Emu::Databricks);
    resume_converges(&stack, &wd, "kill after a committed rule create");
}

#[test]
fn kill9_while_waiting_for_established_then_up_converges() {
    let stack = Stack::start();
    // ESTABLISHED 1000 s real (2 s scaled) after the connection is available.
    stack.set_delays(json!({"rule_establish": 1000.0}));
    let wd = Workdir::new(WorkflowSpec::default());
    kill_up_when(
        &stack,
        &wd,
        "while waiting for ESTABLISHED",
        held_for(Duration::from_millis(150), || {
            stack.saw_call(Emu::Aws, "AcceptVpcEndpointConnections")
        }),
    );
    assert_ne!(wd.status_of("established").as_deref(), Some("done"));
    stack.set_delays(json!({"rule_establish": 60.0}));
    resume_converges(&stack, &wd, "kill while waiting for ESTABLISHED");
}

#[test]
fn kill9_at_ever_later_moments_until_up_finishes_then_nothing_is_duplicated() {
    let stack = Stack::start();
    let wd = Workdir::new(WorkflowSpec::default());
    let mut after = Duration::from_millis(150);
    let mut kills = 0;
    let last = loop {
        let mut bg = stack.spawn_up(&wd);
        let started = Instant::now();
        let killed = bg.kill_when("a timer", KILL_TIMEOUT, || started.elapsed() >= after);
        let run = bg.wait();
        if !killed {
            break run;
        }
        kills += 1;
        assert!(
            kills < 40,
            "still not done after {kills} kills\n{}",
            run.transcript()
        );
        after += Duration::from_millis(120);
    };
    eprintln!("e2e: plink was killed -9 {kills} times before a run finished");
    last.assert_code(0);
    assert!(kills >= 2, "the run finished too early to be interrupted");
    let c = assert_converged(&stack, &wd, &last);
    assert_one_rule_ever(&c, "repeated kills");
}

#[test]
fn first_ctrl_c_stops_after_saving_exits_130_and_up_resumes() {
    let stack = Stack::start();
    // NLB provisioning 750 s real → 1.5 s scaled: plink is inside that wait when Ctrl-C arrives.
    stack.set_delays(json!({"nlb_provisioning": 750.0}));
    let wd = Workdir::new(WorkflowSpec::default());
    let mut bg = stack.spawn_up(&wd);
    let inside_wait = held_for(Duration::from_millis(150), || {
        wd.output("load_balancer", "load_balancer_arn").is_some()
    });
    bg.interrupt_when("the NLB wait", KILL_TIMEOUT, Duration::ZERO, inside_wait);
    let run = bg.wait();
    run.assert_code(130);
    assert!(
        run.stderr.contains("interrupted") && run.stderr.contains("plink up"),
        "{}",
        run.transcript()
    );
    // Everything done so far is in a readable state file; the wait itself is not done.
    assert!(
        wd.output("load_balancer", "load_balancer_arn").is_some(),
        "{:#}",
        wd.state_required()
    );
    assert_ne!(wd.status_of("load_balancer").as_deref(), Some("done"));
    // Regression: the cross-zone setting, made before the wait, was left as an intent in flight
    // (`status`: "its result was not recorded").
    let state = wd.state_required();
    assert!(
        state["steps"]["load_balancer"]["intent"].is_null(),
        "{:#}",
        state["steps"]["load_balancer"]
    );
    assert!(
        run.elapsed < Duration::from_secs(10),
        "Ctrl-C must not wait for the NLB: {:?}",
        run.elapsed
    );
    stack.set_delays(json!({"nlb_provisioning": 120.0}));
    resume_converges(&stack, &wd, "Ctrl-C while waiting for the NLB");
}
