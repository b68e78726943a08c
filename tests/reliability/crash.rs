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
//! The demo also runs with its state on S3 (`crash_s3_state_…`, issue #14): every command of the
//! run (each attempt, the convergence run, `status --orphans`) is given
//! `--state s3://plink-crash-states/crash/`, a bucket made on the run's stack. Unlike `flock`,
//! the lock is an object a `kill -9` leaves behind, so after each kill that left it (one landing
//! before the lock's create or after its delete leaves none) the next attempt without unlocking
//! must be refused with exit 6, naming the killed process, and change nothing; then
//! `plink unlock --force` must remove it before the resume. The state watched across kills is the
//! S3 object (read through the emulator); after each phase no `.plink/` exists in the working
//! directory and no lock object is left; the convergence run's calls on the state bucket (the
//! lock's create and delete) are plink's bookkeeping, not changes.
//!
//! Knobs: `PLINK_CRASH_RUNS` (default 5 for the demo, 2 for each other kind and for the state on
//! S3: the CI mode), `PLINK_CRASH_SEED` (replays a schedule; printed at the start),
//! `PLINK_CRASH_ONLY` (run only that run index of the seed), `PLINK_CRASH_WORKERS` (runs on that
//! many stacks at once, default 1).
//! Full mode: `PLINK_CRASH_RUNS=50 cargo test --test reliability crash -- --nocapture`; the state
//! on S3 alone: `PLINK_CRASH_RUNS=30 cargo test --test reliability crash_s3_state -- --nocapture`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::{Call, Kind, Run, Stack, Workdir, WorkflowSpec, knobs};
use crate::suite::{
    Deployment, Findings, PHASES, Phase, Rng, StateTracker, catch, run_seed, secs, seed_or_random,
    table,
};

/// At most this many kills in a row before an attempt is let run to its end.
pub const MAX_KILLS_IN_ROW: usize = 4;
/// Chance that a resumed attempt is killed again.
const KILL_AGAIN: f64 = 0.5;
/// Runs in the CI mode: the demo kind, and each other kind (and the demo with its state on S3).
const CI_RUNS: usize = 5;
const CI_RUNS_OTHER_KINDS: usize = 2;
/// A single attempt longer than this fails the run.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(120);
/// The bucket and prefix of the runs that keep the state on S3.
const STATE_BUCKET: &str = "plink-crash-states";
const STATE_PREFIX: &str = "crash";
/// How long a request the killed process had already sent (the lock's create or delete) may
/// still take on the emulator before a look at the lock sees what the next command will see.
const SETTLE: Duration = Duration::from_millis(100);

/// Where the runs keep plink's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    /// `.plink/<deployment>/state.json`, locked with `flock`: the lock dies with its holder.
    File,
    /// `--state s3://…` on the stack's S3: the lock is an object that a `kill -9` leaves behind.
    S3,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::File => "state file",
            Backend::S3 => "state on S3",
        }
    }

    /// A fresh working directory for `kind`'s example, its state kept here. The bucket is
    /// created again each time: a stack reset deletes it.
    fn workdir(self, stack: &Stack, kind: Kind) -> Workdir {
        let wd = Workdir::new(WorkflowSpec::of(kind));
        match self {
            Backend::File => wd,
            Backend::S3 => wd.on_s3(stack.state_bucket(STATE_BUCKET, STATE_PREFIX)),
        }
    }
}

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
    /// State on S3: kills that left the lock object (each then refused and broken).
    locks_left: usize,
    /// State on S3: kills that left no lock (before its create, or after its delete).
    no_lock_left: usize,
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
        self.locks_left += o.locks_left;
        self.no_lock_left += o.no_lock_left;
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
    index: usize,
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
        let pid = bg.pid();
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
            let when = format!("{} after kill@{ms}ms", phase.name());
            tracker.observe(&d.wd, &when);
            if d.wd.s3().is_some() {
                match break_left_lock(stack, d, phase, pid) {
                    Ok(true) => {
                        tally.locks_left += 1;
                        log.push("(lock left: exit 6, unlock --force)".into());
                    }
                    Ok(false) => tally.no_lock_left += 1,
                    Err(e) => tally.failures.push(format!("run {index}: {when}: {e}")),
                }
            }
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

/// After a kill with the state on S3: unlike `flock`, the lock object outlives its holder. When
/// the kill left it (it may land before the lock's create or after its delete), the next attempt
/// without unlocking must be refused with exit 6 naming the killed holder and change nothing, and
/// `plink unlock --force` must remove it; the resume then runs as with a file. Returns whether
/// the lock was left; `Err` says what went wrong.
fn break_left_lock(stack: &Stack, d: &Deployment, phase: Phase, pid: u32) -> Result<bool, String> {
    let s3 = d.wd.s3().expect("the state is on S3");
    let lock = s3.lock_key(&d.wd.spec.deployment);
    std::thread::sleep(SETTLE);
    if s3.read(&lock)?.is_none() {
        return Ok(false);
    }
    stack.clear_all_calls();
    let refused = d.run(stack, phase, &[]);
    let holder = format!("locked by `plink {}` (pid {pid}", phase.name());
    let said = refused.stdout.contains(&holder) || refused.stderr.contains(&holder);
    if refused.code != Some(6) || !said {
        return Err(format!(
            "the attempt after the kill, without unlock, was not refused with exit 6 \
             naming {holder:?}\n{}",
            refused.transcript()
        ));
    }
    let changed: Vec<String> = stack
        .mutating_calls()
        .iter()
        .filter(|c| c.status.is_some_and(|s| s < 300))
        .map(ToString::to_string)
        .collect();
    if !changed.is_empty() {
        return Err(format!("the refused attempt changed {changed:?}"));
    }
    let forced = stack
        .plink(&d.wd)
        .args(["unlock", "--force"])
        .workflow()
        .run();
    if forced.code != Some(0) || s3.read(&lock)?.is_some() {
        return Err(format!(
            "`unlock --force` did not remove the lock\n{}",
            forced.transcript()
        ));
    }
    Ok(true)
}

