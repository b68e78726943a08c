//! Shows engine events: a live view on a terminal (one line per step: state, elapsed time, what
//! it waits for), plain log lines otherwise (CI, pipes, files).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::engine::{Event, EventKind};

/// Renders events until the channel closes.
pub async fn render(mut rx: UnboundedReceiver<Event>) {
    if std::io::stderr().is_terminal() {
        render_live(&mut rx).await;
    } else {
        while let Some(event) = rx.recv().await {
            if let Some(line) = plain_line(&event) {
                eprintln!("{line}");
            }
        }
    }
}

/// One log line per event, for non-terminals.
pub fn plain_line(event: &Event) -> Option<String> {
    let step = &event.step;
    let text = match &event.kind {
        EventKind::Started { description } => format!("[{step}] {description}"),
        EventKind::Waiting { what, last_seen } => {
            format!("[{step}] waiting for {what} ({last_seen})")
        }
        EventKind::Note(note) => format!("[{step}] {note}"),
        EventKind::Retrying {
            attempt,
            delay,
            error,
        } => {
            format!(
                "[{step}] attempt {attempt} failed ({error}); retrying in {}",
                fmt_delay(*delay)
            )
        }
        EventKind::Finished => format!("[{step}] done"),
        EventKind::Failed { error } => format!("[{step}] FAILED: {error}"),
        EventKind::Blocked { by } => format!("[{step}] not started: `{by}` did not finish"),
        EventKind::Interrupted => format!("[{step}] stopped (interrupted)"),
    };
    Some(format!("plink: {text}"))
}

async fn render_live(rx: &mut UnboundedReceiver<Event>) {
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{spinner} {prefix:.bold} {elapsed:>4} {wide_msg}")
        .expect("valid template")
        .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏✓");
    let mut bars: BTreeMap<String, (ProgressBar, Instant)> = BTreeMap::new();
    while let Some(event) = rx.recv().await {
        let (bar, _) = bars.entry(event.step.clone()).or_insert_with(|| {
            let bar = multi.add(ProgressBar::new_spinner());
            bar.set_style(style.clone());
            bar.set_prefix(format!("{:<21}", event.step));
            bar.enable_steady_tick(Duration::from_millis(120));
            (bar, Instant::now())
        });
        match &event.kind {
            EventKind::Started { description } => bar.set_message(description.clone()),
            EventKind::Waiting { what, last_seen } => {
                bar.set_message(format!("waiting for {what} ({last_seen})"))
            }
            EventKind::Note(note) => bar.set_message(note.clone()),
            EventKind::Retrying {
                attempt,
                delay,
                error,
            } => bar.set_message(format!(
                "retry {attempt} in {} ({error})",
                fmt_delay(*delay)
            )),
            EventKind::Finished => bar.finish_with_message("done"),
            EventKind::Failed { error } => {
                bar.abandon_with_message(format!("FAILED: {}", first_line(error)))
            }
            EventKind::Blocked { by } => {
                bar.abandon_with_message(format!("not started: `{by}` did not finish"))
            }
            EventKind::Interrupted => bar.abandon_with_message("stopped (interrupted)"),
        }
    }
    for (bar, _) in bars.values() {
        if !bar.is_finished() {
            bar.abandon();
        }
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or_default()
}

fn fmt_delay(d: Duration) -> String {
    humantime::format_duration(Duration::from_millis(d.as_millis() as u64)).to_string()
}
