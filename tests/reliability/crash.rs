//! Crash suite: `kill -9` at random moments, resume until done, and count on the emulators.
//!
//! Each run starts from a reset stack and a fresh working directory and goes through every phase
//! of [`PHASES`] (`up`, then `down` once it exists). In each phase the first attempt is killed
//! with SIGKILL after a random delay; each resumed attempt is killed again with probability 1/2
//! (at most [`MAX_KILLS_IN_ROW`] kills in a row), otherwise it runs to its end and must exit 0.
//! Delays are drawn over the phase's expected duration (measured by a clean calibration run on
//! the same stack): half uniformly over all of it, half over its first quarter, where the creates
//! and their records are densest. Then, on the emulators themselves:
//!
//! - every resource exists exactly once after `up` (the rule counted ever, deactivated included)
//!   and not at all after `down`;
//! - nothing tagged `plink:deployment` (nor an NCC or rule of the deployment) is missing from the
//!   state: no orphan;
//! - the state file was readable after every kill, kept its lineage, never went back in serial,
//!   and never forgot an id it had recorded: no lost state;
//! - the state converges: the same command once more exits 0 with zero mutating calls.
//!
//! Knobs: `PLINK_CRASH_RUNS` (default 5: the CI mode), `PLINK_CRASH_SEED` (replays a schedule;
//! printed at the start), `PLINK_CRASH_ONLY` (run only that run index of the seed),
//! `PLINK_CRASH_WORKERS` (runs on that many stacks at once, default 1).
//! Full mode: `PLINK_CRASH_RUNS=50 cargo test --test reliability crash -- --nocapture`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::{Kind, Run, Stack, Workdir, WorkflowSpec, knobs};
use crate::suite::{
    Deployment, Findings, PHASES, Phase, Rng, StateTracker, catch, run_seed, secs, seed_or_random,
    table,
};

/// At most this many kills in a row before an attempt is let run to its end.
pub const MAX_KILLS_IN_ROW: usize = 4;
/// Chance that a resumed attempt is killed again.
const KILL_AGAIN: f64 = 0.5;
/// Runs in the CI mode: the demo kind, and each other kind.
const CI_RUNS: usize = 5;
const CI_RUNS_OTHER_KINDS: usize = 2;
/// A single attempt longer than this fails the run.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(120);

/// Counts of one run or of the whole suite.
#[derive(Debug, Default, Clone)]
struct Tally {
    runs: usize,
    kills: usize,
    resumes: usize,
    duplicates: usize,
    orphans: usize,
    lost_state: usize,
    not_converged: usize,
    failures: Vec<String>,
    /// Kill delays, ms, per phase.
    kill_ms: Vec<(Phase, u64)>,
}

impl Tally {
    fn add(&mut self, o: Tally) {
        self.runs += o.runs;
        self.kills += o.kills;
        self.resumes += o.resumes;
        self.duplicates += o.duplicates;
        self.orphans += o.orphans;
        self.lost_state += o.lost_state;
        self.not_converged += o.not_converged;
        self.failures.extend(o.failures);
        self.kill_ms.extend(o.kill_ms);
    }

    fn findings(&mut self, f: Findings) {
        self.duplicates += f.duplicates;
        self.orphans += f.orphans;
        self.lost_state += f.lost_state;
        self.failures.extend(f.problems);
    }
}

/// Draws a kill delay over a phase's expected duration.
fn kill_delay(rng: &mut Rng, expected: Duration) -> Duration {
    if rng.chance(0.5) {
        rng.up_to(expected)
    } else {
        rng.up_to(expected / 4)
    }
}

/// Runs `phase` under the kill schedule until an attempt ends by itself; returns that attempt.
fn phase_with_kills(
    stack: &Stack,
    d: &Deployment,
    phase: Phase,
    expected: Duration,
    rng: &mut Rng,
    tracker: &mut StateTracker,
    tally: &mut Tally,
    log: &mut Vec<String>,
) -> Run {
    let args = phase.args(d);
    let mut kills_in_row = 0;
    let mut attempt = 0;
    loop {
        let kill_at = (attempt == 0 || (kills_in_row < MAX_KILLS_IN_ROW && rng.chance(KILL_AGAIN)))
            .then(|| kill_delay(rng, expected));
        if attempt > 0 {
            tally.resumes += 1;
        }
        attempt += 1;
        let mut bg = stack.plink(&d.wd).args(&args).spawn();
        let started = Instant::now();
        let killed = match kill_at {
            Some(at) => bg.kill_when("the kill time", ATTEMPT_TIMEOUT, || started.elapsed() >= at),
            None => false,
        };
        let run = bg.wait();
        if killed {
            let ms = kill_at.unwrap_or_default().as_millis() as u64;
            tally.kills += 1;
            tally.kill_ms.push((phase, ms));
            kills_in_row += 1;
            log.push(format!("kill@{ms}ms"));
            tracker.observe(&d.wd, &format!("{} after kill@{ms}ms", phase.name()));
            continue;
        }
        log.push(format!(
            "{}exit {:?} in {}s",
            if kill_at.is_some() {
                "(ended before its kill) "
            } else {
                ""
            },
            run.code,
            secs(run.elapsed)
        ));
        return run;
    }
}

