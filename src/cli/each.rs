//! Running one command over several deployments: at most `--parallel` at once, results in the
//! order the files were given, one exit code for all.

use std::future::Future;

use futures::stream::{self, StreamExt};

use super::{Target, exit, logging, progress, render, signals};
use crate::engine::{EventSink, Interrupt, RunReport};
use crate::ops::Deployment;

/// Runs `one` for every deployment of `target`, `--parallel` at a time, for commands that change
/// things (`up`, `down`): Ctrl-C handling shared by every deployment, and one live progress view
/// (steps named `<deployment>/<step>` when several run). Returns the combined exit code (see
/// [`summarize`]); a lone deployment's error is returned as is, for the usual report.
///
/// # Errors
/// An invalid workflow file; the error of the only deployment, when there is exactly one.
pub async fn run_live<F, Fut>(command: &'static str, target: &Target, one: F) -> anyhow::Result<u8>
where
    F: Fn(Deployment, EventSink, Interrupt) -> Fut,
    Fut: Future<Output = anyhow::Result<u8>>,
{
    let deployments = target.load()?;
    let many = deployments.len() > 1;
    let interrupt = Interrupt::new();
    signals::install(&interrupt, signals::resumable(command));
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let renderer = tokio::spawn(progress::render(rx));
    let sink = EventSink::new(tx);
    let mut results = map(deployments, target.parallel, |d| {
        let events = if many {
            sink.for_deployment(d.name())
        } else {
            sink.clone()
        };
        one(d, events, interrupt.clone())
    })
    .await;
    let code = match results.len() {
        1 => results.pop().expect("one").1,
        _ => Ok(summarize(command, results)),
    };
    drop(sink);
    let _ = renderer.await;
    code
}

/// The exit code of one deployment's run of `command`, after saying what stopped it: an
/// interrupt (everything done so far is saved), or each failed step. [`exit::OK`] if neither.
pub fn run_code(command: &str, name: &str, report: &RunReport) -> u8 {
    if report.interrupted() {
        eprintln!(
            "plink: {name}: interrupted; everything done so far is saved. Run `plink {command}` \
             again to resume."
        );
        return exit::INTERRUPTED;
    }
    let mut code = exit::OK;
    for (step, error) in report.failures() {
        eprintln!(
            "plink: {name}: step `{step}` failed: {}",
            render::step_error(error, command, logging::verbosity())
        );
        code = code.max(exit::step_code(error));
    }
    code
}

/// Runs `one` for every deployment, `parallel` at a time; results keep the order of the files.
async fn map<T, F, Fut>(
    deployments: Vec<Deployment>,
    parallel: u16,
    one: F,
) -> Vec<(String, anyhow::Result<T>)>
where
    F: Fn(Deployment) -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let names: Vec<String> = deployments.iter().map(|d| d.name().to_owned()).collect();
    let results: Vec<anyhow::Result<T>> = stream::iter(deployments)
        .map(&one)
        .buffered(usize::from(parallel.max(1)))
        .collect()
        .await;
    names.into_iter().zip(results).collect()
}

/// Prints each failed deployment's error with its name and a one-line-per-deployment summary;
/// returns 130 if any was interrupted, else the highest code.
fn summarize(command: &str, results: Vec<(String, anyhow::Result<u8>)>) -> u8 {
    let mut codes = Vec::new();
    for (name, result) in results {
        let code = match result {
            Ok(code) => code,
            Err(e) => {
                eprintln!(
                    "{}",
                    render::error_report(&format!("{name}: "), &e, command, logging::verbosity())
                );
                exit::code_for(&e)
            }
        };
        codes.push((name, code));
    }
    eprintln!("plink: {} deployment(s):", codes.len());
    for (name, code) in &codes {
        eprintln!("  {name:<24} {}", describe(*code));
    }
    if codes.iter().any(|(_, c)| *c == exit::INTERRUPTED) {
        exit::INTERRUPTED
    } else {
        codes.iter().map(|(_, c)| *c).max().unwrap_or(exit::OK)
    }
}

fn describe(code: u8) -> String {
    match code {
        exit::OK => "ok".into(),
        exit::PLAN_HAS_CHANGES => "changes pending (10)".into(),
        exit::INTERRUPTED => "interrupted (130)".into(),
        other => format!("failed (exit {other})"),
    }
}

/// For read-only commands: computes each deployment's report, prints them in the order given
/// (`--json`: the report itself for one deployment, an array for several), and combines the
/// exit codes as [`summarize`] does.
///
/// # Errors
/// An invalid workflow file; the error of the only deployment, when there is exactly one;
/// printing failures.
pub async fn report<R, F, Fut>(
    command: &'static str,
    target: &Target,
    json: bool,
    one: F,
    render: impl Fn(&R) -> String,
) -> anyhow::Result<u8>
where
    R: serde::Serialize,
    F: Fn(Deployment) -> Fut,
    Fut: Future<Output = anyhow::Result<(u8, R)>>,
{
    let mut results = map(target.load()?, target.parallel, one).await;
    if results.len() == 1 {
        let (code, report) = results.pop().expect("one").1?;
        if json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print!("{}", render(&report));
        }
        return Ok(code);
    }
    let mut reports = Vec::new();
    let mut codes = Vec::new();
    for (name, result) in results {
        match result {
            Ok((code, report)) => {
                if !json {
                    print!("{}", render(&report));
                }
                reports.push(report);
                codes.push((name, Ok(code)));
            }
            Err(e) => codes.push((name, Err(e))),
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    }
    Ok(summarize(command, codes))
}
