//! Every knob of the Rust test suites, parsed in one place (once per test binary).
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `PLINK_LOCALSTACK_DIR` | `<crate>/localstack` | where `up`/`down` of the local stack are |
//! | `PLINK_E2E_STACKS` | 2 | most stacks running at once in a test binary |
//! | `PLINK_E2E_TIME_SCALE` | 0.002 | time scale of the emulators' delays |
//! | `PLINK_E2E_RUN_TIMEOUT` | 120 | seconds a foreground plink may run before it is killed |
//! | `PLINK_E2E_VERBOSE` | unset | pass `-vv` to plink runs on a stack |
//! | `PLINK_E2E_ECHO` | unset | print the transcript of every plink run |
//! | `PLINK_CRASH_SEED` | random | seed of the crash suite (decimal or `0x` hex) |
//! | `PLINK_CRASH_RUNS` | suite's CI count | runs of the crash suite |
//! | `PLINK_CRASH_ONLY` | unset | replay one run of the crash suite by index |
//! | `PLINK_CRASH_WORKERS` | 1 | stacks the crash suite runs on (1–8, within the slots) |
//! | `PLINK_FAULT_RUNS` | unset: CI mode, 1 run | runs of the fault suite (set: full mode) |
//! | `PLINK_FAULT_SEED` | 1 | first seed of the fault suite (decimal or `0x` hex) |
//!
//! A malformed value fails the test that reads it (a typo never silently becomes the default).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

/// Default time scale of the emulators (a 120 s NLB provisioning takes 0.24 s).
pub const DEFAULT_TIME_SCALE: &str = "0.002";

/// The parsed knobs.
#[derive(Debug, Clone, PartialEq)]
pub struct Knobs {
    /// `PLINK_LOCALSTACK_DIR`.
    pub localstack_dir: PathBuf,
    /// `PLINK_E2E_STACKS` (at least 1).
    pub stacks: usize,
    /// `PLINK_E2E_TIME_SCALE`, as given to `up` (`PLINK_STACK_TIME_SCALE`).
    pub time_scale: String,
    /// `PLINK_E2E_RUN_TIMEOUT`.
    pub run_timeout: Duration,
    /// `PLINK_E2E_VERBOSE` is set.
    pub verbose: bool,
    /// `PLINK_E2E_ECHO` is set.
    pub echo: bool,
    /// `PLINK_CRASH_SEED`.
    pub crash_seed: Option<u64>,
    /// `PLINK_CRASH_RUNS`.
    pub crash_runs: Option<usize>,
    /// `PLINK_CRASH_ONLY`.
    pub crash_only: Option<usize>,
    /// `PLINK_CRASH_WORKERS`.
    pub crash_workers: Option<usize>,
    /// `PLINK_FAULT_RUNS`.
    pub fault_runs: Option<usize>,
    /// `PLINK_FAULT_SEED`.
    pub fault_seed: Option<u64>,
}

/// The knobs of this process's environment, parsed on first use.
pub fn knobs() -> &'static Knobs {
    static KNOBS: OnceLock<Knobs> = OnceLock::new();
    KNOBS.get_or_init(|| Knobs::parse(|k| std::env::var(k).ok()))
}

impl Knobs {
    /// Parses the knobs from `get` (a variable's value, `None` when unset). Panics on a
    /// malformed value, naming the variable.
    pub fn parse(get: impl Fn(&str) -> Option<String>) -> Self {
        let set = |k: &str| get(k).is_some();
        let number = |k: &str| -> Option<usize> {
            get(k).map(|v| {
                v.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("{k}={v:?} is not a number"))
            })
        };
        let seed = |k: &str| -> Option<u64> {
            get(k).map(|v| {
                let t = v.trim();
                match t.strip_prefix("0x") {
                    Some(hex) => u64::from_str_radix(hex, 16).ok(),
                    None => t.parse().ok(),
                }
                .unwrap_or_else(|| panic!("{k}={v:?} is not a seed (decimal or 0x hex)"))
            })
        };
        let stacks = number("PLINK_E2E_STACKS").unwrap_or(2);
        assert!(stacks >= 1, "PLINK_E2E_STACKS must be at least 1");
        let time_scale = get("PLINK_E2E_TIME_SCALE").unwrap_or_else(|| DEFAULT_TIME_SCALE.into());
        assert!(
            time_scale.trim().parse::<f64>().is_ok_and(|s| s > 0.0),
            "PLINK_E2E_TIME_SCALE={time_scale:?} is not a positive number"
        );
        Self {
            localstack_dir: match get("PLINK_LOCALSTACK_DIR") {
                Some(d) if !d.is_empty() => PathBuf::from(d),
                _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("localstack"),
            },
            stacks,
            time_scale,
            run_timeout: Duration::from_secs(number("PLINK_E2E_RUN_TIMEOUT").unwrap_or(120) as u64),
            verbose: set("PLINK_E2E_VERBOSE"),
            echo: set("PLINK_E2E_ECHO"),
            crash_seed: seed("PLINK_CRASH_SEED"),
            crash_runs: number("PLINK_CRASH_RUNS"),
            crash_only: number("PLINK_CRASH_ONLY"),
            crash_workers: number("PLINK_CRASH_WORKERS"),
            fault_runs: number("PLINK_FAULT_RUNS"),
            fault_seed: seed("PLINK_FAULT_SEED"),
        }
    }
}