/// With the state on S3 and `phase` (and its convergence run) done: nothing was written to
/// `.plink/` and no lock object is left.
fn s3_leftovers(d: &Deployment, phase: Phase) -> Vec<String> {
    let Some(s3) = d.wd.s3() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if d.wd.path().join(".plink").exists() {
        out.push(format!(
            "a .plink directory was created by `{}` although the state is on S3",
            phase.name()
        ));
    }
    let lock = s3.lock_key(&d.wd.spec.deployment);
    match s3.read(&lock) {
        Ok(None) => {}
        Ok(Some(body)) => out.push(format!(
            "the lock {} is left after `{}`: {}",
            s3.object_url(&lock),
            phase.name(),
            String::from_utf8_lossy(&body)
        )),
        Err(e) => out.push(e),
    }
    out
}

/// One crash run: every phase under kills, then the checks.
fn crash_run(
    stack: &Stack,
    kind: Kind,
    backend: Backend,
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
        let d = Deployment::new(stack, backend.workdir(stack, kind));
        let mut tracker = StateTracker::new();
        for &(phase, exp) in expected {
            tracker.keep_ids = phase == Phase::Up;
            let mut log = Vec::new();
            let last = phase_with_kills(
                stack,
                &d,
                index,
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

            // Converged: the same command again changes nothing. On S3 every command creates and
            // deletes the lock object and may write the state: plink's bookkeeping, not a change.
            stack.clear_all_calls();
            let again = d.run(stack, phase, &[]);
            let mutating: Vec<Call> = stack
                .mutating_calls()
                .into_iter()
                .filter(|c| !d.wd.s3().is_some_and(|s3| s3.touches(c)))
                .collect();
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
            for p in s3_leftovers(&d, phase) {
                tally.failures.push(format!("run {index}: {p}"));
            }
        }
    });
    if let Err(msg) = outcome {
        tally
            .failures
            .push(format!("run {index}: harness failure: {msg}"));
    }
    eprintln!(
        "crash run {index} ({}, {}): {} | kills {} resumes {} dup {} orphans {} lost {}{}",
        kind.name(),
        backend.name(),
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
fn calibrate(stack: &Stack, kind: Kind, backend: Backend) -> Vec<(Phase, Duration)> {
    stack.reset();
    stretch(stack, kind);
    let d = Deployment::new(stack, backend.workdir(stack, kind));
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
    crash_suite(Kind::S3PrivateLink, Backend::File, CI_RUNS);
}

#[test]
fn crash_nlb_service_kill9_then_resume_leaves_no_duplicate_orphan_or_lost_state() {
    crash_suite(Kind::NlbService, Backend::File, CI_RUNS_OTHER_KINDS);
}

#[test]
fn crash_s3_native_kill9_then_resume_leaves_no_duplicate_orphan_lost_state_or_policy_statement() {
    crash_suite(Kind::S3Native, Backend::File, CI_RUNS_OTHER_KINDS);
}

#[test]
fn crash_network_policy_kill9_then_resume_leaves_no_duplicate_orphan_lost_state_or_binding() {
    crash_suite(Kind::NetworkPolicy, Backend::File, CI_RUNS_OTHER_KINDS);
}

#[test]
fn crash_ip_access_lists_kill9_then_resume_leaves_no_duplicate_list_orphan_or_lost_state() {
    crash_suite(Kind::IpAccessLists, Backend::File, CI_RUNS_OTHER_KINDS);
}

#[test]
fn crash_s3_state_kill9_then_unlock_force_and_resume_leaves_no_duplicate_orphan_or_lost_state() {
    crash_suite(Kind::S3PrivateLink, Backend::S3, CI_RUNS_OTHER_KINDS);
}

/// The suite on the example of `kind`, its state kept as `backend` says: `ci_runs` runs unless
/// `PLINK_CRASH_RUNS` says otherwise.
fn crash_suite(kind: Kind, backend: Backend, ci_runs: usize) {
    let knobs = knobs();
    let (seed, given) = seed_or_random(knobs.crash_seed);
    let runs = knobs.crash_runs.unwrap_or(ci_runs);
    let only = knobs.crash_only;
    let workers = knobs.crash_workers.unwrap_or(1).clamp(1, 8);
    eprintln!(
        "crash ({}, {}): seed {seed:#x} ({}); {runs} run(s) on {workers} stack(s); phases {:?}; \
         replay with PLINK_CRASH_SEED={seed:#x}",
        kind.name(),
        backend.name(),
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
                let expected = calibrate(&stack, kind, backend);
                calibrations.lock().unwrap().push(expected.clone());
                loop {
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&index) = indices.get(k) else { break };
                    let t = crash_run(&stack, kind, backend, &expected, seed, index);
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
        vec!["state".into(), backend.name().to_owned()],
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
    if backend == Backend::S3 {
        rows.extend([
            vec![
                "  locks left (refused with 6, then unlock --force)".into(),
                total.locks_left.to_string(),
            ],
            vec![
                "  no lock left (before its create or after its delete)".into(),
                total.no_lock_left.to_string(),
            ],
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
        "\ncrash suite ({}, {})\n{}",
        kind.name(),
        backend.name(),
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
    // Else the refusal and `unlock --force` were never exercised (or the lock is looked for
    // under the wrong key).
    assert!(
        backend != Backend::S3 || total.kills == 0 || total.locks_left > 0,
        "no kill left the lock object on S3 ({} kills)",
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
