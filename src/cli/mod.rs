//! The command line: parse, call [`crate::ops`], render, map errors to exit codes.
//!
//! Command files stay thin (cargo's `commands/` pattern): they turn flags into options and
//! results into text or JSON, nothing else.

mod denials;
mod down;
mod each;
pub mod exit;
mod iam_policy;
mod ip;
mod logging;
mod plan;
mod progress;
mod render;
mod signals;
mod state;
mod status;
mod unlock;
mod up;
mod validate;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

pub use exit::{HELP as EXIT_CODES_HELP, code_for};

/// Network security of Databricks serverless compute on AWS, end to end: private connectivity,
/// network policies, IP access lists.
///
/// A workflow file's `kind` says what `up` sets up: `s3-privatelink` (the default: an S3
/// interface endpoint behind an internal NLB and a VPC endpoint service, a Databricks NCC and
/// private endpoint rule, exactly the connection Databricks opens accepted, the rule ESTABLISHED,
/// the NCC bound to your workspaces), `nlb-service` (the same path to any TCP service in your
/// VPC), `s3-native` (a rule straight to S3 naming your buckets), `network-policy` (serverless
/// egress and ingress policies) or `ip-access-lists` (workspace IP access lists). Every run can
/// be interrupted; the next `plink up` finishes the job.
#[derive(Debug, Parser)]
#[command(name = "plink", version, after_help = exit::HELP, propagate_version = true)]
pub struct Cli {
    /// More output: -v info, -vv debug, -vvv trace (never secrets).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create or repair everything the workflow describes, until it is in force (a rule
    /// ESTABLISHED and bound, a policy bound, lists enabled).
    Up(up::UpArgs),
    /// Show the deployment: each step, its resources, and their live state.
    Status(status::StatusArgs),
    /// Show what `up` would create, adopt or change, without changing anything.
    ///
    /// First the preflight `up` runs: every read-only check of every step, all problems in one
    /// list (exit 4). Then compares the workflow file, the state and the live resources, step by
    /// step, and prints one line per step: its action (no change, create, adopt, update,
    /// replace, wait, later), the step, and what `up` would do and why. With --destroy: what
    /// `down` would delete, update, restore, release, keep and reject. Only read calls are made
    /// and the state is never written (a deployment that never ran gets no state file); the lock
    /// is taken, so a plan while `up` runs is refused. Out-of-band changes (drift: a deleted
    /// NLB, deregistered targets, a removed principal, a rejected rule, a workspace switched to
    /// another NCC...) show up as the changes `up` would make to repair them.
    ///
    /// Exit code 0: nothing would change. 10: `up` (or `down`) would change or wait on
    /// something. Other codes as for every command (4 when the preflight found problems or a
    /// step cannot be planned, 6 when another command holds the lock, ...).
    Plan(plan::PlanArgs),
    /// Tear the deployment down in reverse order (only what plink created).
    Down(down::DownArgs),
    /// What serverless compute was denied (network-policy deployments), and the lines to add.
    ///
    /// Reads `system.access.outbound_network` (and, when the file has `[ingress]`,
    /// `system.access.inbound_network`) through a SQL warehouse of the workspaces, for the
    /// deployment's workspaces: each denied destination with its attempts, first and last seen,
    /// the compute that tried it, and whether the workflow file allows it now; then the exact
    /// lines that would allow the rest. `up` refuses to leave dry run while there are any.
    Denials(denials::DenialsArgs),
    /// Workspace IP access lists (ip-access-lists deployments): `plink ip check WORKFLOW ADDRESS...`.
    Ip(ip::IpArgs),
    /// Check a workflow file without touching any cloud.
    Validate(validate::ValidateArgs),
    /// Release the deployment's lock after a crashed or hung command.
    Unlock(unlock::UnlockArgs),
    /// Copy or move a deployment's state between the local file and S3 (pull, push, migrate).
    State(state::StateArgs),
    /// Print the least-privilege IAM policy for the AWS actions plink calls.
    IamPolicy(iam_policy::IamPolicyArgs),
    /// Check the path link by link, then probe it from serverless compute in each workspace.
    ///
    /// For s3-privatelink, nlb-service, s3-native and network-policy ([egress]) deployments:
    /// every link of the static path from the live resources (rule ESTABLISHED, connection,
    /// endpoint service principal, listener, targets, security group, bindings, the bound egress
    /// policy), then, unless --static, a one-time serverless run in each workspace that resolves,
    /// connects (TLS with SNI) and, for S3, lists the bucket. Exit 0 when every destination is
    /// reachable, 4 naming the first broken link.
    Verify(verify::VerifyArgs),
}

