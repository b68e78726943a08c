//! Shows engine events: a live view on a terminal (one line per step: state, elapsed time, what
//! it waits for), plain log lines otherwise (CI, pipes, files).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::engine::{Event, EventKind};

/// Renders events until the channel closes.
pub async fn render(mut rx: UnboundedReceiver<Event>) {
    if std::io::stderr().is_terminal() {
        render_live(&mut rx).await;
    } else {
        while let Some(event) = rx.recv().await {
            eprintln!("plink: [{}] {}", event.step, message(&event.kind, false));
        }
    }
}

/// What an event says about its step; `live` (a progress bar) keeps it to one short line.
fn message(kind: &EventKind, live: bool) -> String {
    match kind {
        EventKind::Started { description } => description.clone(),
        EventKind::Waiting { what, last_seen } => format!("waiting for {what} ({last_seen})"),
        EventKind::Note(note) => note.clone(),
        EventKind::Retrying {
            attempt,
            delay,
            error,
        } if live => format!("retry {attempt} in {} ({error})", fmt_delay(*delay)),
        EventKind::Retrying {
            attempt,
            delay,
            error,
        } => format!(
            "attempt {attempt} failed ({error}); retrying in {}",
            fmt_delay(*delay)
        ),
        EventKind::Finished => "done".to_owned(),
        EventKind::Failed { error } if live => {
            format!("FAILED: {}", error.lines().next().unwrap_or_default())
        }
        EventKind::Failed { error } => format!("FAILED: {error}"),
        EventKind::Blocked { by } => format!("not started: `{by}` did not finish"),
        EventKind::Interrupted => "stopped (interrupted)".to_owned(),
    }
}

async fn render_live(rx: &mut UnboundedReceiver<Event>) {
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{spinner} {prefix:.bold} {elapsed:>4} {wide_msg}")
        .expect("valid template")
        .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏✓");
    let mut bars: BTreeMap<String, ProgressBar> = BTreeMap::new();
    while let Some(event) = rx.recv().await {
        let bar = bars.entry(event.step.clone()).or_insert_with(|| {
            let bar = multi.add(ProgressBar::new_spinner());
            bar.set_style(style.clone());
            bar.set_prefix(format!("{:<21}", event.step));
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        let text = message(&event.kind, true);
        match &event.kind {
            EventKind::Finished => bar.finish_with_message(text),
            EventKind::Failed { .. } | EventKind::Blocked { .. } | EventKind::Interrupted => {
                bar.abandon_with_message(text)
            }
            _ => bar.set_message(text),
        }
    }
    for bar in bars.values() {
        if !bar.is_finished() {
            bar.abandon();
        }
    }
}

fn fmt_delay(d: Duration) -> String {
    humantime::format_duration(Duration::from_millis(d.as_millis() as u64)).to_string()
}
