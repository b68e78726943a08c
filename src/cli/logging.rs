//! Log output on stderr: `-v` info, `-vv` debug, `-vvv` trace.
//!
//! Other crates (the AWS SDK, hyper) stay one level quieter than plink itself: their debug and
//! trace output is large, and headers are exactly where a credential could show up.

use std::sync::atomic::{AtomicU8, Ordering};

use tracing::Level;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

static VERBOSITY: AtomicU8 = AtomicU8::new(0);

/// The number of `-v` given (0 before [`init`]).
pub fn verbosity() -> u8 {
    VERBOSITY.load(Ordering::Relaxed)
}

/// Installs the global subscriber for `verbosity` (the number of `-v`).
pub fn init(verbosity: u8) {
    VERBOSITY.store(verbosity, Ordering::Relaxed);
    let (ours, others) = match verbosity {
        0 => (Level::WARN, Level::WARN),
        1 => (Level::INFO, Level::WARN),
        2 => (Level::DEBUG, Level::INFO),
        _ => (Level::TRACE, Level::INFO),
    };
    let filter = Targets::new()
        .with_target("plink", ours)
        .with_default(LevelFilter::from_level(others));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(verbosity >= 2)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .try_init();
}