/// One crash run: every phase under kills, then the checks.
fn crash_run(
    stack: &Stack,
    kind: Kind,
    expected: &[(Phase, Duration)],
    seed: u64,
    index: usize,
) -> Tally {
    let mut tally = Tally {
        runs: 1,
        ..Tally::default()
    };
    let mut rng = Rng::new(run_seed(seed, index));
    let mut lines = Vec::new();
    let outcome = catch(|| {
        stack.reset();
        stretch(stack, kind);
        let d = Deployment::new(stack, Workdir::new(WorkflowSpec::of(kind)));
        let mut tracker = StateTracker::new();
        for &(phase, exp) in expected {
            tracker.keep_ids = phase == Phase::Up;
            let mut log = Vec::new();
            let last = phase_with_kills(
                stack,
                &d,
                phase,
                exp,
                &mut rng,
                &mut tracker,
                &mut tally,
                &mut log,
            );
            lines.push(format!("{}: {}", phase.name(), log.join(" ")));
            if last.code != Some(0) {
                tally.failures.push(format!(
                    "run {index}: {} did not succeed after {} kill(s)\n{}",
                    phase.name(),
                    log.len() - 1,
                    last.transcript()
                ));
                break;
            }
            tracker.observe(&d.wd, &format!("{} done", phase.name()));
            let lost = std::mem::take(&mut tracker.problems);
            tally.lost_state += lost.len();
            for p in lost {
                tally.failures.push(format!("run {index}: lost state: {p}"));
            }
            let mut f = phase.check(stack, &d, &last);
            for p in &mut f.problems {
                *p = format!("run {index} after {}: {p}", phase.name());
            }
            tally.findings(f);

            // Converged: the same command again changes nothing.
            stack.clear_all_calls();
            let again = d.run(stack, phase, &[]);
            let mutating = stack.mutating_calls();
            if again.code != Some(0) || !mutating.is_empty() {
                tally.not_converged += 1;
                tally.failures.push(format!(
                    "run {index}: a second `{}` made {} mutating call(s): {}\n{}",
                    phase.name(),
                    mutating.len(),
                    mutating
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                    again.transcript()
                ));
            }
        }
    });
    if let Err(msg) = outcome {
        tally
            .failures
            .push(format!("run {index}: harness failure: {msg}"));
    }
    eprintln!(
        "crash run {index} ({}): {} | kills {} resumes {} dup {} orphans {} lost {}{}",
        kind.name(),
        lines.join(" | "),
        tally.kills,
        tally.resumes,
        tally.duplicates,
        tally.orphans,
        tally.lost_state,
        if tally.failures.is_empty() {
            String::new()
        } else {
            format!(" FAILED ({})", tally.failures.len())
        }
    );
    tally
}

/// A `network-policy` phase is a handful of Databricks calls (0.1 s on the stack): each call is
/// slowed to 150 ms, so that the kills land between every pair of calls rather than all before
/// the first answer.
fn stretch(stack: &Stack, kind: Kind) {
    if !kind.has_ncc() {
        stack.set_faults(
            crate::common::Emu::Databricks,
            serde_json::json!({"seed": 1, "rules": [{"kind": "slow", "rate": 1.0, "delay_ms": 150}]}),
        );
    }
}

/// A clean pass through every phase: how long each takes on this stack.
fn calibrate(stack: &Stack, kind: Kind) -> Vec<(Phase, Duration)> {
    stack.reset();
    stretch(stack, kind);
    let d = Deployment::new(stack, Workdir::new(WorkflowSpec::of(kind)));
    let mut out = Vec::new();
    for &phase in PHASES {
        let run = d.run(stack, phase, &[]);
        run.assert_code(0);
        out.push((phase, run.elapsed.max(Duration::from_millis(500))));
    }
    out
}

#[test]
fn crash_kill9_at_random_moments_then_resume_leaves_no_duplicate_orphan_or_lost_state() {
    crash_suite(Kind::S3PrivateLink, CI_RUNS);
}