/// The workflow files and where their state lives; shared by the commands that run deployments.
#[derive(Debug, Args)]
struct Target {
    /// Workflow files (TOML), or directories of them, e.g. workflows/s3-privatelink.toml.
    /// Several deployments run concurrently (see --parallel).
    #[arg(value_name = "WORKFLOW", required = true, num_args = 1..)]
    workflows: Vec<PathBuf>,

    /// State file to use instead of .plink/<deployment>/state.json (one workflow only), or an
    /// S3 prefix shared by a team, s3://bucket/prefix/ (each deployment's state under it);
    /// replaces the workflow files' [state]
    #[arg(long, value_name = "PATH|s3://BUCKET/PREFIX/")]
    state: Option<crate::ops::StateChoice>,

    /// How many deployments run at once when several are given.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    parallel: u16,
}

impl Target {
    /// Loads and validates every workflow file before anything runs.
    fn load(&self) -> Result<Vec<crate::ops::Deployment>, crate::ops::DeploymentSetError> {
        crate::ops::Deployment::load_all(&self.workflows, self.state.as_ref())
    }
}

/// Parses the command line, runs the command, and returns its exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    logging::init(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("plink: error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::FAILURE);
        }
    };
    let command = cli.command.name();
    let result = runtime.block_on(async {
        match cli.command {
            Command::Up(args) => up::run(args).await,
            Command::Status(args) => status::run(args).await,
            Command::Plan(args) => plan::run(args).await,
            Command::Down(args) => down::run(args).await,
            Command::Denials(args) => denials::run(args).await,
            Command::Ip(args) => ip::run(args).await,
            Command::Validate(args) => validate::run(args),
            Command::Unlock(args) => unlock::run(args).await,
            Command::State(args) => state::run(args).await,
            Command::IamPolicy(args) => iam_policy::run(args),
            Command::Verify(args) => verify::run(args).await,
        }
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            // The error and its causes, one per line, never a backtrace (`-v`: with request ids
            // and error codes).
            let verbosity = logging::verbosity();
            eprintln!("{}", render::error_report("", &error, command, verbosity));
            ExitCode::from(code_for(&error))
        }
    }
}

impl Command {
    /// The subcommand's name, as typed (`plink <name>`).
    fn name(&self) -> &'static str {
        match self {
            Self::Up(_) => "up",
            Self::Status(_) => "status",
            Self::Plan(_) => "plan",
            Self::Down(_) => "down",
            Self::Denials(_) => "denials",
            Self::Ip(_) => "ip",
            Self::Validate(_) => "validate",
            Self::Unlock(_) => "unlock",
            Self::State(_) => "state",
            Self::IamPolicy(_) => "iam-policy",
            Self::Verify(_) => "verify",
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn command_names_are_the_subcommands() {
        let mut named = 0;
        for sub in super::Cli::command().get_subcommands() {
            let name = sub.get_name();
            let args: &[&str] = if name == "iam-policy" {
                &["plink", "iam-policy"]
            } else if name == "ip" {
                &["plink", "ip", "check", "wf.toml", "10.0.0.1"]
            } else if name == "state" {
                &["plink", "state", "pull", "wf.toml"]
            } else {
                &["plink", name, "wf.toml"]
            };
            let cli = <super::Cli as clap::Parser>::try_parse_from(args)
                .unwrap_or_else(|e| panic!("{args:?}: {e}"));
            assert_eq!(cli.command.name(), name);
            named += 1;
        }
        assert_eq!(named, 11);
    }

    /// The engine names no command and never exits the process: resume advice and the exit on a
    /// second Ctrl-C are the command line's (`cli/render.rs`, `cli/signals.rs`).
    #[test]
    fn the_engine_knows_no_command_line() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/engine");
        let mut forbidden: Vec<String> = super::Cli::command()
            .get_subcommands()
            .map(|c| format!("plink {}", c.get_name()))
            .collect();
        assert!(forbidden.contains(&"plink up".to_owned()), "{forbidden:?}");
        assert!(
            forbidden.contains(&"plink down".to_owned()),
            "{forbidden:?}"
        );
        forbidden.extend(
            [
                "process::exit",
                "print!",
                "println!",
                "std::io::stderr",
                "std::io::stdout",
            ]
            .map(str::to_owned),
        );
        let mut files = 0;
        for entry in std::fs::read_dir(&dir).expect("src/engine") {
            let path = entry.expect("a directory entry").path();
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            files += 1;
            let text = std::fs::read_to_string(&path).expect("an engine file");
            for (n, line) in text.lines().enumerate() {
                for word in &forbidden {
                    assert!(
                        !line.contains(word.as_str()),
                        "{}:{}: `{word}` in the engine: {line}",
                        path.display(),
                        n + 1
                    );
                }
            }
        }
        assert!(files >= 10, "only {files} files in {}", dir.display());
    }
}
