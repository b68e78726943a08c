use clap::Args;

use crate::aws::iam;

#[derive(Debug, Args)]
pub struct IamPolicyArgs {}

/// `plink iam-policy`: print the least-privilege IAM policy for the AWS actions plink calls.
pub fn run(_args: IamPolicyArgs) -> anyhow::Result<u8> {
    println!("{}", serde_json::to_string_pretty(&iam::policy_document())?);
    Ok(super::exit::OK)
}