#[test]
fn crash_nlb_service_kill9_then_resume_leaves_no_duplicate_orphan_or_lost_state() {
    crash_suite(Kind::NlbService, CI_RUNS_OTHER_KINDS);
}

#[test]
fn crash_s3_native_kill9_then_resume_leaves_no_duplicate_orphan_lost_state_or_policy_statement() {
    crash_suite(Kind::S3Native, CI_RUNS_OTHER_KINDS);
}

#[test]
fn crash_network_policy_kill9_then_resume_leaves_no_duplicate_orphan_lost_state_or_binding() {
    crash_suite(Kind::NetworkPolicy, CI_RUNS_OTHER_KINDS);
}

#[test]
fn crash_ip_access_lists_kill9_then_resume_leaves_no_duplicate_list_orphan_or_lost_state() {
    crash_suite(Kind::IpAccessLists, CI_RUNS_OTHER_KINDS);
}

/// The suite on the example of `kind`: `ci_runs` runs unless `PLINK_CRASH_RUNS` says otherwise.
fn crash_suite(kind: Kind, ci_runs: usize) {
    let knobs = knobs();
    let (seed, given) = seed_or_random(knobs.crash_seed);
    let runs = knobs.crash_runs.unwrap_or(ci_runs);
    let only = knobs.crash_only;
    let workers = knobs.crash_workers.unwrap_or(1).clamp(1, 8);
    eprintln!(
        "crash ({}): seed {seed:#x} ({}); {runs} run(s) on {workers} stack(s); phases {:?}; \
         replay with PLINK_CRASH_SEED={seed:#x}",
        kind.name(),
        if given {
            "from PLINK_CRASH_SEED"
        } else {
            "random"
        },
        PHASES.iter().map(|p| p.name()).collect::<Vec<_>>()
    );
    let indices: Vec<usize> = match only {
        Some(i) => vec![i],
        None => (0..runs).collect(),
    };
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let total = Mutex::new(Tally::default());
    let calibrations = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..workers.min(indices.len()) {
            scope.spawn(|| {
                let stack = Stack::start();
                let expected = calibrate(&stack, kind);
                calibrations.lock().unwrap().push(expected.clone());
                loop {
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&index) = indices.get(k) else { break };
                    let t = crash_run(&stack, kind, &expected, seed, index);
                    total.lock().unwrap().add(t);
                }
            });
        }
    });
    let total = total.into_inner().unwrap();
    let wall = started.elapsed();
    let phase_stats = |phase: Phase| {
        let ms: Vec<u64> = total
            .kill_ms
            .iter()
            .filter(|(p, _)| *p == phase)
            .map(|(_, m)| *m)
            .collect();
        (
            ms.len(),
            ms.iter().min().copied().unwrap_or(0),
            ms.iter().max().copied().unwrap_or(0),
        )
    };
    let mut rows = vec![
        vec!["kind".into(), kind.name().to_owned()],
        vec!["seed".into(), format!("{seed:#x}")],
        vec!["runs".into(), total.runs.to_string()],
        vec!["kills (SIGKILL)".into(), total.kills.to_string()],
    ];
    for &phase in PHASES {
        let (n, lo, hi) = phase_stats(phase);
        rows.push(vec![
            format!("  during {}", phase.name()),
            format!("{n} (at {lo}–{hi} ms)"),
        ]);
    }
    rows.extend([
        vec!["resumes".into(), total.resumes.to_string()],
        vec!["duplicates".into(), total.duplicates.to_string()],
        vec!["orphans".into(), total.orphans.to_string()],
        vec!["lost state".into(), total.lost_state.to_string()],
        vec!["not converged".into(), total.not_converged.to_string()],
        vec!["failures".into(), total.failures.len().to_string()],
        vec![
            "calibration (clean run)".into(),
            calibrations
                .into_inner()
                .unwrap()
                .iter()
                .map(|c| {
                    c.iter()
                        .map(|(p, d)| format!("{} {}s", p.name(), secs(*d)))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .collect::<Vec<_>>()
                .join("; "),
        ],
        vec!["wall time".into(), format!("{}s", secs(wall))],
    ]);
    eprintln!(
        "\ncrash suite ({})\n{}",
        kind.name(),
        table(&["", "value"], &rows)
    );
    assert!(
        total.failures.is_empty(),
        "{} failure(s) (replay with PLINK_CRASH_SEED={seed:#x}):\n\n{}",
        total.failures.len(),
        total.failures.join("\n\n")
    );
    assert_eq!(
        (
            total.duplicates,
            total.orphans,
            total.lost_state,
            total.not_converged
        ),
        (0, 0, 0, 0)
    );
    assert!(
        total.kills >= total.runs / 2,
        "too few kills landed: {}",
        total.kills
    );
}

#[test]
fn crash_ctrl_c_while_connecting_to_an_unreachable_databricks_stops_at_once_with_130() {
    // Regression (found by the security suite): while `connect` retried an unreachable
    // Databricks host (up to the 5-minute retry budget), the first Ctrl-C or SIGTERM only printed
    // "stopping after the calls in flight finish" and plink went on retrying.
    let stack = Stack::start();
    let d = Deployment::new(&stack, Workdir::new(WorkflowSpec::default()));
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let host = format!("http://127.0.0.1:{port}");
    for phase in PHASES {
        if *phase == Phase::Down {
            // `down` needs something to tear down (without a state it never connects).
            d.run(&stack, Phase::Up, &[]).assert_code(0);
        }
        let before = std::fs::read(d.wd.state_path()).ok();
        let plink = stack
            .plink(&d.wd)
            .args(phase.args(&d))
            .env("DATABRICKS_HOST", &host);
        stack.clear_all_calls();
        let mut bg = plink.spawn();
        std::thread::sleep(Duration::from_secs(2));
        assert!(!bg.exited(), "{}", bg.wait().transcript());
        let interrupted = Instant::now();
        bg.interrupt();
        let run = bg.wait();
        run.assert_code(130);
        assert!(
            interrupted.elapsed() < Duration::from_secs(5),
            "Ctrl-C took {:?}\n{}",
            interrupted.elapsed(),
            run.transcript()
        );
        assert!(
            run.stderr.contains("interrupted while connecting")
                && run.stderr.contains(&format!("plink {}", phase.name())),
            "{}",
            run.transcript()
        );
        crate::suite::no_panic(&run).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            std::fs::read(d.wd.state_path()).ok(),
            before,
            "the state changed"
        );
        assert!(stack.mutating_calls().is_empty());
    }
}

