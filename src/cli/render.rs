//! How errors are shown.
//!
//! By default: the error's message, and for an error chain one `caused by:` line per cause, as
//! far as the first step error (whose message already says what its client error said). With
//! `-v`: also the causes of step errors, with what a support case needs — the AWS request id, the
//! Databricks error code and request id.
//!
//! The engine names no command: errors that running the same command again resumes
//! ([`StepError::resume`]) get their advice here, naming the command being run.

use std::error::Error;

use crate::aws::AwsError;
use crate::databricks::DatabricksError;
use crate::engine::{Resume, StepError};

/// A failed step's error: its message, what running `plink <command>` again does if that
/// resumes it, and at `verbosity` ≥ 1 one `caused by:` line per cause.
pub fn step_error(error: &StepError, command: &str, verbosity: u8) -> String {
    lines(error, command, verbosity).join("\n  caused by: ")
}

/// An error of a whole command (or deployment), `plink: <prefix>error: …` and its causes, one
/// per line.
pub fn error_report(prefix: &str, error: &anyhow::Error, command: &str, verbosity: u8) -> String {
    let lines = lines(error.as_ref(), command, verbosity);
    format!("plink: {prefix}error: {}", lines.join("\n  caused by: "))
}

/// The message of `error` (first) and of each cause worth showing.
fn lines(error: &(dyn Error + 'static), command: &str, verbosity: u8) -> Vec<String> {
    let verbose = verbosity >= 1;
    let mut out: Vec<String> = Vec::new();
    let mut next = Some(error);
    // Whether the previous error in the chain is a step error.
    let mut under_step = false;
    // Whether some step error above this one already said what its causes say.
    let mut said = false;
    while let Some(e) = next {
        let step = as_step_error(e);
        if said && !verbose {
            break;
        }
        // A step error caused by another (retries exhausted) already quotes its message.
        let line = match step {
            Some(_) if under_step => None,
            Some(step) => Some(with_resume(step, command)),
            None => Some(cause_line(e, verbose, said)),
        };
        if let Some(line) = line
            && !(verbose && out.last() == Some(&line))
        {
            out.push(line);
        }
        under_step = step.is_some();
        said |= under_step;
        next = e.source();
    }
    out
}

/// `e` as a step error; the last attempt's error of [`StepError::RetriesExhausted`] is a boxed
/// one in the chain.
fn as_step_error<'a>(e: &'a (dyn Error + 'static)) -> Option<&'a StepError> {
    e.downcast_ref::<StepError>()
        .or_else(|| e.downcast_ref::<Box<StepError>>().map(|b| &**b))
}

/// The message of a step error, with the advice to run the same command again if that resumes it.
fn with_resume(error: &StepError, command: &str) -> String {
    let text = error.to_string();
    match error.resume() {
        Some(Resume::Wait) => format!("{text}; run `plink {command}` again to resume waiting"),
        Some(Resume::Later) => format!("{text}; run `plink {command}` again later to resume"),
        None => text,
    }
}

/// One cause: client errors with their request ids and codes when `verbose`. The AWS hint is
/// left out under a step error, which gives it already.
fn cause_line(e: &(dyn Error + 'static), verbose: bool, under_step: bool) -> String {
    if !verbose {
        return e.to_string();
    }
    if let Some(aws) = e.downcast_ref::<AwsError>() {
        let hint = aws
            .hint()
            .filter(|_| !under_step)
            .map(|h| format!("\n  hint: {h}"))
            .unwrap_or_default();
        return format!("{}{hint}", aws.summary_with_request_id());
    }
    if let Some(databricks) = e.downcast_ref::<DatabricksError>() {
        // `Display` names the error code and the request id.
        return databricks.to_string();
    }
    e.to_string()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::aws::{ErrorKind, Service};
    use crate::resources::errors;

    fn aws_error(kind: ErrorKind, code: &str) -> AwsError {
        AwsError {
            code: Some(code.into()),
            request_id: Some("7a62c49f-347e-4fc4-9331-6e8eEXAMPLE".into()),
            ..AwsError::local(
                Service::Ec2,
                "CreateVpcEndpoint",
                kind,
                "The vpc ID 'vpc-1' does not exist",
            )
        }
    }

    fn databricks_error() -> DatabricksError {
        DatabricksError::from_response(
            "POST",
            "/api/2.0/accounts/a-1/network-connectivity-configs",
            400,
            Some("hdr-1".into()),
            br#"{"error_code": "INVALID_STATE", "message": "the NCC is bound",
                 "details": [{"@type": "type.googleapis.com/google.rpc.RequestInfo",
                              "request_id": "req-9"}]}"#,
            &[],
        )
    }

    #[test]
    fn aws_details_show_at_v_only() {
        let err = errors::aws(
            "creating the S3 endpoint",
            aws_error(ErrorKind::Invalid, "InvalidVpcID.NotFound"),
        );
        assert!(
            std::error::Error::source(&err).is_some_and(|s| s.is::<AwsError>()),
            "{err:?}"
        );
        let quiet = step_error(&err, "up", 0);
        assert_eq!(
            quiet,
            "creating the S3 endpoint: ec2 CreateVpcEndpoint: InvalidVpcID.NotFound: The vpc ID \
             'vpc-1' does not exist"
        );
        assert!(!quiet.contains("request id"), "{quiet}");
        let verbose = step_error(&err, "up", 1);
        assert!(verbose.starts_with(&quiet), "{verbose}");
        assert!(
            verbose.contains(
                "\n  caused by: ec2 CreateVpcEndpoint: InvalidVpcID.NotFound: The vpc ID 'vpc-1' \
                 does not exist (request id 7a62c49f-347e-4fc4-9331-6e8eEXAMPLE)"
            ),
            "{verbose}"
        );
    }

    #[test]
    fn the_aws_hint_is_given_once() {
        let err = errors::aws(
            "tagging",
            aws_error(ErrorKind::AccessDenied, "AccessDenied"),
        );
        let verbose = step_error(&err, "up", 1);
        assert_eq!(verbose.matches("hint:").count(), 1, "{verbose}");
        assert!(verbose.contains("(request id 7a62c49f"), "{verbose}");
    }

    #[test]
    fn databricks_code_and_request_id_show_at_v_only() {
        let err = errors::databricks("creating the NCC", databricks_error());
        assert!(
            std::error::Error::source(&err).is_some_and(|s| s.is::<DatabricksError>()),
            "{err:?}"
        );
        let quiet = step_error(&err, "up", 0);
        assert_eq!(
            quiet,
            "creating the NCC: POST /api/2.0/accounts/a-1/network-connectivity-configs: HTTP 400: \
             the NCC is bound"
        );
        assert!(!quiet.contains("INVALID_STATE"), "{quiet}");
        assert!(!quiet.contains("req-9"), "{quiet}");
        let verbose = step_error(&err, "up", 1);
        assert!(verbose.starts_with(&quiet), "{verbose}");
        assert!(
            verbose.contains("caused by: POST /api/2.0/accounts/a-1/network-connectivity-configs: HTTP 400 INVALID_STATE: the NCC is bound (request id req-9)"),
            "{verbose}"
        );
    }

    #[test]
    fn resume_advice_names_the_command_being_run() {
        let timeout = StepError::Timeout {
            what: "the NLB".into(),
            waited: Duration::from_secs(60),
            last_seen: "provisioning".into(),
        };
        assert_eq!(
            step_error(&timeout, "down", 0),
            "timed out after 1m waiting for the NLB (last seen: provisioning); run `plink down` \
             again to resume waiting"
        );
        assert!(step_error(&timeout, "up", 0).ends_with("run `plink up` again to resume waiting"));
        let exhausted = StepError::RetriesExhausted {
            attempts: 4,
            elapsed: Duration::from_secs(90),
            last: Box::new(errors::aws(
                "reading the NLB",
                aws_error(ErrorKind::Unavailable, "ServiceUnavailable"),
            )),
        };
        let quiet = step_error(&exhausted, "down", 0);
        assert!(
            quiet.ends_with(
                "hint: the service keeps failing transiently; run `plink down` again later to \
                 resume"
            ),
            "{quiet}"
        );
        assert!(!quiet.contains("plink up"), "{quiet}");
        assert!(!quiet.contains("request id"), "{quiet}");
        // At -v, the client error of the last attempt, once (not the last attempt's message again).
        let verbose = step_error(&exhausted, "down", 1);
        let lines: Vec<&str> = verbose.lines().collect();
        assert_eq!(
            lines.last().copied(),
            Some(
                "  caused by: ec2 CreateVpcEndpoint: ServiceUnavailable: The vpc ID 'vpc-1' does \
                 not exist (request id 7a62c49f-347e-4fc4-9331-6e8eEXAMPLE)"
            ),
            "{verbose}"
        );
        assert_eq!(verbose.matches("caused by").count(), 1, "{verbose}");
    }

    #[test]
    fn command_errors_stop_at_the_step_error_by_default() {
        let err = anyhow::Error::new(errors::databricks(
            "checking --rebind-to",
            databricks_error(),
        ))
        .context("down of demo-s3");
        let quiet = error_report("demo-s3: ", &err, "down", 0);
        assert_eq!(
            quiet,
            "plink: demo-s3: error: down of demo-s3\n  caused by: checking --rebind-to: POST \
             /api/2.0/accounts/a-1/network-connectivity-configs: HTTP 400: the NCC is bound"
        );
        let verbose = error_report("", &err, "down", 1);
        assert!(
            verbose.contains("INVALID_STATE") && verbose.contains("req-9"),
            "{verbose}"
        );
        assert_eq!(verbose.matches("caused by").count(), 2, "{verbose}");
        // Chains without step errors are shown whole, as before.
        let plain = anyhow::Error::new(aws_error(ErrorKind::AccessDenied, "AuthFailure"))
            .context("AWS: cannot check the credentials");
        let quiet = error_report("", &plain, "up", 0);
        assert_eq!(
            quiet,
            format!(
                "plink: error: AWS: cannot check the credentials\n  caused by: {}",
                aws_error(ErrorKind::AccessDenied, "AuthFailure")
            )
        );
        let verbose = error_report("", &plain, "up", 1);
        assert!(verbose.contains("(request id 7a62c49f"), "{verbose}");
        assert!(verbose.contains("hint:"), "{verbose}");
    }
}