#[test]
fn regression_down_a_connection_that_starts_deleting_under_the_reject_is_not_a_failure() {
    // Found by this suite (down after kills): the endpoint of the deleted rule, which Databricks
    // deletes by itself, went `deleting` between `down_connections`' look and its
    // RejectVpcEndpointConnections; AWS answered `InvalidVpcEndpointState … 'deleting'` for it
    // and `down` failed (exit 4) although nothing was left to reject.
    use crate::common::cloud::{Conn, DATABRICKS_AWS};
    use crate::common::{Emu, wait_until};
    use serde_json::json;

    let stack = Stack::start();
    let d = Deployment::new(&stack, Workdir::new(WorkflowSpec::default()));
    d.run(&stack, Phase::Up, &[]).assert_code(0);
    let rule_vpce = d.wd.output("rule", "vpc_endpoint_id").expect("rule vpce");
    // A deleted endpoint stays `deleting` for 4 s (scaled), longer than the reject is held.
    stack.set_delays(json!({"endpoint_deleting": 2000.0}));
    stack.set_faults(
        Emu::Aws,
        json!({"seed": 1, "rules": [{"kind": "slow", "rate": 1.0, "max_count": 1,
               "delay_ms": 1500, "match": {"action": "RejectVpcEndpointConnections"}}]}),
    );
    let mut bg = stack.plink(&d.wd).args(Phase::Down.args(&d)).spawn();
    wait_until("plink's reject to arrive", Duration::from_secs(60), || {
        assert!(!bg.exited(), "{}", bg.wait().transcript());
        stack.faults_fired(Emu::Aws) == 1
    });
    // While the reject is held, Databricks deletes its endpoint (as it does after a rule delete).
    let dbx = stack.aws_as(DATABRICKS_AWS, "us-east-1");
    stack
        .block_on(
            dbx.ec2
                .delete_vpc_endpoints()
                .vpc_endpoint_ids(&rule_vpce)
                .send(),
        )
        .expect("DeleteVpcEndpoints as Databricks");
    let conns: Vec<Conn> = stack.connections("us-east-1");
    assert!(
        conns
            .iter()
            .any(|c| c.vpc_endpoint_id == rule_vpce && c.state == "deleting"),
        "{conns:?}"
    );
    let run = bg.wait();
    stack.clear_faults(Emu::Aws);
    run.assert_code(0);
    let f = Phase::Down.check(&stack, &d, &run);
    assert!(f.is_clean(), "{f:?}\n{}", run.transcript());
}
